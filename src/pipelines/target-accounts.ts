import type { AccountRepository } from '../db/accounts-repo';
import type { PipelineRequest, Platform } from '../domain/types';
import { TargetAccountError } from './errors';

export type AccountProblemCode = 'unknown_account' | 'platform_mismatch' | 'account_reauth_required' | 'account_disabled';

/** Something wrong with a target's account. */
export interface AccountProblem {
  target: number;
  platform: Platform;
  /** Dotted, from the request's root (`targets.0.accountId`). */
  path: string;
  code: AccountProblemCode;
  message: string;
  hint: string;
}

/**
 * Every problem with the request's target accounts: one this tenant has not connected (another tenant's account is
 * not there either), one of another platform, one that needs re-authorisation or is disabled. `at` prefixes paths
 * when the request sits inside another body (`pipeline.` in a schedule). A dry run publishes nowhere, so its accounts
 * are not looked at.
 */
export async function inspectTargetAccounts(
  accounts: Pick<AccountRepository, 'get'>,
  tenantId: string,
  request: Pick<PipelineRequest, 'targets' | 'dryRun'>,
  at = '',
): Promise<AccountProblem[]> {
  if (request.dryRun) return [];
  const problems: AccountProblem[] = [];
  for (const [i, t] of request.targets.entries()) {
    if (!t.accountId) continue;
    const account = await accounts.get(tenantId, t.accountId);
    const where = `${at}targets[${i}].accountId`;
    const base = { target: i, platform: t.platform, path: `${at}targets.${i}.accountId` };
    if (!account) {
      problems.push({ ...base, code: 'unknown_account', message: `${where}: no connected account ${t.accountId}`, hint: `connect a ${t.platform} account (POST /v1/accounts) and use its id` });
    } else if (account.platform !== t.platform) {
      problems.push({
        ...base,
        code: 'platform_mismatch',
        message: `${where}: account ${t.accountId} is a ${account.platform} account, not ${t.platform}`,
        hint: `use a ${t.platform} account, or set platform to ${account.platform}`,
      });
    } else if (account.status === 'reauth_required') {
      problems.push({
        ...base,
        code: 'account_reauth_required',
        message: `${where}: ${t.platform} account ${account.handle} (${t.accountId}) needs re-authorisation${account.lastError ? `: ${account.lastError}` : ''}`,
        hint: `reconnect ${t.platform} account ${account.handle} (POST /v1/accounts with new credentials) before it publishes`,
      });
    } else if (account.status === 'disabled') {
      problems.push({
        ...base,
        code: 'account_disabled',
        message: `${where}: ${t.platform} account ${account.handle} (${t.accountId}) is disabled`,
        hint: `connect ${t.platform} account ${account.handle} again, or choose another account`,
      });
    }
  }
  return problems;
}

/** The problems that stop a pipeline from being created; the others (re-authorisation) show when it publishes. */
const REFUSED: Partial<Record<AccountProblemCode, 'unknown account' | 'platform mismatch'>> = {
  unknown_account: 'unknown account',
  platform_mismatch: 'platform mismatch',
};

/**
 * Every target's account belongs to this tenant and is of the target's platform; otherwise a TargetAccountError naming
 * the first target that is not. An account that needs re-authorisation is accepted: it may be reconnected before the
 * pipeline publishes, and if not, its publication fails naming it.
 */
export async function checkTargetAccounts(
  accounts: Pick<AccountRepository, 'get'>,
  tenantId: string,
  request: Pick<PipelineRequest, 'targets' | 'dryRun'>,
  at = '',
): Promise<void> {
  const refused = (await inspectTargetAccounts(accounts, tenantId, request, at)).find((p) => REFUSED[p.code]);
  if (refused) throw new TargetAccountError(refused.message, refused.path, REFUSED[refused.code]!);
}
