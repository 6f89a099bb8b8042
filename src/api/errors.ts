export type ErrorCode =
  | 'validation_failed'
  | 'unauthorized'
  | 'not_found'
  | 'conflict'
  | 'unprocessable'
  | 'payload_too_large'
  | 'rate_limited'
  | 'backlog_full'
  | 'unavailable'
  | 'internal';

const STATUS: Record<ErrorCode, number> = {
  validation_failed: 400,
  unauthorized: 401,
  not_found: 404,
  conflict: 409,
  unprocessable: 422,
  payload_too_large: 413,
  rate_limited: 429,
  backlog_full: 429,
  unavailable: 503,
  internal: 500,
};

/** An error the API answers with as it is: `{error: {code, message, details}}`. */
export class HttpError extends Error {
  readonly statusCode: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: unknown[] = [],
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.statusCode = STATUS[code];
  }
}

export const notFound = (what: string) => new HttpError('not_found', `${what} not found`);
