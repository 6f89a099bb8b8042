// Entry: npm run worker. Needs DATABASE_URL and a reachable Temporal (TEMPORAL_ADDRESS). Also the bulk lane's process
// of a worker with WORKER_LANES=split (src/worker/bulk-process.ts), which logs as herald-worker-bulk.
import { boot } from '../bootstrap';

void boot({ command: 'npm run worker', name: 'herald-worker', worker: true }).then(({ config, logger }) => {
  // (The bulk lane's process says so in other words: whoever waits for "worker polling" waits for the worker itself.)
  logger.info({ taskQueue: config.temporal.taskQueue, address: config.temporal.address }, config.workerLanes === 'bulk' ? 'bulk lane polls' : 'worker polling');
});
