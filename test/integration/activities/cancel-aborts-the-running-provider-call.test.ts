// Cancellation reaches a running provider call: heartbeats carry it to the activity, and the activity's
// cancellationSignal aborts the HTTP request. A pipeline cancelled while the AI provider is still writing (the
// imitation OpenAI server holds its answer for two minutes) closes that connection within seconds, is not retried,
// and ends `cancelled`.
import type { FakeAiServer } from '../../fakes/fake-control';
import { startOpenAIFake } from '../../fakes/openai-server';
import { dryRunRequest, startHarness, type Harness } from '../../helpers/harness';

jest.setTimeout(120_000);

/** The provider's answer is held this long: far beyond the bound below, so only a cancellation can end the call. */
const HOLD_MS = 120_000;
const ABORT_WITHIN_MS = 15_000;

let h: Harness;
let openai: FakeAiServer;

beforeAll(async () => {
  openai = await startOpenAIFake();
  h = await startHarness({ env: { OPENAI_API_KEY: 'sk-test-openai', OPENAI_BASE_URL: openai.url, TEXT_PROVIDERS: 'openai,offline', IMAGE_SOURCES: 'card', AI_TIMEOUT: '5m' } });
});
afterAll(async () => {
  await h?.stop();
  await openai?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('a pipeline cancelled while the AI provider writes aborts that call within seconds and ends cancelled', async () => {
  openai.control.delayMs(HOLD_MS);
  const res = await h.api('POST', '/v1/pipelines', dryRunRequest({ topic: 'Cancel while the model writes', image: { mode: 'none' }, cache: false }));
  expect(res.status).toBe(202);

  // The call is in flight: the provider has the request and has not answered.
  const deadline = Date.now() + 60_000;
  while (openai.requests.length === 0 && Date.now() < deadline) await sleep(50);
  expect(openai.requests).toHaveLength(1);
  const call = openai.requests[0];
  expect(call.abandonedAt).toBeUndefined();

  const cancel = await h.api('POST', `/v1/pipelines/${res.body.id}/cancel`);
  expect(cancel.status).toBe(202);
  const cancelledAt = Date.now();
  const abortDeadline = cancelledAt + ABORT_WITHIN_MS + 5_000;
  while (call.abandonedAt === undefined && Date.now() < abortDeadline) await sleep(50);
  const done = await h.waitFor(res.body.id, (s) => s.status === 'cancelled', { timeoutMs: 30_000 });

  console.log(`cancel -> provider call aborted: ${call.abandonedAt ? `${((call.abandonedAt - cancelledAt) / 1000).toFixed(1)} s` : 'never'} (the answer was held ${HOLD_MS / 1000} s)`);
  expect(call.abandonedAt).toEqual(expect.any(Number));
  expect(call.abandonedAt! - cancelledAt).toBeLessThanOrEqual(ABORT_WITHIN_MS);
  expect(done.status).toBe('cancelled');
  // Not retried, and no other provider wrote instead.
  expect(openai.requests).toHaveLength(1);
  expect(done.content).toBeFalsy();
});
