// docs/openapi.json is the contract people read without running Herald, and src/client/schema.ts is what the typed
// client is built on: both must be exactly what a running API serves, and the document must describe every route the
// API registers (and nothing else), each with an operation id and a typed success answer.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { CLIENT_SCHEMA_PATH } from '../../../src/cli/openapi';
import { startHarness, type Harness } from '../../helpers/harness';

const ROOT = path.resolve(__dirname, '../../..');
const COMMITTED = path.join(ROOT, 'docs/openapi.json');

interface Operation {
  operationId?: string;
  tags?: string[];
  summary?: string;
  security?: unknown[];
  responses?: Record<string, { content?: Record<string, { schema?: Record<string, unknown> }> }>;
}
type Document = {
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, unknown> };
  servers?: unknown[];
  tags?: { name: string; description?: string }[];
};

/** "METHOD /path/{param}" for every route the app registered, read from Fastify's own route tree. */
function registeredRoutes(app: FastifyInstance): string[] {
  const routes: string[] = [];
  const parents: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^((?:│ {3}| {4})*)(?:├── |└── )(.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    parents.length = m[1].length / 4;
    const route = parents.join('') + m[2];
    parents.push(m[2]);
    for (const method of m[3]?.split(', ') ?? []) routes.push(`${method} ${route.replace(/:(\w+)/g, '{$1}')}`);
  }
  return routes;
}

/**
 * HEAD routes Fastify adds for every GET, the document's own routes (the JSON and the /docs page) and the web
 * console's page and assets (GET / and /console/<file>): pages for browsers, not API.
 */
const notDocumented = (route: string) => route.startsWith('HEAD ') || /^GET \/(docs|openapi\.json|console)(\/|$)/.test(route) || route === 'GET /';

let h: Harness;
let served: Document;
beforeAll(async () => {
  h = await startHarness({ withWorker: false });
  const res = await h.api('GET', '/openapi.json', undefined, { key: null });
  expect(res.status).toBe(200);
  served = res.body;
});
afterAll(async () => {
  await h?.stop();
});

const operations = () =>
  Object.entries(served.paths).flatMap(([route, methods]) => Object.entries(methods).map(([method, op]) => ({ name: `${method.toUpperCase()} ${route}`, op })));

it('docs/openapi.json is the document the running API serves at /openapi.json (else: npm run openapi)', () => {
  expect(JSON.parse(readFileSync(COMMITTED, 'utf8'))).toEqual(served);
});

it('src/client/schema.ts is what openapi-typescript makes of the served document (else: npm run openapi)', () => {
  // In a child process: openapi-typescript loads ESM-only modules, which Jest's CommonJS sandbox cannot.
  const check = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/openapi.ts', '--check'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  expect({ status: check.status, stderr: check.stderr }).toEqual({ status: 0, stderr: '' });
  expect(check.stdout).toContain(path.relative(ROOT, CLIENT_SCHEMA_PATH));
});

it('documents every route the API registers, and no route it does not', () => {
  const registered = registeredRoutes(h.app).filter((r) => !notDocumented(r));
  // The parser found the tree: the routes every version has are among what it read.
  expect(registered).toEqual(expect.arrayContaining(['POST /v1/pipelines', 'GET /v1/pipelines/{id}', 'GET /v1/media/{id}', 'GET /health']));
  expect(operations().map((o) => o.name).sort()).toEqual([...new Set(registered)].sort());
});

it('every operation has a unique operationId, a described tag, a summary and a typed success answer', () => {
  const problems: string[] = [];
  const ids = new Map<string, string>();
  const described = new Set((served.tags ?? []).filter((t) => t.description).map((t) => t.name));
  for (const { name, op } of operations()) {
    if (!op.operationId) problems.push(`${name}: no operationId`);
    else if (ids.has(op.operationId)) problems.push(`${name}: operationId ${op.operationId} is also ${ids.get(op.operationId)}'s`);
    else ids.set(op.operationId, name);
    if (!op.tags?.length) problems.push(`${name}: no tag`);
    for (const tag of op.tags ?? []) if (!described.has(tag)) problems.push(`${name}: tag ${tag} is not described in src/api/openapi.ts`);
    if (!op.summary) problems.push(`${name}: no summary`);
    const success = Object.entries(op.responses ?? {}).filter(([code]) => /^2\d\d$/.test(code));
    if (success.length === 0) problems.push(`${name}: no success answer`);
    for (const [code, answer] of success) {
      if (!answer.content) {
        if (code !== '204') problems.push(`${name}: ${code} has no body`);
        continue;
      }
      for (const [type, media] of Object.entries(answer.content)) {
        // z.any() becomes an empty schema: a client knows nothing of such a body.
        if (!media.schema || Object.keys(media.schema).length === 0) problems.push(`${name}: ${code} ${type} is untyped`);
      }
    }
  }
  expect(problems).toEqual([]);
});

it('describes the bearer key, the servers, the event stream and the public media route', () => {
  expect(served.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
  expect(served.servers?.length).toBeGreaterThan(0);
  const events = served.paths['/v1/pipelines/{id}/events'].get;
  expect(Object.keys(events.responses?.['200'].content ?? {})).toEqual(['text/event-stream']);
  const media = served.paths['/v1/media/{id}'].get;
  expect(media.security).toEqual([]);
  expect(media.responses?.['200'].content?.['image/*'].schema).toMatchObject({ type: 'string', format: 'binary' });
  const pipeline = served.paths['/v1/pipelines/{id}'].get.responses?.['200'].content?.['application/json'].schema;
  expect(pipeline).toEqual({ $ref: '#/components/schemas/Pipeline' });
});
