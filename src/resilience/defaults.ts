// Conservative built-in limits per provider. Numbers from docs/provider-facts.md where it gives them; the rest are
// marked GUESS (tiers differ per account): override them with RATE_LIMIT_<PROVIDER> / RATE_LIMIT_<PROVIDER>_TOKENS.
import type { BreakerSettings, ProviderLimits } from './types';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

export const DEFAULT_LIMITS: Record<string, ProviderLimits> = {
  // GUESS: OpenAI tier 1 gives gpt-4o-mini 500 RPM / 200k TPM but gpt-4o only 30k TPM; take the smaller token figure.
  openai: { requests: [{ count: 500, windowMs: M }], tokens: [{ count: 30_000, windowMs: M }] },
  // GUESS: Anthropic tier 1 is 50 RPM with about 30k input tokens per minute.
  anthropic: { requests: [{ count: 50, windowMs: M }], tokens: [{ count: 30_000, windowMs: M }] },
  // GUESS: Gemini free tier, 15 RPM, 1500 requests per day, 1M tokens per minute.
  gemini: { requests: [{ count: 15, windowMs: M }, { count: 1500, windowMs: D }], tokens: [{ count: 1_000_000, windowMs: M }] },
  // provider-facts: about 150 requests per 10 s.
  stability: { requests: [{ count: 150, windowMs: 10 * S }], tokens: [] },
  // provider-facts: demo keys 50 per hour.
  unsplash: { requests: [{ count: 50, windowMs: H }], tokens: [] },
  // provider-facts: 200 per hour, 20,000 per month (taken as 30 days).
  pexels: { requests: [{ count: 200, windowMs: H }, { count: 20_000, windowMs: 30 * D }], tokens: [] },
  // GUESS: most X endpoints use 15-minute windows; 100 per 15 min for posting on paid tiers (the free tier is far lower).
  x: { requests: [{ count: 100, windowMs: 15 * M }], tokens: [] },
  // GUESS: LinkedIn publishes no numbers; daily per-member limits reset at midnight UTC, a sliding day is stricter.
  linkedin: { requests: [{ count: 100, windowMs: D }], tokens: [] },
  // GUESS: Graph API platform limit of about 200 calls per user per hour.
  facebook: { requests: [{ count: 200, windowMs: H }], tokens: [] },
  // provider-facts: 50 published posts per rolling 24 h.
  instagram: { requests: [{ count: 50, windowMs: D }], tokens: [] },
  // provider-facts: 250 posts per 24 h.
  threads: { requests: [{ count: 250, windowMs: D }], tokens: [] },
  // provider-facts: 300 requests per 5 min per account.
  mastodon: { requests: [{ count: 300, windowMs: 5 * M }], tokens: [] },
  // provider-facts: 5000 points per hour and 35,000 per day, a post costs 3 points: counted here as requests / 3.
  bluesky: { requests: [{ count: 1666, windowMs: H }, { count: 11_666, windowMs: D }], tokens: [] },
  // provider-facts: 1 message per second per incoming webhook.
  slack: { requests: [{ count: 1, windowMs: S }], tokens: [] },
  // provider-facts: about 30 per minute per webhook.
  discord: { requests: [{ count: 30, windowMs: M }], tokens: [] },
  // GUESS: a generic webhook has no published limit; 60 per minute is polite.
  webhook: { requests: [{ count: 60, windowMs: M }], tokens: [] },
};

/** Open after 5 consecutive transient failures, probe again after 60 s. */
export const DEFAULT_BREAKER: BreakerSettings = { failures: 5, cooldownMs: 60_000 };

export const DEFAULT_CACHE_TTL_MS = 24 * H;
