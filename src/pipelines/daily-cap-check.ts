// Whether a request's publish time finds room under each target account's daily caps, and where the next room is:
// one check for POST /v1/pipelines (refuse or move) and POST /v1/validate (report).
import type { CapAccount } from '../db/caps-repo';
import type { PipelineRequest, Platform } from '../domain/types';
import type { ProviderLimits } from '../resilience/types';
import { capsFor, describeCap, fitsAt, fullCap, nextFreeTime, type DailyCap } from './daily-caps';

/** When an account's publications happen (epoch ms, ascending) from `sinceMs` on; see src/db/caps-repo.ts. */
export type TimesOf = (account: CapAccount, sinceMs: number) => Promise<number[]>;

export interface CapProblem {
  target: number;
  platform: Platform;
  path: 'publishAt';
  code: 'daily_cap_full';
  message: string;
  hint: string;
  accountId: string;
  cap: { count: number; window: string };
  /** The first time from publishAt on when every target has room (null: none within reach). */
  nextFreeAt: string | null;
}

export interface CapCheck {
  problems: CapProblem[];
  /** publishAt itself when there is room, else the first time every target has room; null without a publish time. */
  nextFreeAt: string | null;
}

interface CappedTarget {
  index: number;
  account: CapAccount;
  caps: DailyCap[];
  times: number[];
}

/** The targets whose accounts have caps that a publish time can fill: scheduled, not a dry run, with an account. */
export function cappedAccounts(request: Pick<PipelineRequest, 'targets' | 'dryRun' | 'publishAt'>, limits: Record<string, ProviderLimits>): { index: number; account: CapAccount; caps: DailyCap[] }[] {
  if (!request.publishAt || request.dryRun) return [];
  return request.targets.flatMap((t, index) => {
    const caps = capsFor(t.platform, limits);
    return t.accountId && caps.length ? [{ index, account: { platform: t.platform, accountId: t.accountId }, caps }] : [];
  });
}

/** The first time at or after `t` at which every target has room (each target's next free time, until they agree). */
function jointNextFree(targets: CappedTarget[], t: number): number | null {
  let at = t;
  // Each round moves `at` to a later candidate of some target; the candidates are finite, so this ends.
  for (let round = 0; round <= targets.reduce((n, c) => n + c.times.length * c.caps.length, 1); round++) {
    let latest = at;
    for (const c of targets) {
      const next = nextFreeTime(c.times, at, c.caps);
      if (next === null) return null;
      latest = Math.max(latest, next);
    }
    if (latest === at) return at;
    at = latest;
  }
  return null;
}

/** Checks the request's publishAt against every capped target account, reading their publication times through `timesOf`. */
export async function checkDailyCaps(timesOf: TimesOf, request: Pick<PipelineRequest, 'targets' | 'dryRun' | 'publishAt'>, limits: Record<string, ProviderLimits>): Promise<CapCheck> {
  const capped = cappedAccounts(request, limits);
  if (!capped.length) return { problems: [], nextFreeAt: request.publishAt ?? null };
  const t = Date.parse(request.publishAt!);
  const targets: CappedTarget[] = [];
  for (const c of capped) {
    const widest = Math.max(...c.caps.map((cap) => cap.windowMs));
    targets.push({ ...c, times: await timesOf(c.account, t - widest) });
  }
  const next = jointNextFree(targets, t);
  const nextFreeAt = next === null ? null : new Date(next).toISOString();
  const problems: CapProblem[] = [];
  for (const c of targets) {
    if (fitsAt(c.times, t, c.caps)) continue;
    const cap = fullCap(c.times, t, c.caps)!;
    const { platform, accountId } = c.account;
    problems.push({
      target: c.index,
      platform,
      path: 'publishAt',
      code: 'daily_cap_full',
      accountId,
      cap: { count: cap.count, window: describeCap(cap).replace(/^\d+ per /, '') },
      message: `${platform} account ${accountId} is full at ${new Date(t).toISOString()}: its cap is ${describeCap(cap)}, and that many are already published or scheduled in a window containing that time`,
      hint: nextFreeAt
        ? `the next free time is ${nextFreeAt}: publish then, or send "whenFull": "next_slot" to move there`
        : `no time within reach has room for ${platform} account ${accountId}; raise RATE_LIMIT_${platform.toUpperCase()} if the platform allows more`,
      nextFreeAt,
    });
  }
  return { problems, nextFreeAt };
}
