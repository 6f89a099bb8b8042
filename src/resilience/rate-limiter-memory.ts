// Sliding-window logs in this process's memory: used when there is no Redis, and while Redis is down.
import {
  exhaustedReason,
  exhaustedUntil,
  iso,
  maxSpan,
  normaliseCost,
  parseReservation,
  randomSuffix,
  refusalReason,
  reportedWindows,
  lateAllowance,
  reservedReason,
  ticketLeaseMs,
  ticketOf, slotGap } from './rate-limiter-common';
import { formatWindow, type AcquireCost, type AcquireResult, type LimitKind, type LimiterSnapshot, type LimitWindow, type ProviderLimits, type RateLimiter, type RateInfo } from './types';

/** One grant: `requests` and `tokens` it counts for, at `at` (ms on the limiter's clock). */
export interface LogEntry {
  id: string;
  at: number;
  requests: number;
  tokens: number;
  /** Set on a slot reserved for a ticket and not yet claimed: its place in line (smaller is earlier). */
  seq?: number;
}

/**
 * A slot reserved for a ticket: its entry is in the log at `at`; `seq` is its place in line. The slot is its holder's
 * from `at` until `expiresAt` (the lease, limiter clock), then freed.
 */
export interface TicketEntry {
  ticket: string;
  at: number;
  reservation: string;
  expiresAt: number;
  seq: number;
}

interface ProviderState {
  /** Sorted by `at`. Entries after now are reserved slots. */
  log: LogEntry[];
  block: { until: number; reason: string } | null;
  reported: RateInfo | null;
  /** Reserved slots by ticket. */
  tickets: Map<string, TicketEntry>;
}

export interface MemoryRateLimiterOptions {
  limitsFor: (provider: string) => ProviderLimits;
  marginMs: number;
  /** Space reserved slots at the limit's pace (see slotGap). */
  spacing?: boolean;
  /** The clock windows are measured on (the Redis clock estimate while falling back). */
  now?: () => number;
}

export class MemoryRateLimiter implements RateLimiter {
  private readonly state = new Map<string, ProviderState>();
  private readonly now: () => number;
  /** Places in line, in the order slots were reserved. */
  private seq = 0;

  constructor(private readonly opts: MemoryRateLimiterOptions) {
    this.now = opts.now ?? Date.now;
  }

  async acquire(provider: string, cost: AcquireCost): Promise<AcquireResult> {
    const now = this.now();
    const st = this.stateOf(provider, now);
    const limits = this.opts.limitsFor(provider);
    const t = ticketOf(cost);
    const held = t ? st.tickets.get(t.ticket) : undefined;
    // Blocked (a 429 or a report of 0 remaining): a slot already held is kept (its lease runs from the block's end at
    // the earliest) and told whichever comes later; a new ticket reserves its own slot after the block, so a crowd of
    // waiters does not stampede when it lifts.
    let floor = 0;
    if (st.block && st.block.until > now) {
      if (held) {
        held.expiresAt = Math.max(held.expiresAt, st.block.until + ticketLeaseMs(limits));
        return { ok: false, retryAfterMs: Math.max(st.block.until, held.at) - now, reason: st.block.reason };
      }
      if (!t) return { ok: false, retryAfterMs: st.block.until - now, reason: st.block.reason };
      floor = st.block.until;
    }
    if (t && held) return this.claim(provider, st, limits, held, cost, now);
    const { requests, tokens } = normaliseCost(cost);
    let worst: { wait: number; reason: string } | null = null;
    const consider = (kind: LimitKind, w: LimitWindow, want: number) => {
      const r = this.check(st.log, kind, w, want, now);
      if (r && (!worst || r.wait > worst.wait)) worst = { wait: r.wait, reason: refusalReason(provider, kind, w, r.used, r.need) };
    };
    if (requests > 0) for (const w of limits.requests) consider('requests', w, requests);
    // Paced (see slotGap): at most one call per gap, so a window fills evenly instead of in one burst.
    const pace = slotGap(limits, this.opts.spacing ?? false);
    if (pace > 0 && requests > 0) {
      const latest = [...st.log].reverse().find((e) => e.requests > 0);
      if (latest && latest.at + pace > now) {
        const wait = latest.at + pace - now;
        if (!worst || wait > (worst as { wait: number }).wait) worst = { wait, reason: `${provider}: paced at one request every ${pace} ms` };
      }
    }
    // With no estimate a call still needs one token left.
    for (const w of limits.tokens) consider('tokens', w, Math.max(tokens, 1));
    if (floor > 0 && !worst) worst = { wait: floor - now, reason: st.block!.reason };
    if (worst) {
      const { wait, reason } = worst as { wait: number; reason: string };
      if (!t) return { ok: false, retryAfterMs: wait, reason };
      // A new ticket joins the back of the line: after every logged entry, reserved slots included.
      const at = Math.max(now + 1, floor, this.earliestAppend(st.log, limits, requests, tokens, now));
      // Too far ahead: refuse without reserving; retryAfterMs (> maxWaitMs) says when the slot would have been.
      if (at - now > t.maxWaitMs) return { ok: false, retryAfterMs: at - now, reason };
      const seq = ++this.seq;
      const id = `${at}-${randomSuffix()}`;
      const reservation = `${id}|${tokens}`;
      this.insert(st.log, { id, at, requests, tokens, seq });
      st.tickets.set(t.ticket, { ticket: t.ticket, at, reservation, seq, expiresAt: at + ticketLeaseMs(limits) });
      return { ok: false, retryAfterMs: at - now, reason: reservedReason(provider, this.toLocal(at, now)) };
    }
    const id = `${now}-${randomSuffix()}`;
    this.insert(st.log, { id, at: now, requests, tokens });
    return { ok: true, reservation: `${id}|${tokens}` };
  }

