import type { FastifyPluginAsync } from 'fastify';
import type { ApiDeps } from '../deps';

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

export const healthRoutes: FastifyPluginAsync<{ deps: ApiDeps }> = async (app, { deps }) => {
  app.get('/health', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  app.get('/ready', { schema: { hide: true } }, async (_request, reply) => {
    const { temporal, config, pool } = deps;
    const checks = await Promise.all([
      check('postgresql', async () => {
        await pool.query('SELECT 1');
      }),
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
    ]);
    const ok = checks.every((c) => c.ok);
    return reply.status(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not_ready', checks });
  });

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.header('content-type', deps.metrics.contentType);
    return deps.metrics.metrics();
  });
};
