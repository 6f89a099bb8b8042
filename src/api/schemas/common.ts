import { z } from 'zod';
import { DURATION_PATTERN } from '../../domain/duration';

export const errorResponse = z
  .object({
    error: z.object({ code: z.string(), message: z.string(), details: z.array(z.unknown()) }),
  })
  .describe('Every error has this shape')
  .meta({ id: 'Error' });

export const durationString = z.string().regex(DURATION_PATTERN, 'must be a duration such as 30s, 15m, 24h or 7d');

/**
 * Why an ISO 8601 date-time (already well-formed) is outside what PostgreSQL's timestamptz takes, or null: the year
 * 0000 does not exist there (1 BC follows 1 AD) and a zone offset must be under 16 hours.
 */
export function dateTimeRangeProblem(text: string): string | null {
  if (/^0000-/.test(text)) return 'the year 0000 does not exist; use a year from 0001 to 9999';
  const offset = /([+-])(\d{2}):?(\d{2})$/.exec(text);
  if (offset && Number(offset[2]) >= 16) return 'the time zone offset must be between -15:59 and +15:59';
  return null;
}

/** An ISO 8601 date-time with a zone (Z or an offset), in the range PostgreSQL can store. */
export const dateTimeString = z.iso
  .datetime({ offset: true, message: 'must be an ISO 8601 date-time with a time zone, e.g. 2026-12-01T09:00:00+01:00' })
  .superRefine((text, ctx) => {
    const problem = dateTimeRangeProblem(text);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const errorResponses = { 400: errorResponse, 401: errorResponse, 404: errorResponse, 409: errorResponse, 413: errorResponse, 422: errorResponse, 429: errorResponse, 503: errorResponse };

/** A success answer that is not JSON (an event stream, image bytes): its media types, each with a zod schema. */
export interface ContentResponse {
  description: string;
  content: Record<string, { schema: z.ZodType }>;
}

/** A success answer with no body (204, `reply.send()` or `send(null)`): documented without content; no body is sent. */
export const noContent = z.union([z.void(), z.null()]).describe('No content');

/**
 * OpenAPI responses for a route: each success code with the zod schema of its body, plus the error shape for every
 * error code. The schema also serializes the answer (fastify-type-provider-zod): a field it does not name is dropped
 * and a value that does not fit it is a 500, so it must describe everything the handler returns; response schemas
 * therefore carry no refinements, patterns or length limits that a stored value might not meet.
 */
export function typedResponses<R extends Partial<Record<200 | 201 | 202 | 204, z.ZodType | ContentResponse>>>(success: R) {
  return { ...success, ...errorResponses };
}

/** An error as the state, a publication, the timeline and webhooks show it (src/domain/types.ts PipelineError). */
export const errorInfoSchema = z.object({
  code: z.string().describe('a failure type (ReauthRequired, RateLimited...) or one of Herald\'s own codes'),
  message: z.string(),
  hint: z.string().nullable().describe('what to do about it (reconnect an account, wait until a time...); null when nothing helps'),
});
