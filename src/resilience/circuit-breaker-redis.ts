// Breaker state in Redis, shared by every worker process. Lua scripts keep each step atomic on the Redis clock.
//
// Keys:
//   <prefix>cb:{<provider>}:state  HASH state ("open"; absent = closed), failures, openedAt, retryAt (Redis ms)
//   <prefix>cb:{<provider>}:probe  STRING the token of the one caller allowed to probe, SET NX PX probeTtl
import type Redis from 'ioredis';
import { DEFAULT_PROBE_TTL_MS } from './circuit-breaker-memory';
import { iso } from './rate-limiter-common';
import { LuaScript, readLua } from './redis-client';
import type { BreakerEntry, BreakerSettings, BreakerSnapshot, BreakerState, BreakerStore, BreakerTransition } from './types';

// The scripts live in lua/ (each file says its KEYS, ARGV and answer), after the Redis clock's two lines.
const ENTER = new LuaScript(readLua('redis-now', 'breaker-enter'));
const RECORD = new LuaScript(readLua('redis-now', 'breaker-record'));
const RELEASE = new LuaScript(readLua('breaker-release'));
const SNAPSHOT = new LuaScript(readLua('redis-now', 'breaker-snapshot'));

/** Failure counts and open states are forgotten after a day without change. */
const STATE_TTL_MS = 86_400_000;

export class RedisBreakerStore implements BreakerStore {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
  ) {}

  keys(provider: string): { state: string; probe: string } {
    const base = `${this.keyPrefix}cb:{${provider}}:`;
    return { state: `${base}state`, probe: `${base}probe` };
  }

  async enter(provider: string, settings: BreakerSettings, probeToken: string): Promise<BreakerEntry> {
    const k = this.keys(provider);
    const r = (await ENTER.run(this.redis, [k.state, k.probe], [probeToken, settings.probeTtlMs ?? DEFAULT_PROBE_TTL_MS, settings.cooldownMs])) as [string, number, number, number, number];
    const local = toLocal(Number(r[4]));
    if (r[0] === 'closed') return { kind: 'closed', failures: Number(r[1]) };
    if (r[0] === 'open') return { kind: 'open', retryAt: local(Number(r[2])) };
    if (r[0] === 'busy') return { kind: 'open', retryAt: Date.now() + Number(r[1]) };
    return { kind: 'probe', openedAt: Number(r[3]) ? local(Number(r[3])) : null };
  }

  async record(provider: string, settings: BreakerSettings, outcome: 'success' | 'failure', probeToken: string | null): Promise<BreakerTransition | null> {
    const k = this.keys(provider);
    const ttl = Math.max(STATE_TTL_MS, settings.cooldownMs * 2);
    const r = (await RECORD.run(this.redis, [k.state, k.probe], [outcome, probeToken ?? '', settings.failures, settings.cooldownMs, ttl])) as [string, string, number, number];
    if (r[0] === r[1]) return null;
    return { from: r[0] as BreakerState, to: r[1] as BreakerState, retryAt: Number(r[2]) ? toLocal(Number(r[3]))(Number(r[2])) : null };
  }

  async release(provider: string, probeToken: string): Promise<void> {
    await RELEASE.run(this.redis, [this.keys(provider).probe], [probeToken]);
  }

  async snapshot(provider: string): Promise<BreakerSnapshot> {
    const r = (await SNAPSHOT.run(this.redis, [this.keys(provider).state], [])) as [string, number, number, number, number];
    const now = Number(r[4]);
    const local = toLocal(now);
    const open = r[0] === 'open';
    const retryAt = Number(r[2]);
    const state: BreakerState = !open ? 'closed' : now < retryAt ? 'open' : 'half_open';
    return { state, failures: Number(r[1]), retryAt: open ? iso(local(retryAt)) : null, openedAt: open && Number(r[3]) ? iso(local(Number(r[3]))) : null };
  }
}

/** Redis-clock ms -> this process's clock, given Redis's now. */
function toLocal(redisNow: number): (redisMs: number) => number {
  const offset = Date.now() - redisNow;
  return (ms) => ms + offset;
}
