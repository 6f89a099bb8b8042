import { Context } from '@temporalio/activity';
import { lifecycleEventId } from '../domain/lifecycle-events';
import type { Platform } from '../domain/types';
import { ReauthRequiredError } from '../providers/errors';
import type { ActivityDeps } from './deps';
import { accountMissingFailure, toApplicationFailure } from './failures';
import { withHeartbeat } from './heartbeat';

export interface RefreshAccountArgs {
  tenantId: string;
  accountId: string;
  /** Refresh only if the credentials are still this version (someone else may have rotated them meanwhile). */
  ifVersion: number | null;
}
export interface RefreshAccountResult {
  refreshed: boolean;
  version: number;
  expiresAt: string | null;
  reason: string | null;
}

/**
 * Dead credentials (a revoked or already used refresh token): the account becomes reauth_required with the reason, and
 * the tenant's webhooks get `account.reauth_required`, once per set of credentials (a retry sees the same version; a
 * reconnect writes a new one). Shared by every refresh: the schedule, the API and a publish that meets an expired token.
 */
export async function markReauthRequired(
  { accounts, logger, webhooks }: Pick<ActivityDeps, 'accounts' | 'logger' | 'webhooks'>,
  a: { tenantId: string; accountId: string; version: number; platform: string; handle: string; reason: string },
): Promise<void> {
  await accounts.markReauthRequired(a.tenantId, a.accountId, a.reason);
  logger.warn({ accountId: a.accountId, platform: a.platform, reason: a.reason }, 'account needs to be reconnected');
  await webhooks.recordEvent({
    id: lifecycleEventId('account', a.accountId, 'reauth_required', a.version),
    tenantId: a.tenantId,
    type: 'account.reauth_required',
    occurredAt: new Date().toISOString(),
    data: {
      accountId: a.accountId,
      platform: a.platform,
      handle: a.handle,
      reason: a.reason,
      hint: `reconnect the ${a.platform} account ${a.handle}: its credentials no longer work`,
    },
  });
}

/**
 * One refresh, single-flight per account across every process (the account row is locked while the platform is
 * asked), new tokens stored before anyone uses them. Shared by the schedule, the API and publish-time refreshes.
 */
export function createRefreshAccountToken({ accounts, refreshers, guard, logger, webhooks }: Pick<ActivityDeps, 'accounts' | 'refreshers' | 'guard' | 'logger' | 'webhooks'>) {
  // Heartbeats while the row lock is awaited and the platform is asked: a killed worker's refresh is retried within seconds.
  return (args: RefreshAccountArgs): Promise<RefreshAccountResult> => withHeartbeat(() => refreshAccountToken(args));
  async function refreshAccountToken({ tenantId, accountId, ifVersion }: RefreshAccountArgs): Promise<RefreshAccountResult> {
    const current = await accounts.credentials(tenantId, accountId);
    if (!current) throw accountMissingFailure(`account ${accountId} not found`);
    const refresher = refreshers[current.account.platform as Platform];
    if (!refresher) return { refreshed: false, version: current.version, expiresAt: current.account.expiresAt, reason: `${current.account.platform} tokens do not expire` };
    try {
      const out = await accounts.refreshLocked(tenantId, accountId, ifVersion, ({ credentials }) =>
        guard.execute(current.account.platform, { signal: Context.current().cancellationSignal }, (call) => refresher.refresh(credentials, call)),
      );
      if (out.refreshed) logger.info({ accountId, platform: current.account.platform, expiresAt: out.account.expiresAt }, 'token refreshed');
      return {
        refreshed: out.refreshed,
        version: out.version,
        expiresAt: out.account.expiresAt,
        reason: out.refreshed ? null : 'already refreshed by another caller',
      };
    } catch (err) {
      if (err instanceof ReauthRequiredError) {
        await markReauthRequired({ accounts, logger, webhooks }, { tenantId, accountId, version: current.version, platform: current.account.platform, handle: current.account.handle, reason: err.message });
      } else {
        await accounts.recordRefreshFailure(tenantId, accountId, (err as Error).message).catch(() => undefined);
      }
      throw toApplicationFailure(err);
    }
  }
}

export interface ListExpiringArgs {
  aheadMs: number;
}
export function createListExpiringAccounts({ accounts, refreshers }: Pick<ActivityDeps, 'accounts' | 'refreshers'>) {
  /** Accounts whose tokens expire within the window and that a refresher can renew. */
  return (args: ListExpiringArgs) => withHeartbeat(() => listExpiringAccounts(args));
  async function listExpiringAccounts({ aheadMs }: ListExpiringArgs) {
    const due = await accounts.expiringBefore(new Date(Date.now() + aheadMs));
    const out: { tenantId: string; accountId: string; platform: string; version: number }[] = [];
    for (const a of due) {
      if (!refreshers[a.platform]) continue;
      const c = await accounts.credentials(a.tenantId, a.id);
      if (c) out.push({ tenantId: a.tenantId, accountId: a.id, platform: a.platform, version: c.version });
    }
    return out;
  }
}

export interface NoteExpiringArgs {
  /** ACCOUNT_EXPIRY_WARNING: how far ahead of an expiry the tenant is told. */
  warningMs: number;
  /** TOKEN_REFRESH_AHEAD: an account still expiring this soon after the refresh pass could not be renewed. */
  refreshAheadMs: number;
}

/**
 * `account.token_expiring` for every active account whose token expires within the warning window and that Herald
 * will not renew by itself: its platform has no refresher here, or the refresh pass just before this left it expiring
 * within TOKEN_REFRESH_AHEAD (the refresh failed). Once per account per expiry: the event id holds the expiry time, so
 * the next pass adds nothing, and a renewed token gets its own warning when it nears its own expiry.
 */
export function createNoteExpiringAccounts({ accounts, refreshers, webhooks, logger }: Pick<ActivityDeps, 'accounts' | 'refreshers' | 'webhooks' | 'logger'>) {
  return (args: NoteExpiringArgs) => withHeartbeat(() => noteExpiringAccounts(args));
  async function noteExpiringAccounts({ warningMs, refreshAheadMs }: NoteExpiringArgs): Promise<{ warned: number }> {
    const now = Date.now();
    let warned = 0;
    for (const a of await accounts.expiringBefore(new Date(now + warningMs))) {
      const renewable = refreshers[a.platform] !== undefined && Date.parse(a.expiresAt) > now + refreshAheadMs;
      if (renewable) continue;
      const account = await accounts.get(a.tenantId, a.id);
      if (!account) continue;
      const added = await webhooks.recordEvent({
        id: lifecycleEventId('account', a.id, 'expiring', a.expiresAt),
        tenantId: a.tenantId,
        type: 'account.token_expiring',
        occurredAt: new Date(now).toISOString(),
        data: {
          accountId: a.id,
          platform: a.platform,
          handle: account.handle,
          expiresAt: a.expiresAt,
          hint: `reconnect the ${a.platform} account ${account.handle} before ${a.expiresAt}: Herald cannot renew its token by itself`,
        },
      });
      if (added) {
        warned++;
        logger.info({ accountId: a.id, platform: a.platform, expiresAt: a.expiresAt }, 'account token expiring');
      }
    }
    return { warned };
  }
}
