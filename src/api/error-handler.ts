import type { FastifyError, FastifyInstance } from 'fastify';
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
