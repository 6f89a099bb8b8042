// Connected accounts through the API, and API keys, which `keys create` writes to the database directly (a key is
// what the API would ask for).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import type { components, operations } from '../../client';
import { PLATFORMS } from '../../domain/types';
import { deleteAction, isoTime, pairs, type Context } from '../context';
import { isConnectionFailure, UnreachableError, UsageError } from '../errors';
import { table, type Output } from '../output';

type Account = components['schemas']['Account'];
// --platform is one of the choices, checked as it is parsed.
type AccountBody = operations['createAccount']['requestBody']['content']['application/json'];

function accountRows(out: Output, items: Account[]): string[] {
  return table([
    ['ID', 'PLATFORM', 'HANDLE', 'STATUS', 'EXPIRES', 'LAST ERROR'].map(out.dim),
    ...items.map((a) => [a.id, a.platform, a.handle, a.status === 'active' ? out.green(a.status) : out.red(a.status), a.expiresAt ?? '-', a.lastError ?? '']),
  ]);
}

export function registerAccountCommands(program: Command, ctx: Context): void {
  const accounts = program.command('accounts').summary('connected social accounts (credentials are stored encrypted and never shown)');
  const idPath = (id: string) => ({ params: { path: { id } } });

  accounts
    .command('add')
    .summary('connect an account')
    .addOption(new Option('--platform <platform>', 'its platform').choices(PLATFORMS).makeOptionMandatory())
    .requiredOption('--handle <handle>', 'its name on the platform, e.g. @herald or "#news"')
    .requiredOption('--credential <key=value>', 'a credential, repeatable (accessToken=…, refreshToken=…; url=… for slack, discord, webhook)', pairs)
    .option('--setting <key=value>', 'a setting, repeatable (instanceUrl=… for mastodon)', pairs)
    .option('--expires-at <time>', 'when its access token expires (ISO 8601)', isoTime)
    .action((flags: { platform: string; handle: string; credential: Record<string, string>; setting?: Record<string, string>; expiresAt?: string }, cmd: Command) => {
      const body = { platform: flags.platform, handle: flags.handle, credentials: flags.credential, settings: flags.setting ?? {}, ...(flags.expiresAt ? { expiresAt: flags.expiresAt } : {}) };
      return ctx.show(
        cmd,
        (api) => api.unwrap(api.client.POST('/v1/accounts', { body: body as AccountBody })),
        (out, account) => out.line(`connected ${account.platform} account ${account.handle}: ${account.id}`),
      );
    });

  accounts
    .command('list')
    .summary('connected accounts, with status and token expiry')
    .action((_flags: unknown, cmd: Command) =>
      ctx.show(cmd, (api) => api.unwrap(api.client.GET('/v1/accounts')), (out, body) => {
        if (!body.items.length) return out.line('no connected accounts');
        for (const row of accountRows(out, body.items)) out.line(row);
      }),
    );

  accounts
    .command('show <id>')
    .summary('one account')
    .action((id: string, _flags: unknown, cmd: Command) =>
      ctx.show(cmd, (api) => api.unwrap(api.client.GET('/v1/accounts/{id}', idPath(id))), (out, account) => {
        for (const row of accountRows(out, [account])) out.line(row);
        if (account.lastRefreshedAt) out.line(out.dim(`last refreshed ${account.lastRefreshedAt}`));
      }),
    );

  accounts
    .command('delete <id>')
    .summary('disconnect an account (its history stays)')
    .action(deleteAction(ctx, 'account', (api, id) => api.unwrap(api.client.DELETE('/v1/accounts/{id}', idPath(id)))));

  accounts
    .command('refresh <id>')
    .summary('refresh its access token now')
    .action((id: string, _flags: unknown, cmd: Command) =>
      ctx.show(cmd, (api) => api.unwrap(api.client.POST('/v1/accounts/{id}/refresh', idPath(id))), (out, a) =>
        out.line(`${a.id}: ${a.refreshed ? 'refreshed' : 'not refreshed'}${a.reason ? ` (${a.reason})` : ''}; expires ${a.expiresAt ?? 'never'}`),
      ),
    );

  program
    .command('keys')
    .summary('API keys')
    .command('create <tenant>')
    .summary('a new API key for a tenant, shown once and stored hashed (writes to the database: DATABASE_URL, or the one `npm start` runs)')
    .action(async (tenant: string, _flags: unknown, cmd: Command) => {
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(tenant)) throw new UsageError('tenant must be 1-64 letters, digits, _ or -');
      const key = await createKey(ctx, tenant);
      const out = ctx.output(cmd);
      if (out.json) return out.value({ tenant, key });
      out.line(`API key for tenant "${tenant}" (shown once; only its hash is stored):\n${key}`);
    });
}

async function createKey(ctx: Context, tenant: string): Promise<string> {
  const { loadConfig } = await import('../../config');
  const { createPool } = await import('../../db/pool');
  const { runMigrations } = await import('../../db/migrate');
  const { createTenantRepository } = await import('../../db/tenants-repo');
  let url = loadConfig().databaseUrl;
  if (!url) {
    // The embedded database `npm start` runs leaves its URL here while it runs (pglite.url: earlier versions, PGlite).
    for (const file of ['postgres.url', 'pglite.url']) {
      try {
        url = readFileSync(path.join(ctx.cli.dataDir, file), 'utf8').trim();
        break;
      } catch {
        // try the next
      }
    }
    if (!url) throw new UnreachableError('DATABASE_URL is not set and no embedded database is running: start `npm start` first, or set DATABASE_URL');
  }
  const pool = createPool(url, 1);
  try {
    await runMigrations(pool);
    return (await createTenantRepository(pool).createKey(tenant)).key;
  } catch (err) {
    if (isConnectionFailure(err)) throw new UnreachableError(`cannot reach the database: ${(err as Error).message}`);
    throw err;
  } finally {
    await pool.end();
  }
}
