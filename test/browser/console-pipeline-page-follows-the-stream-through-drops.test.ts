// The pipeline page follows the pipeline over its event stream, read with fetch so the API key travels in a header and
// never in a URL. The console is reached through a TCP proxy that cuts every open connection and then refuses new
// ones: the page says it lost the connection, and once the proxy forwards again it reconnects by itself and shows
// what happened meanwhile (the pipeline approved and published behind its back), with no reload.
import { dryRunRequest } from '../helpers/harness';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';
import { signIn, textBecomes, useConsole, WAIT_MS } from './console-steps';

const { browser: b, herald } = useConsole();
let proxy: TcpProxy;
beforeAll(async () => {
  proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(herald().baseUrl).port) });
});
afterAll(async () => {
  await proxy?.close();
});

async function until(what: string, cond: () => boolean, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

it('reconnects after the stream is cut and the API is away, and shows the state reached meanwhile; the key is only ever in a header', async () => {
  const h = herald();
  const created = await h.api('POST', '/v1/pipelines', dryRunRequest({ topic: `Live view through drops ${Date.now()}`, approval: { required: true }, image: { mode: 'none' } }));
  expect(created.status).toBe(202);
  const id: string = created.body.id;
  await h.waitFor(id, (s) => s.status === 'awaiting_approval', { timeoutMs: 90_000 });

  const tab = await b.open();
  const { page } = tab;
  const urls: string[] = [];
  const streams: { auth: string | undefined }[] = [];
  page.on('request', (req) => {
    urls.push(req.url());
    if (req.url().endsWith(`/v1/pipelines/${id}/events`)) streams.push({ auth: req.headers()['authorization'] });
  });
  const base = `http://${proxy.address}`;
  await signIn(tab, base, h.keys.a);
  await page.evaluate((hash) => {
    location.hash = hash;
  }, `#/pipelines/${encodeURIComponent(id)}`);
  await textBecomes(page.getByTestId('pipeline-status'), /awaiting approval/i);
  await textBecomes(page.getByText(/^Live:/), /updates by itself/i);
  expect(streams).toHaveLength(1);

  // The API goes away: open connections cut, new ones refused. The cut landed, and the page says so.
  await proxy.refuse();
  expect(proxy.terminate()).toBeGreaterThanOrEqual(1);
  await textBecomes(page.getByText(/connection lost/i), /reconnecting/i);
  await tab.shot('connection lost');

  // Meanwhile the pipeline is approved directly (not through the proxy) and publishes.
  const approved = await h.api('POST', `/v1/pipelines/${id}/approve`, {});
  expect(approved.status).toBe(200);
  await h.waitFor(id, (s) => s.status === 'published', { timeoutMs: 90_000 });
  const acceptedBefore = proxy.stats.accepted;

  // Back: the page reconnects by itself and shows where the pipeline got to, without a reload.
  await proxy.restore();
  await textBecomes(page.getByTestId('pipeline-status'), /^published$/i, 90_000);
  await until('the page to reconnect through the proxy', () => proxy.stats.accepted > acceptedBefore);
  await textBecomes(page.getByTestId('publication-x'), /dry run/i);
  await textBecomes(page.getByText(/^Finished:/), /nothing more will change/i);
  await tab.shot('published after reconnecting', { fullPage: true });
  expect(streams.length).toBeGreaterThanOrEqual(2);

  // The key went in the Authorization header of every stream, and in no address the page asked for.
  for (const s of streams) expect(s.auth).toBe(`Bearer ${h.keys.a}`);
  expect(urls.length).toBeGreaterThan(0);
  for (const url of urls) expect(url).not.toContain(h.keys.a);
});
