import { z } from 'zod';
import { DURATION_PATTERN } from '../../domain/duration';

export const errorResponse = z
  .object({
    error: z.object({ code: z.string(), message: z.string(), details: z.array(z.unknown()) }),
  })
  .describe('Every error has this shape');

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

/** OpenAPI responses for a route: its success codes (any body) plus the error shape for every error code. */
export function responses<S extends number>(...success: S[]) {
  const ok = Object.fromEntries(success.map((c) => [c, z.any()])) as Record<S, z.ZodAny>;
  return { ...ok, 400: errorResponse, 401: errorResponse, 404: errorResponse, 409: errorResponse, 413: errorResponse, 422: errorResponse, 429: errorResponse, 503: errorResponse };
}
