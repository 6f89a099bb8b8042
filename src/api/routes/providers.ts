import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ApiDeps } from '../deps';
import { typedResponses } from '../schemas/common';
import { providerListView } from '../schemas/provider';

/**
 * What Herald knows about every provider right now: breaker, each rate-limit window, cache hits and misses.
 * Shared state (Redis) when configured; otherwise this process's view (in `npm start` the worker's too).
 */
export const providerRoutes: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  app.get('/providers', {
      schema: {
        operationId: 'listProviders',
        tags: ['providers'],
        summary: 'Breaker state, rate-limit windows and cache use per provider',
        response: typedResponses({ 200: providerListView }),
      },
    }, async () => ({
    items: await deps.resilience.snapshot(),
    shared: Boolean(deps.config.redisUrl),
  }));
};
