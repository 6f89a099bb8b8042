// One place decides when an error means "PostgreSQL is away" (not "this query is wrong"): the API answers 503 for it,
// and entry points wait for the database at start-up instead of exiting.

/**
 * SQLSTATEs that mean "PostgreSQL cannot serve this now", not "this request is wrong": connection exceptions (class 08,
 * except 08P01, a protocol violation, which is a bug), administrator or crash shutdown and start-up in progress (57P01,
 * 57P02, 57P03), a statement cancelled by a timeout (57014), too many connections (53300), a read-only standby after a
 * failover (25006).
 */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '57014', '53300', '25006']);

/** Socket errors Node raises when the server is not there (refused, reset, unreachable, timed out). */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * node-postgres reports a lost or missing connection only in words (no code): a connection cut mid-query, no
 * connection within connectionTimeoutMillis, a query over query_timeout, a client whose connection already failed.
 */
const PG_CONNECTION_MESSAGES =
  /^(Connection terminated( unexpectedly| due to connection timeout)?|timeout exceeded when trying to connect|Query read timeout|timeout expired|Client has encountered a connection error and is not queryable|Client was closed and is not queryable)$/;

/** True when err (or its cause, or one of an AggregateError's errors) says PostgreSQL is unreachable or shutting down. */
export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 5) return false;
  const e = err as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string') {
    if (UNAVAILABLE_SQLSTATES.has(e.code)) return true;
    if (e.code.startsWith('08') && e.code.length === 5 && e.code !== '08P01') return true;
    if (SOCKET_CODES.has(e.code)) return true;
  }
  if (typeof e.message === 'string' && PG_CONNECTION_MESSAGES.test(e.message)) return true;
  if (Array.isArray(e.errors) && e.errors.some((x) => isDatabaseUnavailable(x, depth + 1))) return true;
  return isDatabaseUnavailable(e.cause, depth + 1);
}
