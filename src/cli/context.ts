// What every command's action gets: the global flags resolved into an API connection and an output, plus the
// argument parsers that turn malformed input into usage errors (exit 2) before anything is sent.
import { InvalidArgumentError, type Command } from 'commander';
import type { CliConfig } from '../config/cli';
import { connect, type Api } from './api';
import { createOutput, type Output } from './output';

export interface GlobalFlags {
  json?: boolean;
  apiUrl?: string;
  apiKey?: string;
}

export interface Context {
  readonly cli: CliConfig;
  /** Set by a command whose outcome is bad without being an error (a failed pipeline, problems found). */
  exitCode: number;
  /** The API, from --api-url / --api-key or the environment. */
  api(cmd: Command): Api;
  output(cmd: Command): Output;
  /** One API call whose answer is the result: printed as JSON with --json, else by `human`. */
  show<T>(cmd: Command, call: (api: Api) => Promise<T>, human: (out: Output, body: T, api: Api) => void): Promise<void>;
}

export function createContext(cli: CliConfig, streams: { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream }): Context {
  const flags = (cmd: Command) => cmd.optsWithGlobals<GlobalFlags>();
  const ctx: Context = {
    cli,
    exitCode: 0,
    api: (cmd) => connect(cli, flags(cmd)),
    output: (cmd) => createOutput({ json: Boolean(flags(cmd).json), color: !cli.noColor && Boolean(streams.stdout.isTTY), ...streams }),
    async show(cmd, call, human) {
      const api = ctx.api(cmd);
      const out = ctx.output(cmd);
      const body = await call(api);
      if (out.json) out.value(body);
      else human(out, body, api);
    },
  };
  return ctx;
}

/** A `<thing> delete <id>` action. The API answers 204 with no body, so --json prints {"id", "deleted": true}. */
export function deleteAction(ctx: Context, what: string, call: (api: Api, id: string) => Promise<unknown>) {
  return (id: string, _flags: unknown, cmd: Command) =>
    ctx.show(
      cmd,
      async (api) => {
        await call(api, id);
        return { id, deleted: true };
      },
      (out) => out.line(`deleted ${what} ${id}`),
    );
}

/** For an option given many times (`--platform x --platform linkedin`), optionally limited to some values. */
export function many(choices?: readonly string[]) {
  return (value: string, previous: string[] | undefined): string[] => {
    if (choices && !choices.includes(value)) throw new InvalidArgumentError(`must be one of ${choices.join(', ')}`);
    return [...(previous ?? []), value];
  };
}

/** For `key=value` options given many times (`--account x=acc_1`, `--credential url=…`). */
export function pairs(value: string, previous: Record<string, string> | undefined): Record<string, string> {
  const i = value.indexOf('=');
  if (i <= 0) throw new InvalidArgumentError(`must look like key=value (got "${value}")`);
  return { ...previous, [value.slice(0, i)]: value.slice(i + 1) };
}

export function positiveInt(max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`must be a whole number from 1 to ${max}`);
    return n;
  };
}

/** An ISO 8601 time with a date and a clock time (the API checks the rest: past, too far ahead). */
export function isoTime(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value) || Number.isNaN(Date.parse(value))) {
    throw new InvalidArgumentError('must be an ISO 8601 time such as 2026-12-01T09:00:00Z or 2026-12-01T10:00:00+01:00');
  }
  return value;
}
