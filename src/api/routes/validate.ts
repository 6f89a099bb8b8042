import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { createCapsRepository } from '../../db/caps-repo';
import { validatePipelineRequest, type ValidationInput } from '../../pipelines/validate-request';
import type { ApiDeps } from '../deps';
import { typedResponses } from '../schemas/common';
import { validateBodySchema, validationView } from '../schemas/validate';

/** POST /v1/validate: the pre-flight check. It reads accounts and schedules and stores or starts nothing. */
export const validateRoutes: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  const caps = createCapsRepository(deps.pool);
  const { accounts, config } = deps;
  app.post(
    '/validate',
    {
      schema: {
        operationId: 'validatePipeline',
        tags: ['pipelines'],
        summary: 'Check a pipeline request before starting it',
        description: [
          'Takes a pipeline request, or the same with `content: {title, body, hashtags}` (and optionally `variants: {<platform>: text}`) in place of `topic`.',
          "Answers 200 with every target's variant (with a topic: null, the text being written when the pipeline runs) and every problem found:",
          'unknown, other-platform, `reauth_required` or disabled accounts; a publishAt in the past or more than a year ahead; a daily cap already full at publishAt;',
          'exact text over a limit that cannot be adapted without cutting it. Nothing is stored or started. A request that is not well-formed is 400, as on POST /v1/pipelines.',
        ].join(' '),
        body: validateBodySchema,
        response: typedResponses({ 200: validationView }),
      },
    },
    async (request) => {
      const tenantId = request.tenantId;
      return validatePipelineRequest(
        {
          accounts,
          times: (account, sinceMs) => caps.times(tenantId, account, sinceMs),
          limits: config.resilience.limits,
          adaptOptions: { instagramHashtagCap: config.instagramMaxHashtags },
        },
        tenantId,
        request.body as ValidationInput,
      );
    },
  );
};
