// `npx herald ...`: a thin client of the HTTP API, plus `keys create`, which writes to the database directly.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadCliConfig } from '../config/cli';

const HELP = `Usage:
  herald run --topic "..." --platform x [--platform linkedin ...] [--dry-run] [--format post|thread|article]
             [--brief "..."] [--voice "..."] [--audience "..."] [--account <platform>=<accountId> ...]
             [--publish-at <ISO time>] [--approval] [--no-image] [--priority low|normal|high|critical]
  herald keys create <tenant>
  herald accounts add --platform slack --handle "#news" --credential url=https://hooks.slack.com/... [--setting k=v]
  herald accounts list

Environment: HERALD_API_URL (default http://127.0.0.1:3000), HERALD_API_KEY (default: the dev key of npm start).`;

const TERMINAL = new Set(['published', 'partially_published', 'failed', 'rejected', 'cancelled', 'expired']);
const color = (code: number) => (s: string) => (process.stdout.isTTY ? `\x1b[${code}m${s}\x1b[0m` : s);
const green = color(32);
const red = color(31);
const dim = color(2);
const bold = color(1);

const cli = loadCliConfig();

function apiKey(): string {
  if (cli.apiKey) return cli.apiKey;
  try {
    return readFileSync(path.join(cli.dataDir, 'dev-api-key'), 'utf8').trim();
  } catch {
    throw new Error('no API key: set HERALD_API_KEY (npm start prints a development key)');
  }
}

async function call(method: string, route: string, body?: unknown): Promise<any> {
  let res: Response;
  try {
    res = await fetch(`${cli.apiUrl}${route}`, {
      method,
      headers: { authorization: `Bearer ${apiKey()}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new Error(`cannot reach the Herald API at ${cli.apiUrl}: is \`npm start\` running?`);
  }
  const text = await res.text();
  const json = text ? JSON.parse(text) : null;
  if (!res.ok) {
    const e = json?.error;
    const details = Array.isArray(e?.details) && e.details.length ? `\n  ${e.details.map((d: any) => (d.path ? `${d.path}: ${d.message}` : JSON.stringify(d))).join('\n  ')}` : '';
    throw new Error(`${res.status} ${e?.code ?? ''}: ${e?.message ?? text}${details}`);
  }
  return json;
}

function pairs(values: string[] | undefined, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values ?? []) {
    const i = v.indexOf('=');
    if (i <= 0) throw new Error(`${what} must look like key=value (got "${v}")`);
    out[v.slice(0, i)] = v.slice(i + 1);
  }
  return out;
}

function describe(state: any): string {
  const pubs = (state.publications ?? []).map((p: any) => `${p.platform}:${p.status}`).join(' ');
  return `${bold(state.status.padEnd(20))} ${dim(pubs)}`;
}

/** Follows the pipeline's event stream and prints each change; resolves with the final state. */
async function follow(id: string): Promise<any> {
  const res = await fetch(`${cli.apiUrl}/v1/pipelines/${id}/events`, { headers: { authorization: `Bearer ${apiKey()}` } });
  if (!res.ok || !res.body) throw new Error(`could not follow pipeline ${id}: HTTP ${res.status}`);
  const decoder = new TextDecoder();
  let buffer = '';
  let last: any = null;
  let lastLine = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let sep: number;
    while ((sep = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, sep);
      buffer = buffer.slice(sep + 2);
      const data = event.split('\n').find((l) => l.startsWith('data: '));
      if (!data) continue;
      last = JSON.parse(data.slice(6));
      const line = describe(last);
      if (line !== lastLine) {
        console.log(`${dim(new Date().toISOString().slice(11, 19))}  ${line}`);
        lastLine = line;
      }
      if (last.status === 'awaiting_approval') console.log(dim(`           approve with: curl -X POST -H "authorization: Bearer …" ${cli.apiUrl}/v1/pipelines/${id}/approve -d '{}' -H 'content-type: application/json'`));
    }
  }
  return last;
}

function printResult(state: any) {
  console.log('');
  if (state.content) console.log(`${bold(state.content.title)}  ${dim(`(${state.content.provider}/${state.content.model})`)}`);
  for (const img of state.images ?? []) console.log(dim(`image: ${cli.apiUrl}${img.url} (${img.source}${img.fallbackReason ? `; ${img.fallbackReason}` : ''})`));
  for (const v of state.variants ?? []) {
    console.log('');
    console.log(bold(`── ${v.platform} ── ${v.parts.length} part(s), longest ${v.length}/${v.limit}${v.adaptations.length ? ` · ${v.adaptations.join('; ')}` : ''}`));
    v.parts.forEach((p: string, i: number) => console.log(`${dim(`[${i + 1}]`)} ${p}\n`));
  }
  console.log(bold('Publications'));
  for (const p of state.publications ?? []) {
    const ok = p.status === 'published' || p.status === 'previewed';
    const where = p.url ?? p.externalId ?? (p.preview ? `${p.preview.length} request(s) stored` : '');
    console.log(`  ${(ok ? green : red)(p.status.padEnd(10))} ${p.platform.padEnd(10)} ${where}${p.error ? red(`  ${p.error}`) : ''}`);
  }
  if (state.error) console.log(red(`\n${state.error.code}: ${state.error.message}`));
  console.log(dim(`\nTemporal: ${state.links?.temporal ?? ''}`));
}

