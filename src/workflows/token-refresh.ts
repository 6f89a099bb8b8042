import { patched, proxyActivities, sleep } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { ErrorType } from '../domain/error-types';
import { describeFailure } from './util';

// Both heartbeat every 2 s: a worker killed mid-call is noticed within 8 s and the call retried elsewhere.
const { listExpiringAccounts, noteExpiringAccounts } = proxyActivities<Activities>({ startToCloseTimeout: '1 minute', heartbeatTimeout: '8 seconds', retry: { maximumInterval: '30 seconds' } });
const { refreshAccountToken } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '8 seconds',
  retry: {
    initialInterval: '5s',
    maximumInterval: '2 minutes',
    maximumAttempts: 5,
    nonRetryableErrorTypes: [ErrorType.ReauthRequired, ErrorType.AccountMissing, ErrorType.Permanent],
  },
});

export interface RefreshExpiringInput {
  aheadMs: number;
  /** At most this many refreshes at once. */
  concurrency?: number;
  /** Refreshes are spread over this long, so a hundred accounts do not hit one token endpoint in the same second. */
  spreadMs?: number;
  /** ACCOUNT_EXPIRY_WARNING: after the refreshes, `account.token_expiring` for tokens Herald cannot renew. */
  warningMs?: number;
}
export interface RefreshOutcome {
  accountId: string;
  platform: string;
  refreshed: boolean;
  error: string | null;
}

/** A stable spread from the account id: deterministic, so replays agree, and no Math.random in workflow code. */
function spreadOf(id: string, spreadMs: number): number {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
  return spreadMs > 0 ? h % spreadMs : 0;
}

/** Run by the token-refresh Schedule: renews every account expiring within `aheadMs`. */
export async function refreshExpiringTokens({ aheadMs, concurrency = 4, spreadMs = 30_000, warningMs }: RefreshExpiringInput): Promise<RefreshOutcome[]> {
  const due = await listExpiringAccounts({ aheadMs });
  const outcomes: RefreshOutcome[] = [];
  let next = 0;
  async function lane(): Promise<void> {
    while (next < due.length) {
      const a = due[next++];
      const wait = spreadOf(a.accountId, spreadMs);
      if (wait > 0) await sleep(wait);
      try {
        const r = await refreshAccountToken({ tenantId: a.tenantId, accountId: a.accountId, ifVersion: a.version });
        outcomes.push({ accountId: a.accountId, platform: a.platform, refreshed: r.refreshed, error: null });
      } catch (err) {
        const f = describeFailure(err);
        outcomes.push({ accountId: a.accountId, platform: a.platform, refreshed: false, error: `${f.code}: ${f.message}` });
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, due.length) }, () => lane()));
  // After the refreshes, so an account renewed just now is not warned about.
  if (warningMs !== undefined && patched('account-expiry-warnings')) await noteExpiringAccounts({ warningMs, refreshAheadMs: aheadMs });
  return outcomes;
}

/** One account, now (the API's refresh route). Its workflow id makes concurrent requests share one refresh. */
export async function refreshAccountNow({ tenantId, accountId }: { tenantId: string; accountId: string }) {
  return refreshAccountToken({ tenantId, accountId, ifVersion: null });
}
