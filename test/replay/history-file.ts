// The committed history files: each is one workflow execution, `{ "workflowId": ..., "history": ... }`, where history
// is the Temporal History message as protobufjs writes it to JSON (64-bit numbers as strings, enums by name, bytes in
// base64, timestamps as {seconds, nanos}), read back exactly with History.fromObject. The workflow id is kept because
// a history does not hold it and workflow code uses it (child workflow ids are made from it).
// (@temporalio/common's historyToJSON/historyFromJSON cannot be used here: in this install @temporalio/common and
// @temporalio/proto each carry their own copy of protobufjs, and its proto3-JSON codec refuses the other copy's types
// with "type must be a Type".)
import { readFileSync, writeFileSync } from 'node:fs';
import { temporal } from '@temporalio/proto';

const { History } = temporal.api.history.v1;
export type HistoryMessage = temporal.api.history.v1.History;

export function writeHistoryFile(file: string, workflowId: string, history: temporal.api.history.v1.IHistory): void {
  const message = History.fromObject(history); // the message itself when it already is one
  const json = History.toObject(message, { longs: String, enums: String, bytes: String });
  writeFileSync(file, `${JSON.stringify({ workflowId, history: json }, null, 1)}\n`);
}

export function readHistoryFile(file: string): { workflowId: string; history: HistoryMessage } {
  const { workflowId, history } = JSON.parse(readFileSync(file, 'utf8')) as { workflowId: string; history: unknown };
  if (typeof workflowId !== 'string' || !history) throw new Error(`${file}: not a {workflowId, history} file`);
  return { workflowId, history: History.fromObject(history as Record<string, unknown>) };
}

/** The workflow type named in the history's first event. */
export function workflowTypeOf(history: temporal.api.history.v1.IHistory): string {
  return history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? '?';
}
