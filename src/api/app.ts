import swagger from '@fastify/swagger';
import type { Client } from '@temporalio/client';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { Config } from '../config';
import { createAccountRepository } from '../db/accounts-repo';
import { createMediaRepository } from '../db/media-repo';
import { createPipelineRepository } from '../db/pipelines-repo';
import { createSecretBox } from '../db/secret-box';
import { reviewLinkKey } from '../domain/review-token';
import { createTenantRepository } from '../db/tenants-repo';
import { createWebhookRepository } from '../db/webhooks-repo';
import type { Resilience } from '../resilience';
import type { ApiDeps } from './deps';
import { clientErrorHandler, frameworkErrors, installErrorHandler } from './error-handler';
import { HttpError } from './errors';
import { openapiOptions } from './openapi';
import { reportingSerializerCompiler } from './serializer';
import { findUnstorable } from './schemas/storable';
import { authPlugin } from './plugins/auth';
import { accountRoutes } from './routes/accounts';
import { consoleRoutes } from './routes/console';
import { healthRoutes } from './routes/health';
import { mediaRoutes } from './routes/media';
import { pipelineRoutes } from './routes/pipelines';
import { providerRoutes } from './routes/providers';
import { reviewLinkRoutes, reviewPageRoutes } from './routes/review';
import { scheduleRoutes } from './routes/schedules';
import { stallRoutes } from './routes/stalls';
import { timelineRoutes } from './routes/timeline';
import { validateRoutes } from './routes/validate';
import { webhookRoutes } from './routes/webhooks';
import { createApiTemporalClient } from './temporal-client';

export const BODY_LIMIT = 1024 * 1024;

/** The whole HTTP API as one Fastify instance. It never listens: the bootstrap (or a test) decides that. */
export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'api' }) as unknown as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
    genReqId: () => `req_${Math.random().toString(36).slice(2, 12)}`,
    // Long enough that an over-long id reaches the route's own validation (400 naming params.id); Node's 16 KiB
    // header limit bounds the URL anyway. Both hooks below answer in the contract's error shape, not Fastify's.
    routerOptions: { maxParamLength: 8192 },
    frameworkErrors,
    clientErrorHandler,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(reportingSerializerCompiler(app.log));
  installErrorHandler(app);
  // Loaded only with an endpoint: without one, nothing of OpenTelemetry is.
  if (deps.config.otelEndpoint) (await import('../observability/request-tracing')).traceRequests(app);
  // Before any route's validation: nothing PostgreSQL cannot store (NUL, lone surrogates, absurd nesting) gets past,
  // wherever it is, on every route, present and future.
  app.addHook('preValidation', async (request) => {
    const problems = [
      ...findUnstorable(request.params, 'params'),
      ...findUnstorable(request.query, 'querystring'),
      ...findUnstorable(request.headers, 'headers'),
      ...findUnstorable(request.body),
    ];
    if (problems.length) throw new HttpError('validation_failed', `${problems[0].path || 'body'}: ${problems[0].message}`, problems);
  });

  const requests = new Counter({
    name: 'herald_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['method', 'route', 'status'],
    registers: [deps.metrics],
  });
  app.addHook('onResponse', async (request, reply) => {
    requests.inc({ method: request.method, route: request.routeOptions.url ?? 'unknown', status: String(reply.statusCode) });
  });

  await app.register(swagger, openapiOptions);
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(healthRoutes, { deps });
  // The web console's page and assets: outside /v1 and without an API key (the page signs in, then calls /v1).
  await app.register(consoleRoutes);
  await app.register(authPlugin, { staticKeys: deps.config.apiKeys, tenants: deps.tenants });
  // Outside /v1 and without an API key: the signed link is the reviewer's only credential.
  await app.register(reviewPageRoutes, { deps });
  await app.register(
    async (v1) => {
      await v1.register(mediaRoutes, { deps });
      await v1.register(async (authed) => {
        authed.addHook('onRequest', async (request) => authed.authenticate(request));
        await authed.register(pipelineRoutes, { deps });
        await authed.register(accountRoutes, { deps });
        await authed.register(providerRoutes, { deps });
        await authed.register(scheduleRoutes, { deps });
        await authed.register(validateRoutes, { deps });
        await authed.register(reviewLinkRoutes, { deps });
        await authed.register(stallRoutes, { deps });
        await authed.register(timelineRoutes, { deps });
        await authed.register(webhookRoutes, { deps });
      });
    },
    { prefix: '/v1' },
  );
  return app;
}

/**
 * The API on an existing pool and Temporal client, with its repositories: what every entry point (and the test
 * harness) serves. The API talks to Temporal through its own connection to the same server (createApiTemporalClient),
 * closed with the app.
 */
export async function createApi(
  config: Config,
  pool: Pool,
  temporal: Client,
  encryptionKey: Buffer,
  logger: Logger,
  shared: { resilience: Resilience; metrics: Registry },
): Promise<FastifyInstance> {
  const tenants = createTenantRepository(pool);
  for (const k of config.apiKeys) await tenants.ensure(k.tenantId);
  const { metrics, resilience } = shared;
  const tracing = config.otelEndpoint ? (await import('../observability/tracing')).startTracing(config.otelEndpoint) : undefined;
  const apiTemporal = createApiTemporalClient(temporal, config, tracing?.clientInterceptors);
  const app = await buildApp({
    config,
    pool,
    temporal: apiTemporal,
    tenants,
    pipelines: createPipelineRepository(pool),
    media: createMediaRepository(pool),
    accounts: createAccountRepository(pool, createSecretBox(encryptionKey)),
    webhooks: createWebhookRepository(pool, createSecretBox(encryptionKey)),
    reviewLinkKey: reviewLinkKey(encryptionKey),
    logger,
    metrics,
    resilience,
  });
  app.addHook('onClose', async () => {
    // The last requests' spans leave before the process does.
    await tracing?.flush();
    await apiTemporal.connection.close();
  });
  return app;
}
