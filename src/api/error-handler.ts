import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { HttpError } from './errors';
import { unavailableError } from './unavailable';

function body(code: string, message: string, details: unknown[] = []) {
  return { error: { code, message, details } };
}

/** Every error leaves in the contract's shape; 5xx never carry internals. */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof HttpError) {
      if (err.retryAfterSeconds !== undefined) reply.header('retry-after', String(err.retryAfterSeconds));
      return reply.status(err.statusCode).send(body(err.code, err.message, err.details));
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      const details = err.validation.map((v) => {
        const path = (v.instancePath || '').replace(/^\//, '').replace(/\//g, '.');
        const where = err.validationContext === 'body' ? path : `${err.validationContext}${path ? '.' + path : ''}`;
        return { path: where, message: v.message };
      });
      const first = details[0];
      return reply
        .status(400)
        .send(body('validation_failed', first ? `${first.path || err.validationContext}: ${first.message}` : 'request is not valid', details));
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.status(413).send(body('payload_too_large', 'request body is larger than 1 MiB'));
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return reply.status(415).send(body('validation_failed', 'Content-Type must be application/json'));
    }
    if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return reply.status(400).send(body('validation_failed', 'request body is empty; JSON expected'));
    if (err instanceof SyntaxError || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
      return reply.status(400).send(body('validation_failed', `request body is not valid JSON: ${err.message}`));
    }
    if (isUnstorableValue(err)) {
      // A safety net only: the preValidation check in app.ts refuses such values first, naming the field.
      request.log.warn({ err }, 'PostgreSQL refused a value from the request');
      return reply.status(400).send(body('validation_failed', 'a value in the request cannot be stored (invalid characters, date or nesting)', [{ requestId: request.id }]));
    }
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) return reply.status(status).send(body(status === 404 ? 'not_found' : 'validation_failed', err.message));
    const away = unavailableError(err);
    if (away) {
      // PostgreSQL or Temporal is away: the request was fine, the same request later will work.
      request.log.warn({ err: { message: err.message, code: err.code } }, 'dependency unavailable');
      return reply.status(503).header('retry-after', String(away.retryAfterSeconds)).send(body(away.code, away.message));
    }
    request.log.error({ err }, 'unhandled error');
    return reply.status(500).send(body('internal', 'internal error; the request id is in the logs', [{ requestId: request.id }]));
  });
  app.setNotFoundHandler((request, reply) => reply.status(404).send(body('not_found', `no route ${request.method} ${request.url.split('?')[0]}`)));
}

/**
 * PostgreSQL's "data exception" codes for a value it cannot take: bad bytes (NUL), untranslatable characters, JSON it
 * cannot parse (lone surrogates), dates and zone offsets out of range, JSON nested too deep.
 */
const UNSTORABLE_SQLSTATES = new Set(['22021', '22P05', '22P02', '22007', '22008', '22009', '54001']);
function isUnstorableValue(err: unknown): boolean {
  const e = err as { code?: unknown; severity?: unknown };
  return typeof e?.code === 'string' && typeof e.severity === 'string' && UNSTORABLE_SQLSTATES.has(e.code);
}

/**
 * Fastify's `frameworkErrors`: what goes wrong before a route is found (a URL whose %-encoding is not valid, a path
 * parameter longer than the router takes). Answered in the contract's shape instead of Fastify's own.
 */
export function frameworkErrors(err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  if (err.code === 'FST_ERR_BAD_URL') {
    void reply.status(400).send(body('validation_failed', 'the URL is not valid: it holds a malformed %-escape', [{ path: 'url', message: err.message }]));
    return;
  }
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    void reply.status(400).send(body('validation_failed', 'a path parameter in the URL is too long', [{ path: 'params', message: err.message }]));
    return;
  }
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
  void reply.status(status).send(body('validation_failed', err.message));
}

/**
 * Fastify's `clientErrorHandler`: requests Node's HTTP parser refuses before Fastify sees them (bad header characters,
 * a malformed request line, headers over 16 KiB, a request too slow to arrive). The same contract shape, written to the
 * socket, then the connection is closed, as Node itself does.
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  let status = 400;
  let message = `the HTTP request is malformed (${err.code ?? 'parse error'}): ${err.message}`;
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    status = 408;
    message = 'the request did not arrive in time';
  } else if (err.code === 'HPE_HEADER_OVERFLOW') {
    status = 431;
    message = 'the request line and headers are larger than the server accepts (16 KiB)';
  }
  const text = JSON.stringify(body('validation_failed', message, [{ code: err.code ?? null }]));
  const reason = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' }[status];
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
    );
  }
  socket.destroy(err);
}
