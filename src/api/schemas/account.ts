// What the account routes answer: an account without its credentials (src/db/accounts-repo.ts AccountView).
import { z } from 'zod';
import { PLATFORMS } from '../../domain/types';

export const accountView = z
  .object({
    id: z.string(),
    platform: z.enum(PLATFORMS),
    handle: z.string(),
    status: z.enum(['active', 'reauth_required', 'disabled']),
    settings: z.record(z.string(), z.unknown()),
    expiresAt: z.string().nullable().describe('when the token expires; null when it does not (or is not known)'),
    lastRefreshedAt: z.string().nullable(),
    lastError: z.string().nullable().describe('why the last refresh failed'),
    createdAt: z.string(),
  })
  .meta({ id: 'Account' });

export const accountListView = z.object({ items: z.array(accountView) }).meta({ id: 'AccountList' });

export const refreshedAccountView = accountView
  .extend({
    refreshed: z.boolean().describe('false when there was nothing to do (tokens that do not expire, or another caller refreshed first)'),
    reason: z.string().nullable().describe('why nothing was refreshed'),
  })
  .meta({ id: 'RefreshedAccount' });
