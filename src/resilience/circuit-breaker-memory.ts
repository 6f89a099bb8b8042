// Breaker state in this process: used when there is no Redis, and while Redis is down.
import { iso } from './rate-limiter-common';
import type { BreakerEntry, BreakerSettings, BreakerSnapshot, BreakerState, BreakerStore, BreakerTransition } from './types';

interface State {
  open: boolean;
  failures: number;
  openedAt: number | null;
  retryAt: number | null;
  probe: { token: string; expiresAt: number } | null;
}

export const DEFAULT_PROBE_TTL_MS = 30_000;
/** While another caller probes, look again within this long: a probe usually settles the question quickly. */
export const BUSY_RETRY_MS = 5000;

export class MemoryBreakerStore implements BreakerStore {
  private readonly states = new Map<string, State>();

  constructor(private readonly now: () => number = Date.now) {}

  async enter(provider: string, settings: BreakerSettings, probeToken: string): Promise<BreakerEntry> {
    const now = this.now();
    const st = this.stateOf(provider);
    if (!st.open) return { kind: 'closed', failures: st.failures };
    const retryAt = st.retryAt ?? now;
    if (now < retryAt) return { kind: 'open', retryAt };
    if (st.probe && st.probe.expiresAt > now) {
      return { kind: 'open', retryAt: now + Math.min(st.probe.expiresAt - now, settings.cooldownMs, BUSY_RETRY_MS) };
    }
    st.probe = { token: probeToken, expiresAt: now + (settings.probeTtlMs ?? DEFAULT_PROBE_TTL_MS) };
    return { kind: 'probe', openedAt: st.openedAt };
  }

  async record(provider: string, settings: BreakerSettings, outcome: 'success' | 'failure', probeToken: string | null): Promise<BreakerTransition | null> {
    const now = this.now();
    const st = this.stateOf(provider);
    const from = this.stateName(st, now);
    const open = (): BreakerTransition => {
      st.open = true;
      st.openedAt = now;
      st.retryAt = now + settings.cooldownMs;
      return { from, to: 'open', retryAt: st.retryAt };
    };
    if (probeToken !== null) {
      if (st.probe?.token === probeToken) st.probe = null;
      if (outcome === 'success') {
        this.states.delete(provider);
        return from === 'closed' ? null : { from, to: 'closed', retryAt: null };
      }
      st.failures++;
      return open();
    }
    if (outcome === 'success') {
      if (!st.open) st.failures = 0;
      return null;
    }
    if (st.open) return null; // late failure of a call that started before the breaker opened
    st.failures++;
    return st.failures >= settings.failures ? open() : null;
  }

  async release(provider: string, probeToken: string): Promise<void> {
    const st = this.states.get(provider);
    if (st?.probe?.token === probeToken) st.probe = null;
  }

  async snapshot(provider: string): Promise<BreakerSnapshot> {
    const st = this.stateOf(provider);
    return { state: this.stateName(st, this.now()), failures: st.failures, retryAt: st.open ? iso(st.retryAt) : null, openedAt: st.open ? iso(st.openedAt) : null };
  }

  private stateName(st: State, now: number): BreakerState {
    if (!st.open) return 'closed';
    return st.retryAt !== null && now < st.retryAt ? 'open' : 'half_open';
  }

  private stateOf(provider: string): State {
    let st = this.states.get(provider);
    if (!st) {
      st = { open: false, failures: 0, openedAt: null, retryAt: null, probe: null };
      this.states.set(provider, st);
    }
    return st;
  }
}