  /**
   * The holder of a reserved slot is back. Early: the same slot, with the time left. From the slot's time on (until its
   * lease runs out, however late): admitted in its place in line. It must fit every window counting what was really
   * granted plus the slots of holders ahead of it in line (due ones not back yet, and ones moved to a new slot); slots
   * behind it do not hold it back. The call is logged when it really happens, or up to half the margin earlier
   * (LATE_ALLOWANCE): holders that come back a few milliseconds apart in another order than their slots' do not cost
   * each other a round trip, and real calls still stay a window + half the margin apart. When it does not fit (a holder
   * ahead of it came back later still, or its lateness crowded a window), it keeps its place with a new slot at the
   * moment it fits, ahead of everyone behind it.
   */
  private claim(provider: string, st: ProviderState, limits: ProviderLimits, held: TicketEntry, cost: AcquireCost, now: number): AcquireResult {
    if (held.at > now) return { ok: false, retryAfterMs: held.at - now, reason: reservedReason(provider, this.toLocal(held.at, now)) };
    this.removeEntry(st.log, held.reservation);
    const { requests, tokens } = normaliseCost(cost);
    // Granted calls, and slots of holders ahead in line: not the line behind.
    const counted = st.log.filter((e) => e.seq === undefined || e.seq < held.seq);
    const from = Math.max(held.at, now - lateAllowance(this.opts.marginMs));
    let wait = 0;
    const consider = (kind: LimitKind, w: LimitWindow, want: number) => {
      const r = this.check(counted, kind, w, want, from);
      if (r && r.wait > wait) wait = r.wait;
    };
    if (requests > 0) for (const w of limits.requests) consider('requests', w, requests);
    for (const w of limits.tokens) consider('tokens', w, Math.max(tokens, 1));
    const at = from + wait;
    const id = `${at}-${randomSuffix()}`;
    if (at <= now) {
      st.tickets.delete(held.ticket);
      this.insert(st.log, { id, at, requests, tokens });
      return { ok: true, reservation: `${id}|${tokens}` };
    }
    this.insert(st.log, { id, at, requests, tokens, seq: held.seq });
    held.at = at;
    held.reservation = `${id}|${tokens}`;
    held.expiresAt = Math.max(held.expiresAt, at + ticketLeaseMs(limits));
    return { ok: false, retryAfterMs: at - now, reason: reservedReason(provider, this.toLocal(at, now)) };
  }

  async settle(provider: string, reservation: string, actualTokens: number): Promise<void> {
    const r = parseReservation(reservation);
    if (!r || !Number.isFinite(actualTokens)) return;
    const now = this.now();
    const st = this.stateOf(provider, now);
    const entry = st.log.find((e) => e.id === r.id);
    const tokens = Math.max(0, Math.ceil(actualTokens));
    if (entry) entry.tokens = tokens;
    else if (tokens > 0 && r.at > now - maxSpan(this.opts.limitsFor(provider), this.opts.marginMs)) {
      this.insert(st.log, { id: r.id, at: r.at, requests: 0, tokens });
    }
  }

