import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { pingDatabase } from '../../db/pool';
import type { ApiDeps } from '../deps';
import { healthView, metricsText, readinessView } from '../schemas/system';

/** Open to anyone (load balancers, Prometheus): no API key. */
const open = { tags: ['system'], security: [] };

async function check(name: string, fn: () => Promise<void>, timeoutMs = 3000): Promise<{ name: string; ok: boolean; error?: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { name, ok: true };
  } catch (err) {
    return { name, ok: false, error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

export const healthRoutes: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  app.get(
    '/health',
    { schema: { ...open, operationId: 'getHealth', summary: 'Liveness: the process answers', response: { 200: healthView } } },
    async () => ({ status: 'ok' as const }),
  );

  // 200 `ready` when PostgreSQL and Temporal answer and a worker polls the task queue; 503 `not_ready` naming the
  // failing checks otherwise. Redis (when configured) is checked too but is not required: while it is away Herald runs
  // on its in-process fallback, so the answer stays 200 with status `degraded` and the redis check failing.
  app.get(
    '/ready',
    {
      schema: {
        ...open,
        operationId: 'getReadiness',
        summary: 'Readiness: PostgreSQL, Temporal and a worker answer (Redis optional)',
        description: '200 `ready` or `degraded` (only Redis fails); 503 `not_ready` with `Retry-After`, naming the failing checks.',
        response: { 200: readinessView, 503: readinessView },
      },
    },
    async (_request, reply) => {
      const { temporal, config, pool, resilience } = deps;
      const checks = await Promise.all([
        check('postgresql', () => pingDatabase(pool)),
        check('temporal', async () => {
          await temporal.workflowService.getSystemInfo({});
        }),
        check('worker', async () => {
          const res = await temporal.workflowService.describeTaskQueue({
            namespace: config.temporal.namespace,
            taskQueue: { name: config.temporal.taskQueue, kind: 1 },
            taskQueueType: 1, // workflow tasks
          });
          if (!res.pollers?.length) throw new Error(`no worker polls task queue ${config.temporal.taskQueue}`);
        }),
        ...(config.redisUrl
          ? [
              check('redis', async () => {
                // A call through the resilience layer is what notices Redis leaving (and, while on the fallback, what
                // looks for it again); fallbackActive then says which side the layer is on.
                await resilience.snapshot();
                if (resilience.fallbackActive) throw new Error('redis is not reachable: limits, breakers and cache run on this process until it is back');
              }),
            ]
          : []),
      ]);
      const failing = checks.filter((c) => !c.ok).map((c) => c.name);
      const required = failing.filter((name) => name !== 'redis');
      const status = required.length ? 'not_ready' : failing.length ? 'degraded' : 'ready';
      if (required.length) reply.header('retry-after', '5');
      return reply.status(required.length ? 503 : 200).send({ status, failing, checks });
    },
  );

  app.get('/metrics', { schema: { ...open, operationId: 'getMetrics', summary: 'Prometheus metrics', response: { 200: metricsText } } }, async (_request, reply) => {
    reply.header('content-type', deps.metrics.contentType);
    return deps.metrics.metrics();
  });
};
