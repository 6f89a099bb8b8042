import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createApi } from '../api/app';
import { temporalConnectionOptions, type Config } from '../config';
import type { Resilience } from '../resilience';
import type { Shutdown } from './shutdown';

export interface ApiParts {
  config: Config;
  pool: Pool;
  encryptionKey: Buffer;
  resilience: Resilience;
  metrics: Registry;
  logger: Logger;
}

/**
 * Serves the API on HOST:PORT. Its Temporal connection is lazy: the API starts, and answers /health (and 503
 * elsewhere), while Temporal is down, and connects when it is back. At shutdown it stops taking requests first.
 */
export async function startApi(parts: ApiParts, shutdown: Shutdown): Promise<FastifyInstance> {
  const { config } = parts;
  const connection = Connection.lazy(temporalConnectionOptions(config));
  shutdown.onShutdown('API Temporal connection', () => connection.close());
  const temporal = new Client({ connection, namespace: config.temporal.namespace });
  const app = await createApi(config, parts.pool, temporal, parts.encryptionKey, parts.logger, { resilience: parts.resilience, metrics: parts.metrics });
  shutdown.onShutdown('API', () => app.close());
  await app.listen({ port: config.port, host: config.host });
  return app;
}
