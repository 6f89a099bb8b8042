import type { Logger } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Config } from '../config';
import { createResilience, type Resilience } from '../resilience';
import { createRedisClient } from '../resilience/redis-client';

/** One metrics registry per process, with Node's default metrics. */
export function createMetricsRegistry(): Registry {
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  return metrics;
}

/**
 * The process's resilience layer: shared through Redis when REDIS_URL is set (every worker and API process sees the
 * same limits, breakers and cache), in the process otherwise. Made once per process; the API and the worker of
 * `npm start` share it, so /v1/providers shows what the worker sees.
 */
export function createProcessResilience(config: Config, logger: Logger, metrics: Registry): Resilience {
  const redis = config.redisUrl ? createRedisClient(config.redisUrl) : null;
  const resilience = createResilience({ redis, config: config.resilience, logger: logger.child({ component: 'resilience' }), metrics });
  // The layer leaves its client to its owner: this function made it, so closing the layer closes it too.
  const close = resilience.close.bind(resilience);
  resilience.close = async () => {
    await close();
    if (redis) await redis.quit().catch(() => redis.disconnect());
  };
  return resilience;
}
