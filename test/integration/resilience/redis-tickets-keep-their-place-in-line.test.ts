// Tickets in Redis (the Lua limiter) on a fake clock: a place in line is kept exactly as in memory
// (test/unit/resilience/rate-limit-tickets-keep-their-place-in-line.test.ts), and two processes share one line.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import type { AcquireResult, ProviderLimits, RateLimiter } from '../../../src/resilience';
import { RedisRateLimiter } from '../../../src/resilience/rate-limiter-redis';
import { ROOT } from '../../helpers/env';
import { startPrivateRedis, type PrivateRedis } from '../../helpers/private-redis';
import { granted, placeInLineIsKept, req, T0 } from '../../helpers/rate-limit-tickets';

const none: ProviderLimits = { requests: [], tokens: [] };
let redisServer: PrivateRedis | null = null;
const redisClients: Redis[] = [];
afterAll(async () => {
  for (const c of redisClients) c.disconnect();
  await redisServer?.stop();
});

async function make(limits: Record<string, ProviderLimits>, opts: { marginMs?: number; spacing?: boolean } = {}) {
  const clock = { now: T0 };
  const base = { limitsFor: (p: string) => limits[p] ?? none, marginMs: opts.marginMs ?? 250, spacing: opts.spacing ?? false, now: () => clock.now };
  redisServer ??= await startPrivateRedis();
  const client = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
  redisClients.push(client);
  const prefix = `tickets-test:${randomUUID()}:`;
  return { l: new RedisRateLimiter({ ...base, redis: client, keyPrefix: prefix }) as RateLimiter, clock, prefix };
}

describe('a place in line is kept (redis)', () => {
  placeInLineIsKept(make);
});

test('Redis: two processes reserving at the same moment share one line: distinct slots, each granted in either process', async () => {
  const limits = { p: req(60, 60_000) };
  const { l, clock, prefix } = await make(limits, { spacing: true });
  const childTickets = [...Array(30)].map((_, n) => `child-${n}`);
  const ownTickets = [...Array(30)].map((_, n) => `own-${n}`);
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/limiter-process.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      LIMITER_REDIS_URL: redisServer!.url,
      LIMITER_PREFIX: prefix,
      LIMITER_LIMITS: JSON.stringify(limits),
      LIMITER_CLOCK: String(T0),
      LIMITER_PROVIDER: 'p',
      LIMITER_TICKETS: childTickets.join(','),
      LIMITER_SPACING: '1',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (!out.includes('ready\n')) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the second process did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  child.stdin!.write('go\n');
  const own = await Promise.all(ownTickets.map(async (ticket) => ({ ticket, result: await l.acquire('p', { ticket }) })));
  expect(await exited).toBe(0);
  const theirs = JSON.parse(out.slice(out.indexOf('ready\n') + 6).trim()) as { ticket: string; result: AcquireResult }[];
  const all = [...own, ...theirs];
  expect(all).toHaveLength(60);
  // Paced at one a second: one call now, and 59 slots of their own, one a second apart, whichever process asked.
  expect(all.filter((x) => x.result.ok)).toHaveLength(1);
  const slots = all.filter((x) => !x.result.ok).map((x) => ({ ticket: x.ticket, at: T0 + (x.result as { retryAfterMs: number }).retryAfterMs }));
  expect(slots.map((s) => s.at - T0).sort((a, b) => a - b)).toEqual([...Array(59)].map((_, k) => (k + 1) * 1000));
  expect(slots.filter((s) => s.ticket.startsWith('child-')).length).toBeGreaterThan(0);
  expect(slots.filter((s) => s.ticket.startsWith('own-')).length).toBeGreaterThan(0);
  // This process claims every slot, the other's included, each a little late: all granted where they are.
  for (const s of slots.sort((a, b) => a.at - b.at)) {
    clock.now = s.at + 400;
    expect(granted(await l.acquire('p', { ticket: s.ticket }))).toBe(clock.now - 125);
  }
});
