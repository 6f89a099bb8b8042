// A worker process for the bare baseline (bench/lib/bare-workflows.ts) on its own task queue:
//   node --import tsx bench/lib/bare-worker.ts   with TEMPORAL_ADDRESS, BARE_TASK_QUEUE (and BARE_NAMESPACE).
// Started by the benches next to Herald's worker against the same dev server; prints "bare worker ready" once polling.
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { bareActivities } from './bare-activities';

async function main() {
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const taskQueue = process.env.BARE_TASK_QUEUE;
  if (!taskQueue) throw new Error('BARE_TASK_QUEUE is required');
  Runtime.install({ logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: (m: string) => console.error(m) } as never });
  process.on('disconnect', () => process.exit(0));
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection,
    namespace: process.env.BARE_NAMESPACE ?? 'default',
    taskQueue,
    workflowsPath: require.resolve('./bare-workflows'),
    activities: bareActivities,
    ...(process.env.BARE_MAX_ACTIVITIES ? { maxConcurrentActivityTaskExecutions: Number(process.env.BARE_MAX_ACTIVITIES) } : {}),
  });
  process.on('SIGTERM', () => worker.shutdown());
  const run = worker.run();
  console.log('bare worker ready');
  await run;
  await connection.close();
}

main().catch((err) => {
  console.error(`bare worker failed: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
