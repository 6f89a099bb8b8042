// Entry: npm run worker. Needs DATABASE_URL and a reachable Temporal (TEMPORAL_ADDRESS).
import { boot } from '../bootstrap';

void boot({ command: 'npm run worker', name: 'herald-worker', worker: true }).then(({ config, logger }) => {
  logger.info({ taskQueue: config.temporal.taskQueue, address: config.temporal.address }, 'worker polling');
});
