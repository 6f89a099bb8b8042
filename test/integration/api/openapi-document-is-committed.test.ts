// docs/openapi.json is the contract people read without running Herald: it must be exactly what a running API serves.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startHarness, type Harness } from '../../helpers/harness';

const COMMITTED = path.resolve(__dirname, '../../../docs/openapi.json');

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ withWorker: false });
});
afterAll(async () => {
  await h?.stop();
});

it('docs/openapi.json is the document the running API serves at /openapi.json (else: npm run openapi)', async () => {
  const served = await h.api('GET', '/openapi.json', undefined, { key: null });
  expect(served.status).toBe(200);
  const committed = JSON.parse(readFileSync(COMMITTED, 'utf8'));
  expect(committed).toEqual(served.body);
  // Every route the API serves under /v1 is described, with its answers.
  const operations = Object.entries(committed.paths as Record<string, Record<string, { responses?: object }>>).flatMap(
    ([route, methods]) => Object.entries(methods).map(([method, op]) => ({ route, method, responses: Object.keys(op.responses ?? {}) })),
  );
  expect(operations.map((o) => `${o.method.toUpperCase()} ${o.route}`)).toEqual(
    expect.arrayContaining(['POST /v1/pipelines', 'GET /v1/pipelines/{id}', 'POST /v1/pipelines/{id}/approve', 'GET /v1/accounts', 'POST /v1/schedules']),
  );
  for (const op of operations) expect(op.responses.length).toBeGreaterThan(0);
});
