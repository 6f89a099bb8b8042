// Without WEBHOOK_ALLOW_PRIVATE (the default), webhook targets on private and loopback addresses are refused: at
// creation when the URL names one or its host resolves to one, and again at delivery, after resolution, when a host
// that did not resolve at creation now answers with a loopback address (DNS rebinding). The receiver on 127.0.0.1
// gets nothing, and the subscription is disabled with the reason. (The other webhook tests run with
// WEBHOOK_ALLOW_PRIVATE=true and create 127.0.0.1 receivers: the same URLs are accepted there.)
import type { Resolve } from '../../../../src/webhooks/address';
import { startWebhookReceiver, type WebhookReceiver } from '../../../fakes/webhook-receiver';
import { startHarness, type Harness } from '../../../helpers/harness';

jest.setTimeout(120_000);

let h: Harness;
let receiver: WebhookReceiver;
/** Host names the worker's resolver was asked for. */
const asked: string[] = [];

// The worker's DNS: a name under rebind.test answers 127.0.0.1 (the API's system resolver knows no such name).
const rebindingDns: Resolve = async (host) => {
  asked.push(host);
  if (host.endsWith('.rebind.test')) return [{ address: '127.0.0.1', family: 4 }];
  throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
};

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  h = await startHarness({ env: { WEBHOOK_ALLOW_PRIVATE: 'false' }, depsOverrides: { webhookResolve: rebindingDns } });
});
afterAll(async () => {
  await h?.stop();
  await receiver?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('refuses private and loopback targets at creation with 422 naming the address and its range', async () => {
  const cases: [string, RegExp][] = [
    [`${receiver.url}/hook`, /127\.0\.0\.1 is a loopback address/],
    [`http://localhost:${receiver.port}/hook`, /(127\.0\.0\.1|::1) is a loopback address \(localhost resolves to/],
    [`http://[::1]:${receiver.port}/hook`, /::1 is a loopback address/],
    ['http://169.254.169.254/latest/meta-data/', /linkLocal/],
    ['https://10.0.0.7/hook', /10\.0\.0\.7 is a private address/],
    ['https://100.64.1.1/hook', /carrierGradeNat/],
    ['http://[fd00::1]/hook', /uniqueLocal/],
    ['http://[::ffff:127.0.0.1]/hook', /ipv4Mapped/],
    ['http://0.0.0.0:8080/', /unspecified/],
  ];
  for (const [url, message] of cases) {
    const res = await h.api('POST', '/v1/webhooks', { url, events: ['pipeline.failed'] });
    expect([url, res.status]).toEqual([url, 422]);
    expect(res.body.error.code).toBe('unprocessable');
    expect(res.body.error.message).toMatch(/^url: /);
    expect(res.body.error.message).toMatch(message);
  }
  expect((await h.api('GET', '/v1/webhooks')).body.items).toEqual([]);
  expect(receiver.requests).toHaveLength(0);
});

it('refuses at delivery a host that resolves to a loopback address then, and disables the subscription', async () => {
  const url = `http://hooks.rebind.test:${receiver.port}/in`;
  const created = await h.api('POST', '/v1/webhooks', { url, events: ['pipeline.failed'] });
  // Not resolvable when it was created: accepted, to be checked at every delivery.
  expect(created.status).toBe(201);
  const sent = await h.api('POST', `/v1/webhooks/${created.body.id}/test`);
  expect(sent.status).toBe(202);
  const deadline = Date.now() + 60_000;
  let delivery: any;
  while (Date.now() < deadline) {
    delivery = (await h.api('GET', `/v1/webhooks/${created.body.id}/deliveries`)).body.items[0];
    if (delivery?.status !== 'pending') break;
    await sleep(200);
  }
  expect(delivery).toMatchObject({ status: 'failed', attempts: 1, lastStatusCode: null, nextAttemptAt: null });
  expect(delivery.lastError).toContain('127.0.0.1 is a loopback address (hooks.rebind.test resolves to 127.0.0.1)');
  // The check really ran on the worker's answer, and nothing reached the receiver.
  expect(asked).toContain('hooks.rebind.test');
  expect(receiver.requests).toHaveLength(0);
  const sub = (await h.api('GET', `/v1/webhooks/${created.body.id}`)).body;
  expect(sub.status).toBe('disabled');
  expect(sub.disabledReason).toContain('refused at delivery: 127.0.0.1 is a loopback address');
  expect(h.logs.some((l) => l.includes('webhook subscription disabled') && l.includes(created.body.id))).toBe(true);
});
