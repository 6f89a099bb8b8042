import type { AccountRepository } from '../db/accounts-repo';
import type { PipelineRequest } from '../domain/types';
import { TargetAccountError } from './errors';

/**
 * Every target's account belongs to this tenant and is of the target's platform; otherwise a TargetAccountError naming
 * the first target that is not. `at` prefixes the path when the request sits inside another body (`pipeline.` in a
 * schedule). A dry run publishes nowhere, so its accounts are not looked at.
 */
export async function checkTargetAccounts(
  accounts: Pick<AccountRepository, 'get'>,
  tenantId: string,
  request: PipelineRequest,
  at = '',
): Promise<void> {
  if (request.dryRun) return;
  for (const [i, t] of request.targets.entries()) {
    const account = await accounts.get(tenantId, t.accountId!);
    const where = `${at}targets[${i}].accountId`;
    const path = `${at}targets.${i}.accountId`;
    if (!account) throw new TargetAccountError(`${where}: no connected account ${t.accountId}`, path, 'unknown account');
    if (account.platform !== t.platform) {
      throw new TargetAccountError(`${where}: account ${t.accountId} is a ${account.platform} account, not ${t.platform}`, path, 'platform mismatch');
    }
  }
}
