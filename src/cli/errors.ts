// The CLI's exit codes and the errors that lead to them. main.ts turns each error into its code; commands never call
// process.exit themselves, so output is flushed and `finally` blocks run.

export const EXIT = {
  /** Done: the command did what was asked (for run/watch: the pipeline published). */
  ok: 0,
  /** The pipeline ended badly (run/watch), validation found problems, or the API answered with an error. */
  failed: 1,
  /** Usage: an unknown command or flag, a missing or malformed argument, no API key. */
  usage: 2,
  /** The API (or, for `keys create`, the database) could not be reached. */
  unreachable: 3,
} as const;

/** The API answered with an error status. `code`, `message` and `details` are the API's error body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown[] = [],
    readonly body: unknown = null,
  ) {
    super(message);
  }

  /** Worth trying again later (a stream re-opened, a call retried): the server is there but cannot answer now. */
  get transient(): boolean {
    return this.status >= 500 || this.status === 429;
  }
}

export class UnreachableError extends Error {}

export class UsageError extends Error {}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

/** True for what fetch (undici) or a socket throws when nothing answered: refused, reset, unknown host, timeout. */
export function isConnectionFailure(err: unknown): boolean {
  for (let e: any = err, depth = 0; e && depth < 5; e = e.cause, depth++) {
    if (typeof e.code === 'string' && UNREACHABLE_CODES.has(e.code)) return true;
    if (e instanceof AggregateError && e.errors.some(isConnectionFailure)) return true;
  }
  return err instanceof TypeError && /fetch failed|terminated|other side closed/i.test(err.message);
}