  async learn(provider: string, info: RateInfo): Promise<void> {
    const st = this.stateOf(provider, this.now());
    st.reported = { windows: [...(info.windows ?? [])] };
    const ex = exhaustedUntil(info, Date.now(), this.opts.limitsFor(provider));
    if (ex) this.block(st, ex.until, exhaustedReason(provider, ex.kind, ex.until));
  }

  async blockUntil(provider: string, epochMs: number, reason: string): Promise<void> {
    this.block(this.stateOf(provider, this.now()), epochMs, reason);
  }

  async snapshot(provider: string): Promise<LimiterSnapshot> {
    const now = this.now();
    const st = this.stateOf(provider, now);
    const limits = this.opts.limitsFor(provider);
    const rows = (kind: LimitKind, windows: LimitWindow[]) =>
      windows.map((w) => {
        const span = w.windowMs + this.opts.marginMs;
        const inWindow = st.log.filter((e) => e.at > now - span && e[kind] > 0);
        const used = inWindow.reduce((s, e) => s + e[kind], 0);
        return {
          kind,
          limit: w.count,
          used,
          remaining: Math.max(0, w.count - used),
          resetAt: inWindow.length ? iso(inWindow[0].at + span) : null,
          window: formatWindow(w.windowMs),
          source: 'configured' as const,
        };
      });
    const blocked = st.block && st.block.until > now ? st.block : null;
    return {
      windows: [...rows('requests', limits.requests), ...rows('tokens', limits.tokens), ...reportedWindows(st.reported)],
      blockedUntil: blocked ? iso(blocked.until) : null,
      blockedReason: blocked?.reason ?? null,
    };
  }

  // --- used by the Redis fallback to keep this copy in step and to hand it back to Redis ---

  /** Records a grant that Redis made, so a later fallback still knows this process's own usage. */
  record(provider: string, reservation: string, cost: AcquireCost): void {
    const r = parseReservation(reservation);
    if (!r) return;
    const st = this.stateOf(provider, this.now());
    if (st.log.some((e) => e.id === r.id)) return;
    this.insert(st.log, { id: r.id, at: r.at, requests: normaliseCost(cost).requests, tokens: r.tokens });
  }

  /**
   * Records a slot Redis reserved for a ticket, so a fallback still honours it. Entry and reservation are on the
   * Redis clock, like this copy's.
   */
  recordReservation(provider: string, ticket: string, reservation: string, cost: AcquireCost): void {
    const r = parseReservation(reservation);
    if (!r || !ticket) return;
    const st = this.stateOf(provider, this.now());
    const old = st.tickets.get(ticket);
    if (old?.reservation === reservation) return;
    if (old) this.removeEntry(st.log, old.reservation);
    const seq = old?.seq ?? ++this.seq;
    if (!st.log.some((e) => e.id === r.id)) this.insert(st.log, { id: r.id, at: r.at, requests: normaliseCost(cost).requests, tokens: r.tokens, seq });
    const expiresAt = Math.max(old?.expiresAt ?? 0, r.at + ticketLeaseMs(this.opts.limitsFor(provider)));
    st.tickets.set(ticket, { ticket, at: r.at, reservation, seq, expiresAt });
  }

  /** A ticket Redis granted is used up here too: its reserved slot leaves the copy (the grant is recorded apart). */
  forgetTicket(provider: string, ticket: string): void {
    const st = this.state.get(provider);
    const held = st?.tickets.get(ticket);
    if (!st || !held) return;
    st.tickets.delete(ticket);
    this.removeEntry(st.log, held.reservation);
  }

  providers(): string[] {
    return [...this.state.keys()];
  }

  /** This process's log entries (reserved slots included), block and tickets, on the limiter's clock. */
  exportState(provider: string): { entries: LogEntry[]; block: { until: number; reason: string } | null; tickets: TicketEntry[] } {
    const now = this.now();
    const st = this.stateOf(provider, now);
    return {
      entries: st.log.map((e) => ({ ...e })),
      block: st.block && st.block.until > now ? { ...st.block } : null,
      tickets: [...st.tickets.values()].sort((a, b) => a.seq - b.seq).map((x) => ({ ...x })),
    };
  }

