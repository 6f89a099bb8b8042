import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiDeps } from '../deps';
import { notFound } from '../errors';
import { typedResponses } from '../schemas/common';
import { mediaBytes } from '../schemas/system';

/** Unauthenticated on purpose: platforms such as Instagram fetch images by URL. Ids are unguessable. */
export const mediaRoutes: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  app.get(
    '/media/:id',
    {
      schema: {
        operationId: 'getMedia',
        tags: ['media'],
        summary: 'Image bytes (no authentication; the id is unguessable)',
        description: "No API key: platforms such as Instagram fetch a post's image by its URL. The pipeline's `images[].url` points here.",
        security: [],
        params: z.object({ id: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, 'not a media id') }),
        response: typedResponses({ 200: mediaBytes }),
      },
    },
    async (request, reply) => {
      const m = await deps.media.get(request.params.id);
      if (!m) throw notFound('media');
      return reply
        .header('content-type', m.contentType)
        .header('cache-control', 'public, max-age=31536000, immutable')
        .header('x-content-type-options', 'nosniff')
        .send(m.bytes);
    },
  );
};