async function run(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      topic: { type: 'string' },
      brief: { type: 'string' },
      voice: { type: 'string' },
      audience: { type: 'string' },
      format: { type: 'string', default: 'post' },
      platform: { type: 'string', multiple: true },
      account: { type: 'string', multiple: true },
      'dry-run': { type: 'boolean', default: false },
      'publish-at': { type: 'string' },
      approval: { type: 'boolean', default: false },
      'no-image': { type: 'boolean', default: false },
      priority: { type: 'string', default: 'normal' },
    },
  });
  if (!values.topic) throw new Error('--topic is required');
  if (!values.platform?.length) throw new Error('at least one --platform is required');
  const accounts = pairs(values.account, '--account');
  const request = {
    topic: values.topic,
    brief: values.brief,
    voice: values.voice,
    audience: values.audience,
    format: values.format,
    targets: values.platform.map((platform) => ({ platform, ...(accounts[platform] ? { accountId: accounts[platform] } : {}) })),
    image: { mode: values['no-image'] ? 'none' : 'auto' },
    publishAt: values['publish-at'],
    approval: values.approval ? { required: true } : undefined,
    priority: values.priority,
    dryRun: values['dry-run'],
  };
  const created = await call('POST', '/v1/pipelines', request);
  console.log(`${bold('pipeline')} ${created.id}  ${dim(created.links.temporal)}`);
  let state = await follow(created.id);
  if (!state || !TERMINAL.has(state.status)) state = await call('GET', `/v1/pipelines/${created.id}`);
  printResult(state);
  process.exitCode = state.status === 'published' ? 0 : 1;
}

async function keys(argv: string[]) {
  const [sub, tenant] = argv;
  if (sub !== 'create' || !tenant) throw new Error('usage: herald keys create <tenant>');
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(tenant)) throw new Error('tenant must be 1-64 letters, digits, _ or -');
  const { loadConfig } = await import('../config');
  const { createPool } = await import('../db/pool');
  const { runMigrations } = await import('../db/migrate');
  const { createTenantRepository } = await import('../db/tenants-repo');
  const config = loadConfig();
  let url = config.databaseUrl;
  if (!url) {
    // The embedded database `npm start` runs leaves its URL here while it runs (pglite.url: earlier versions, PGlite).
    for (const file of ['postgres.url', 'pglite.url']) {
      try {
        url = readFileSync(path.join(cli.dataDir, file), 'utf8').trim();
        break;
      } catch {
        // try the next
      }
    }
    if (!url) throw new Error('DATABASE_URL is not set and no embedded database is running: start `npm start` first, or set DATABASE_URL');
  }
  const pool = createPool(url, 1);
  try {
    await runMigrations(pool);
    const { key } = await createTenantRepository(pool).createKey(tenant);
    console.log(`API key for tenant "${tenant}" (shown once; only its hash is stored):\n${key}`);
  } finally {
    await pool.end();
  }
}

async function accountsCmd(argv: string[]) {
  const [sub, ...rest] = argv;
  if (sub === 'list') {
    const { items } = await call('GET', '/v1/accounts');
    if (!items.length) console.log('no connected accounts');
    for (const a of items) console.log(`${a.id}  ${a.platform.padEnd(10)} ${a.handle.padEnd(24)} ${a.status}${a.expiresAt ? `  expires ${a.expiresAt}` : ''}${a.lastError ? `  ${a.lastError}` : ''}`);
    return;
  }
  if (sub === 'add') {
    const { values } = parseArgs({
      args: rest,
      options: { platform: { type: 'string' }, handle: { type: 'string' }, credential: { type: 'string', multiple: true }, setting: { type: 'string', multiple: true } },
    });
    const account = await call('POST', '/v1/accounts', {
      platform: values.platform,
      handle: values.handle,
      credentials: pairs(values.credential, '--credential'),
      settings: pairs(values.setting, '--setting'),
    });
    console.log(`connected ${account.platform} account ${account.handle}: ${account.id}`);
    return;
  }
  throw new Error('usage: herald accounts add|list');
}

async function main() {
  const [command, ...rest] = process.argv.slice(2);
  if (command === 'run') return run(rest);
  if (command === 'keys') return keys(rest);
  if (command === 'accounts') return accountsCmd(rest);
  console.log(HELP);
  if (command && command !== 'help' && command !== '--help') process.exitCode = 2;
}

main().catch((err: Error) => {
  console.error(red(`herald: ${err.message}`));
  process.exitCode = 1;
});