  /** epochMs on this process's clock, turned into the limiter's clock. */
  private block(st: ProviderState, epochMs: number, reason: string): void {
    const until = epochMs - Date.now() + this.now();
    if (!st.block || st.block.until < until) st.block = { until, reason };
  }

  private check(log: LogEntry[], kind: LimitKind, w: LimitWindow, want: number, now: number): { wait: number; used: number; need: number } | null {
    const span = w.windowMs + this.opts.marginMs;
    const inWindow = log.filter((e) => e.at > now - span && e[kind] > 0);
    const used = inWindow.reduce((s, e) => s + e[kind], 0);
    const need = Math.min(want, w.count); // a call bigger than the window waits for the whole window, not forever
    if (used + need <= w.count) return null;
    const excess = used + need - w.count;
    let freed = 0;
    for (const e of inWindow) {
      freed += e[kind];
      if (freed >= excess) return { wait: Math.max(1, e.at + span - now), used, need };
    }
    return { wait: span, used, need }; // not reached: the whole window frees `used`
  }

  /**
   * The earliest time at or after every logged entry (reservations stay in order, so no later window can break) at which
   * `requests` and `tokens` fit every window: for each window, the entry at which the newest entries' sum would exceed
   * what the call leaves room for must have left it.
   */
  private earliestAppend(log: LogEntry[], limits: ProviderLimits, requests: number, tokens: number, now: number): number {
    const counts = (e: LogEntry) => (limits.requests.length > 0 && e.requests > 0) || (limits.tokens.length > 0 && e.tokens > 0);
    let at = now;
    const gap = slotGap(limits, this.opts.spacing ?? false);
    for (let i = log.length - 1; i >= 0; i--) {
      if (counts(log[i])) {
        at = Math.max(at, log[i].at);
        if (log[i].requests > 0 && log[i].at + gap > now) at = Math.max(at, log[i].at + gap);
        break;
      }
    }
    const fit = (kind: LimitKind, w: LimitWindow, want: number) => {
      const budget = w.count - Math.min(want, w.count);
      let sum = 0;
      for (let i = log.length - 1; i >= 0; i--) {
        sum += log[i][kind];
        if (sum > budget) {
          at = Math.max(at, log[i].at + w.windowMs + this.opts.marginMs);
          return;
        }
      }
    };
    if (requests > 0) for (const w of limits.requests) fit('requests', w, requests);
    for (const w of limits.tokens) fit('tokens', w, Math.max(tokens, 1));
    return at;
  }

  /** A time on the limiter's clock as this process's wall clock (they differ while falling back from Redis). */
  private toLocal(at: number, now: number): number {
    return at - now + Date.now();
  }

  private stateOf(provider: string, now: number): ProviderState {
    let st = this.state.get(provider);
    if (!st) {
      st = { log: [], block: null, reported: null, tickets: new Map() };
      this.state.set(provider, st);
    }
    // Kept a little longer than the longest window: a late holder's call may be logged up to lateAllowance back.
    const keep = maxSpan(this.opts.limitsFor(provider), this.opts.marginMs) + lateAllowance(this.opts.marginMs);
    let drop = 0;
    while (drop < st.log.length && st.log[drop].at <= now - keep) drop++;
    if (drop) st.log.splice(0, drop);
    // An expired lease frees its slot, so a holder that never comes back does not clog the line.
    for (const [ticket, x] of st.tickets) {
      if (x.expiresAt > now) continue;
      st.tickets.delete(ticket);
      this.removeEntry(st.log, x.reservation);
    }
    return st;
  }

  /** Takes a reserved slot's entry out of the log (reservation "<id>|<tokens>"). */
  private removeEntry(log: LogEntry[], reservation: string): void {
    const id = parseReservation(reservation)?.id;
    const i = id === undefined ? -1 : log.findIndex((e) => e.id === id);
    if (i >= 0) log.splice(i, 1);
  }

  private insert(log: LogEntry[], entry: LogEntry): void {
    let i = log.length;
    while (i > 0 && log[i - 1].at > entry.at) i--;
    log.splice(i, 0, entry);
  }
}
