// What the unauthenticated system routes answer: liveness, readiness, metrics, media bytes.
import { z } from 'zod';
import type { ContentResponse } from './common';

export const healthView = z.object({ status: z.literal('ok') }).meta({ id: 'Health' });

export const readinessView = z
  .object({
    status: z.enum(['ready', 'degraded', 'not_ready']).describe('degraded: only Redis fails; Herald runs on its in-process fallback'),
    failing: z.array(z.string()).describe('the names of the failing checks'),
    checks: z.array(z.object({ name: z.string(), ok: z.boolean(), error: z.string().optional() })),
  })
  .meta({ id: 'Readiness' });

export const metricsText: ContentResponse = {
  description: 'Prometheus text exposition format',
  content: { 'text/plain': { schema: z.string() } },
};

export const mediaBytes: ContentResponse = {
  description: 'The image bytes, with their own content type (image/png, image/jpeg...); cacheable for a year',
  content: { 'image/*': { schema: z.string().meta({ format: 'binary' }) } },
};
