// Breaker state in Redis, shared by every worker process. Lua scripts keep each step atomic on the Redis clock.
//
// Keys:
//   <prefix>cb:{<provider>}:state  HASH state ("open"; absent = closed), failures, openedAt, retryAt (Redis ms)
//   <prefix>cb:{<provider>}:probe  STRING the token of the one caller allowed to probe, SET NX PX probeTtl
import type Redis from 'ioredis';
import { DEFAULT_PROBE_TTL_MS } from './circuit-breaker-memory';
import { iso } from './rate-limiter-common';
import { LUA_NOW, LuaScript } from './redis-client';
import type { BreakerEntry, BreakerSettings, BreakerSnapshot, BreakerState, BreakerStore, BreakerTransition } from './types';

// KEYS: state, probe. ARGV: token, probeTtlMs, cooldownMs.
// Returns {kind, failures or wait, retryAt, openedAt, now}; kind is closed | open | probe | busy (someone else probes:
// look again within 5 s, since a probe usually settles the question quickly).
const ENTER = new LuaScript(`${LUA_NOW}
local st = redis.call('HMGET', KEYS[1], 'state', 'failures', 'retryAt', 'openedAt')
if st[1] ~= 'open' then return {'closed', tonumber(st[2]) or 0, 0, 0, now} end
local retryAt = tonumber(st[3]) or 0
local openedAt = tonumber(st[4]) or 0
if now < retryAt then return {'open', 0, retryAt, openedAt, now} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {'probe', 0, retryAt, openedAt, now} end
local wait = redis.call('PTTL', KEYS[2])
if wait < 1 then wait = 1 end
return {'busy', math.min(wait, tonumber(ARGV[3]), 5000), retryAt, openedAt, now}`);

// KEYS: state, probe. ARGV: outcome (success | failure), probe token ('' when not a probe), failures to open, cooldownMs, stateTtlMs.
// Returns {from, to, retryAt, now}.
const RECORD = new LuaScript(`${LUA_NOW}
local st = redis.call('HMGET', KEYS[1], 'state', 'failures', 'retryAt')
local isOpen = st[1] == 'open'
local failures = tonumber(st[2]) or 0
local retryAt = tonumber(st[3]) or 0
local from = 'closed'
if isOpen then
  if now < retryAt then from = 'open' else from = 'half_open' end
end
local function open()
  local r = now + tonumber(ARGV[4])
  redis.call('HSET', KEYS[1], 'state', 'open', 'failures', failures, 'openedAt', now, 'retryAt', r)
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return {from, 'open', r, now}
end
if ARGV[2] ~= '' then
  if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
  if ARGV[1] == 'success' then
    redis.call('DEL', KEYS[1])
    return {from, 'closed', 0, now}
  end
  failures = failures + 1
  return open()
end
if ARGV[1] == 'success' then
  if not isOpen and failures > 0 then redis.call('HSET', KEYS[1], 'failures', 0) end
  return {from, from, retryAt, now}
end
if isOpen then return {from, from, retryAt, now} end
failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
if failures >= tonumber(ARGV[3]) then return open() end
return {from, from, 0, now}`);

const RELEASE = new LuaScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0`);

// KEYS: state. Returns {stateField, failures, retryAt, openedAt, now}.
const SNAPSHOT = new LuaScript(`${LUA_NOW}
local st = redis.call('HMGET', KEYS[1], 'state', 'failures', 'retryAt', 'openedAt')
return {st[1] or '', tonumber(st[2]) or 0, tonumber(st[3]) or 0, tonumber(st[4]) or 0, now}`);

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
