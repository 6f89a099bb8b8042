// The workflow itself, on the real dev server: failures by type, retries, the state query, search attributes, and
// cancel while posts are on their way. Providers are swapped through the activities' dependencies, as in production.
import { createPublishers } from '../../../src/providers/publishers';
import { PermanentError, TransientError } from '../../../src/providers/errors';
import { createOfflineTextGenerator } from '../../../src/providers/text/offline';
import type { TextGenerator } from '../../../src/providers/text/types';
import { stateQuery } from '../../../src/workflows/messages';
import { dryRunRequest, startHarness, type Harness } from '../../helpers/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ withWorker: false });
});
afterAll(async () => {
  await h?.stop();
});
afterEach(async () => {
  await h.stopWorker();
});

const TERMINAL = ['published', 'partially_published', 'failed', 'rejected', 'cancelled', 'expired'];

it('a permanent text-provider error ends the pipeline failed with its type, without retrying', async () => {
  let calls = 0;
  const broken: TextGenerator = {
    name: 'broken',
    model: 'broken-1',
    async generate() {
      calls++;
      throw new PermanentError('broken', 'HTTP 400 model does not exist', 400);
    },
  };
  await h.startWorker({ textGenerators: { broken }, textChain: ['broken'] });
  const res = await h.api('POST', '/v1/pipelines', dryRunRequest());
  const done = await h.waitFor(res.body.id, (s) => TERMINAL.includes(s.status));
  expect(done.status).toBe('failed');
  expect(done.error.code).toBe('Permanent');
  expect(done.error.message).toContain('model does not exist');
  expect(done.publications.every((p: any) => p.status === 'skipped')).toBe(true);
  expect(calls).toBe(1);
});

it('a transient text-provider error is retried by Temporal and the pipeline publishes', async () => {
  let calls = 0;
  const offline = createOfflineTextGenerator();
  const flaky: TextGenerator = {
    name: 'flaky',
    model: 'flaky-1',
    async generate(input) {
      calls++;
      if (calls === 1) throw new TransientError('flaky', 'HTTP 503', 503);
      return offline.generate(input);
    },
  };
  await h.startWorker({ textGenerators: { flaky }, textChain: ['flaky'] });
  const res = await h.api('POST', '/v1/pipelines', dryRunRequest());
  const done = await h.waitFor(res.body.id, (s) => TERMINAL.includes(s.status));
  expect(done.status).toBe('published');
  expect(calls).toBe(2);
});

it('the state query answers the same state as the API, and search attributes carry tenant and status', async () => {
  await h.startWorker();
  const res = await h.api('POST', '/v1/pipelines', dryRunRequest({ approval: { required: true } }));
  const waiting = await h.waitFor(res.body.id, (s) => s.status === 'awaiting_approval');
  const handle = h.client.workflow.getHandle(`pipeline-${h.tenants.a}-${res.body.id}`);
  const queried = await handle.query(stateQuery);
  expect(queried.status).toBe('awaiting_approval');
  expect(queried.variants).toEqual(waiting.variants);
  expect(queried.tenantId).toBe(h.tenants.a);
  const desc = await handle.describe();
  expect(desc.searchAttributes.HeraldTenant).toEqual([h.tenants.a]);
  expect(desc.searchAttributes.HeraldStatus).toEqual(['awaiting_approval']);
  expect(desc.searchAttributes.HeraldPlatforms).toEqual(['x', 'linkedin']);
  await h.api('POST', `/v1/pipelines/${res.body.id}/reject`, { reason: 'test done' });
});

it('cancel during publishing lets the post on its way finish, reports it, and ends cancelled', async () => {
  const publishers = createPublishers();
  let started = 0;
  let released: () => void = () => undefined;
  const gate = new Promise<void>((r) => (released = r));
  publishers.webhook = {
    ...publishers.webhook,
    async publish(input) {
      started++;
      await gate;
      return { externalId: `hook-${input.idempotencyKey}`, url: null };
    },
  };
  await h.startWorker({ publishers });
  const account = await h.api('POST', '/v1/accounts', { platform: 'webhook', handle: 'slow', credentials: { url: 'http://127.0.0.1:9/never-called' } });
  const res = await h.api('POST', '/v1/pipelines', { topic: 'Cancel mid-publish', targets: [{ platform: 'webhook', accountId: account.body.id }] });
  await h.waitFor(res.body.id, (s) => s.status === 'publishing');
  for (let i = 0; i < 50 && started === 0; i++) await new Promise((r) => setTimeout(r, 100));
  expect(started).toBe(1);
  expect((await h.api('POST', `/v1/pipelines/${res.body.id}/cancel`)).status).toBe(202);
  await new Promise((r) => setTimeout(r, 500));
  released();
  const done = await h.waitFor(res.body.id, (s) => TERMINAL.includes(s.status));
  expect(done.status).toBe('cancelled');
  expect(done.publications[0].status).toBe('published');
  expect(done.publications[0].externalId).toMatch(/^hook-/);
  expect(started).toBe(1);
});

it('a pipeline keeps going on another worker when its worker stops mid-run', async () => {
  await h.startWorker();
  const res = await h.api('POST', '/v1/pipelines', dryRunRequest({ publishAt: new Date(Date.now() + 4000).toISOString() }));
  await h.waitFor(res.body.id, (s) => s.status === 'scheduled');
  await h.stopWorker();
  await new Promise((r) => setTimeout(r, 1000));
  await h.startWorker();
  const done = await h.waitFor(res.body.id, (s) => TERMINAL.includes(s.status), { timeoutMs: 30_000 });
  expect(done.status).toBe('published');
});
