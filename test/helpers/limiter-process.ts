// A second process sharing a Redis rate limiter, for tests of what several worker processes do together. Run with
// `node --import tsx test/helpers/limiter-process.ts`; configured by environment:
//   LIMITER_REDIS_URL, LIMITER_PREFIX, LIMITER_LIMITS (JSON Record<string, ProviderLimits>), LIMITER_CLOCK (fake ms),
//   LIMITER_PROVIDER, LIMITER_TICKETS (comma-separated), LIMITER_SPACING ('1' to pace slots)
// It connects, prints "ready", waits for a line "go" on stdin, then acquires once for every ticket at the same time and
// prints one JSON line: [{ ticket, result }].
import { createInterface } from 'node:readline';
import Redis from 'ioredis';
import { RedisRateLimiter } from '../../src/resilience/rate-limiter-redis';
import type { ProviderLimits } from '../../src/resilience/types';

async function main(): Promise<void> {
  const env = (name: string): string => {
    const v = process.env[name];
    if (v === undefined) throw new Error(`${name} is not set`);
    return v;
  };
  const redis = new Redis(env('LIMITER_REDIS_URL'), { maxRetriesPerRequest: 1 });
  const limits = JSON.parse(env('LIMITER_LIMITS')) as Record<string, ProviderLimits>;
  const clock = Number(env('LIMITER_CLOCK'));
  const limiter = new RedisRateLimiter({
    redis,
    keyPrefix: env('LIMITER_PREFIX'),
    limitsFor: (p) => limits[p] ?? { requests: [], tokens: [] },
    marginMs: 250,
    spacing: process.env.LIMITER_SPACING === '1',
    now: () => clock,
  });
  await redis.ping();
  process.stdout.write('ready\n');
  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) if (line.trim() === 'go') break;
  rl.close();
  const provider = env('LIMITER_PROVIDER');
  const tickets = env('LIMITER_TICKETS').split(',');
  const results = await Promise.all(tickets.map(async (ticket) => ({ ticket, result: await limiter.acquire(provider, { ticket }) })));
  process.stdout.write(`${JSON.stringify(results)}\n`);
  redis.disconnect();
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
