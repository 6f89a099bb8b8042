// What GET /v1/providers answers: the resilience layer's snapshot (src/resilience ProviderSnapshot) per provider.
import { z } from 'zod';

const windowView = z.object({
  kind: z.enum(['requests', 'tokens']),
  limit: z.number().nullable(),
  used: z.number().nullable(),
  remaining: z.number().nullable(),
  resetAt: z.string().nullable().describe("when the oldest entry leaves the window (configured) or the provider's reset (provider)"),
  window: z.string().nullable().describe('"1m", "10s"...; null for windows the provider reported'),
  source: z.enum(['configured', 'provider']),
});

export const providerView = z
  .object({
    provider: z.string(),
    breaker: z.object({
      state: z.enum(['closed', 'open', 'half_open']),
      failures: z.number(),
      retryAt: z.string().nullable(),
      openedAt: z.string().nullable(),
    }),
    windows: z.array(windowView),
    blockedUntil: z.string().nullable().describe('every call is refused until then (after a 429 or a report of 0 remaining)'),
    blockedReason: z.string().nullable(),
    cache: z.object({ hits: z.number(), misses: z.number() }).describe("this process's response-cache counts"),
  })
  .meta({ id: 'ProviderStatus' });

export const providerListView = z
  .object({
    items: z.array(providerView),
    shared: z.boolean().describe("true: the state is shared through Redis; false: this process's view"),
  })
  .meta({ id: 'ProviderList' });
