import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { createTimelineRepository } from '../../db/timeline-repo';
import type { ApiDeps } from '../deps';
import { notFound } from '../errors';
import { typedResponses } from '../schemas/common';
import { idParams } from '../schemas/pipeline';
import { timelineView } from '../schemas/timeline';

export const timelineRoutes: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  const timeline = createTimelineRepository(deps.pool);

  app.get(
    '/pipelines/:id/timeline',
    {
      schema: {
        operationId: 'getPipelineTimeline',
        tags: ['pipelines'],
        summary: "A pipeline's events, oldest first",
        description:
          'Stage changes, the providers used and skipped (with reasons), image fallbacks, publication attempts and waits (with retryAt), approvals, edits, publish-time changes and errors (with a hint saying what to do).',
        params: idParams,
        response: typedResponses({ 200: timelineView }),
      },
    },
    async (request) => {
      const { id } = request.params;
      // Another tenant's pipeline is as unknown as a missing one.
      const row = await deps.pipelines.get(request.tenantId, id);
      if (!row) throw notFound(`pipeline ${id}`);
      return { pipelineId: id, events: await timeline.list(request.tenantId, id) };
    },
  );
};
