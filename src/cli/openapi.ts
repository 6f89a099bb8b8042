// `npm run openapi`: writes the OpenAPI document the API serves at /openapi.json to docs/openapi.json, so the contract
// can be read (and reviewed in a diff) without running Herald. `npm run openapi -- --check` only compares, exit 1 on a
// difference. The app is built in this process and asked over inject(); nothing connects to PostgreSQL, Temporal or
// Redis: the routes describe themselves at registration and reach their dependencies only when a request is handled.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { buildApp } from '../api/app';
import type { ApiDeps } from '../api/deps';
import { loadConfig } from '../config';

export const OPENAPI_PATH = path.resolve(__dirname, '../../docs/openapi.json');

/** A dependency the document does not need: any call to it says so instead of doing I/O. */
function unused(name: string): any {
  const fail = () => {
    throw new Error(`${name} is not available while generating the OpenAPI document`);
  };
  return new Proxy(fail, {
    get: (_target, prop) => (prop === 'then' || typeof prop === 'symbol' ? undefined : unused(`${name}.${String(prop)}`)),
    apply: fail,
    construct: fail,
  });
}

export async function servedOpenApiDocument(): Promise<unknown> {
  const deps = new Proxy(
    { config: loadConfig({}), logger: pino({ level: 'silent' }), metrics: new Registry() } as Partial<ApiDeps>,
    { get: (target, prop) => (prop in target ? target[prop as keyof ApiDeps] : unused(`deps.${String(prop)}`)) },
  ) as ApiDeps;
  const app = await buildApp(deps);
  try {
    const res = await app.inject({ method: 'GET', url: '/openapi.json' });
    if (res.statusCode !== 200) throw new Error(`GET /openapi.json answered ${res.statusCode}: ${res.body}`);
    return res.json();
  } finally {
    await app.close();
  }
}

export function formatDocument(doc: unknown): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

async function main() {
  const text = formatDocument(await servedOpenApiDocument());
  const relative = path.relative(process.cwd(), OPENAPI_PATH);
  if (process.argv.includes('--check')) {
    let committed = '';
    try {
      committed = readFileSync(OPENAPI_PATH, 'utf8');
    } catch {
      // No file yet: reported as a difference below.
    }
    if (committed !== text) {
      console.error(`${relative} differs from what the API serves: run \`npm run openapi\` and commit it`);
      process.exit(1);
    }
    console.log(`${relative} matches the API`);
    return;
  }
  writeFileSync(OPENAPI_PATH, text);
  console.log(`wrote ${relative}`);
}

if (require.main === module) {
  main().catch((err: Error) => {
    console.error(err.stack ?? err.message);
    process.exit(1);
  });
}
