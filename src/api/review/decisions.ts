// The one way the API decides an approval: POST /v1/pipelines/{id}/approve|reject and the review link's forms both
// go through here, so an edit is validated the same way (the workflow's approve Update and its reviewEdits activity)
// whoever sends it.
import type { Client } from '@temporalio/client';
import type { PipelineRow } from '../../db/pipelines-repo';
import { isTerminal, type ApprovalBy, type ApprovalEdits, type PipelineState } from '../../domain/types';
import type { contentPipeline } from '../../workflows/content-pipeline';
import { approveUpdate, rejectUpdate } from '../../workflows/messages';
import { HttpError } from '../errors';
import { httpErrorFromTemporal } from '../temporal-errors';

const failMapped = (err: unknown): never => {
  throw httpErrorFromTemporal(err) ?? err;
};

function ensureOpen(row: PipelineRow): void {
  if (isTerminal(row.status)) throw new HttpError('conflict', `pipeline is ${row.status}, not awaiting_approval`);
}

/** Approves; 409 unless awaiting approval (the workflow's validator decides races), 422 with the reasons for a bad edit. */
export async function approvePipeline(temporal: Client, row: PipelineRow, edits: ApprovalEdits | undefined, by: ApprovalBy): Promise<PipelineState> {
  ensureOpen(row);
  const handle = temporal.workflow.getHandle<typeof contentPipeline>(row.workflowId);
  return await handle.executeUpdate(approveUpdate, { args: [{ edits, by }] }).catch(failMapped);
}

export async function rejectPipeline(temporal: Client, row: PipelineRow, reason: string, by: ApprovalBy): Promise<PipelineState> {
  ensureOpen(row);
  const handle = temporal.workflow.getHandle<typeof contentPipeline>(row.workflowId);
  return await handle.executeUpdate(rejectUpdate, { args: [{ reason, by }] }).catch(failMapped);
}
