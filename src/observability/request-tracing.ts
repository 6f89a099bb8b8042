// One server span per API request, continuing a caller's W3C traceparent when it sends one. The span is made active
// for the route handler, so the Temporal client's start span (and through its headers the workflow and its activities)
// joins the request's trace. Loaded with tracing.ts only.
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TRACER_NAME } from './tracing';

export function traceRequests(app: FastifyInstance): void {
  const tracer = trace.getTracer(TRACER_NAME);
  const active = new WeakMap<FastifyRequest, { span: Span; ctx: Context }>();
  app.addHook('onRequest', (request, _reply, done) => {
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const span = tracer.startSpan(
      request.method,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': request.method, 'url.path': request.url.split('?')[0] } },
      parent,
    );
    const ctx = trace.setSpan(parent, span);
    active.set(request, { span, ctx });
    context.with(ctx, done);
  });
  // The body is read between onRequest and here, outside that context: the handler gets it back from this hook.
  app.addHook('preHandler', (request, _reply, done) => {
    const entry = active.get(request);
    if (!entry) return done();
    const route = request.routeOptions.url;
    if (route) {
      entry.span.updateName(`${request.method} ${route}`);
      entry.span.setAttribute('http.route', route);
    }
    context.with(entry.ctx, done);
  });
  app.addHook('onResponse', async (request, reply) => {
    const entry = active.get(request);
    if (!entry) return;
    entry.span.setAttribute('http.response.status_code', reply.statusCode);
    if (reply.statusCode >= 500) entry.span.setStatus({ code: SpanStatusCode.ERROR });
    entry.span.end();
    active.delete(request);
  });
  app.addHook('onRequestAbort', async (request) => {
    const entry = active.get(request);
    if (!entry) return;
    entry.span.setStatus({ code: SpanStatusCode.ERROR, message: 'client closed the connection' });
    entry.span.end();
    active.delete(request);
  });
}
