// A publication that waits shows, on the pipeline page, why and a countdown to its retry, ticking in the browser; when
// the retry goes through, the page shows it published, live. The wait is real: a webhook receiver answers 503 twice,
// which opens the account's circuit breaker for 20 s.
import { startFakeWebhookServer, type FakeWebhookServer } from '../fakes/webhook-server';
import { signIn, textBecomes, useConsole } from './console-steps';

let fake: FakeWebhookServer;
beforeAll(async () => {
  fake = await startFakeWebhookServer();
});
afterAll(async () => {
  await fake?.close();
});
const { browser: b, herald } = useConsole(() => ({ CIRCUIT_BREAKER: '2/20s', WEBHOOK_ALLOW_PRIVATE: 'true' }));

const secondsLeft = (text: string) => {
  const m = /in (?:(\d+) min )?(\d+) s/.exec(text);
  if (!m) throw new Error(`no countdown in "${text}"`);
  return Number(m[1] ?? 0) * 60 + Number(m[2]);
};

it('shows a waiting publication with its reason and a countdown that ticks down to retryAt, then published', async () => {
  const h = herald();
  const account = await h.api('POST', '/v1/accounts', { platform: 'webhook', handle: 'countdown-hook', credentials: { url: `${fake.url}/hook/countdown` } });
  expect(account.status).toBe(201);
  fake.failNext(503, { error: 'down for maintenance' }, undefined, 2);
  const created = await h.api('POST', '/v1/pipelines', { topic: `A receiver under maintenance ${Date.now()}`, targets: [{ platform: 'webhook', accountId: account.body.id }], image: { mode: 'none' } });
  expect(created.status).toBe(202);
  const id: string = created.body.id;

  const tab = await b.open();
  const { page } = tab;
  await signIn(tab, h.baseUrl, h.keys.a);
  await page.evaluate((hash) => {
    location.hash = hash;
  }, `#/pipelines/${encodeURIComponent(id)}`);
  const row = page.getByTestId('publication-webhook');
  await textBecomes(row, /waiting to retry/i, 90_000);
  const waiting = (await h.api('GET', `/v1/pipelines/${id}`)).body.publications[0];
  expect(fake.rejected.filter((r) => r.path === '/hook/countdown')).toHaveLength(2); // the two 503s landed
  expect(waiting.status).toBe('waiting');

  // The countdown points at the publication's retryAt and ticks without any new state from the server.
  const countdown = page.getByTestId('retry-webhook');
  expect(await countdown.getAttribute('datetime')).toBe(waiting.retryAt);
  const first = secondsLeft(await countdown.innerText());
  const expected = Math.ceil((Date.parse(waiting.retryAt) - Date.now()) / 1000);
  expect(Math.abs(first - expected)).toBeLessThanOrEqual(3);
  const deadline = Date.now() + 10_000;
  let now = first;
  while (now > first - 2) {
    if (Date.now() > deadline) throw new Error(`the countdown stayed at ${now} s (first ${first} s)`);
    await new Promise((r) => setTimeout(r, 200));
    const text = await countdown.innerText();
    now = /any moment/.test(text) ? 0 : secondsLeft(text);
  }
  expect(await row.innerText()).toMatch(/breaker|503|maintenance/i);
  await tab.shot('publication waiting with a countdown', { fullPage: true });

  await textBecomes(page.getByTestId('pipeline-status'), /^published$/i, 120_000);
  await textBecomes(row, /published/i);
  expect(await page.getByTestId('retry-webhook').count()).toBe(0);
  await tab.shot('published after the wait');
});
