// `herald watch` keeps following a pipeline when its event stream is cut: it reconnects (backing off while the API
// cannot be reached), re-reads the state, and prints every change once. The API is reached through a TCP proxy that
// cuts every open connection on demand; the proxy's counters prove each cut landed and that the CLI came back.
import { dryRunRequest, startHarness, type Harness } from '../../helpers/harness';
import { startTcpProxy, type TcpProxy } from '../../helpers/tcp-proxy';
import { jsonLines, startHerald } from './herald-cli';

jest.setTimeout(180_000);

let h: Harness;
let proxy: TcpProxy;
beforeAll(async () => {
  h = await startHarness();
  proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(h.baseUrl).port) });
});
afterAll(async () => {
  await proxy?.close();
  await h?.stop();
});

async function until(what: string, cond: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The same state read twice (GET, stream) may list its keys in another order: compare with keys sorted. */
const sortedJson = (v: unknown): string =>
  JSON.stringify(v, (_k, x) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, x[k]])) : x));

/** Status lines (`HH:MM:SS  <status>…`) with this status. */
const statusLines = (out: string, status: string) => out.split('\n').filter((l) => new RegExp(`^\\d\\d:\\d\\d:\\d\\d  ${status}(\\s|$)`).test(l));

it('reconnects after two drops (one while the API is unreachable), re-reads the state, prints nothing twice, exits 0', async () => {
  const created = await h.api('POST', '/v1/pipelines', dryRunRequest({ approval: { required: true } }));
  expect(created.status).toBe(202);
  const id: string = created.body.id;
  const waiting = await h.waitFor(id, (s) => s.status === 'awaiting_approval');
  const stateBytes = JSON.stringify(waiting).length;

  const env = { HERALD_API_URL: `http://${proxy.address}`, HERALD_API_KEY: h.keys.a };
  const human = startHerald(['watch', id], env);
  const json = startHerald(['watch', id, '--json'], env);
  await human.waitForOutput(/awaiting_approval/);
  await json.waitForOutput(/awaiting_approval/);
  // Each watcher has read the state once (GET) and once more as the stream's first event: the streams are open.
  await until('both streams to deliver their first event', () => proxy.stats.bytesDown >= 4 * stateBytes);

  // Drop 1: every connection cut; the API itself stays up, so both come straight back to the same state.
  const acceptedBefore = proxy.stats.accepted;
  expect(proxy.terminate()).toBeGreaterThanOrEqual(2);
  await human.waitForOutput(/stream dropped/);
  await human.waitForOutput(/reconnected/, 30_000);
  await json.waitForOutput(/reconnected/, 30_000);
  expect(proxy.stats.accepted).toBeGreaterThan(acceptedBefore);

  // Drop 2: the API becomes unreachable, and the pipeline moves on meanwhile (approved directly, not through the proxy).
  await proxy.refuse();
  expect(proxy.terminate()).toBeGreaterThanOrEqual(2);
  await until('the watcher to notice the second drop', () => (human.output().match(/stream dropped/g) ?? []).length >= 2, 30_000);
  const approved = await h.api('POST', `/v1/pipelines/${id}/approve`, {});
  expect(approved.status).toBe(200);
  await h.waitFor(id, (s) => s.status === 'published');
  // While refused, the reconnection attempts failed (ECONNREFUSED) and were retried with backoff.
  await until('a refused reconnection attempt', () => /ECONNREFUSED/.test(human.output()), 30_000);
  await proxy.restore();

  const [h1, j1] = await Promise.all([human.done, json.done]);
  expect(h1.code).toBe(0);
  expect(j1.code).toBe(0);
  expect(proxy.stats.terminated).toBeGreaterThanOrEqual(4);

  // Every change once: one awaiting_approval line although the state was read four times, one published line.
  expect(statusLines(h1.stdout, 'awaiting_approval')).toHaveLength(1);
  expect(statusLines(h1.stdout, 'published')).toHaveLength(1);
  expect(h1.stdout).toMatch(/previewed/); // the final picture: every publication
  expect(h1.stdout).toMatch(/── x ──/);
  // Notices go to stderr, so the JSON output stays one state per line, each state once, ending published.
  const states = jsonLines(j1.stdout);
  expect(states.map((s) => s.id).every((x) => x === id)).toBe(true);
  const seen = states.map(sortedJson);
  expect(new Set(seen).size).toBe(seen.length);
  expect(states.filter((s) => s.status === 'awaiting_approval')).toHaveLength(1);
  expect(states[states.length - 1].status).toBe('published');
  expect(j1.stderr).toMatch(/stream dropped/);
});

it('gives up with exit code 3 when the API stays unreachable longer than --reconnect-for', async () => {
  const created = await h.api('POST', '/v1/pipelines', dryRunRequest({ approval: { required: true } }));
  const id: string = created.body.id;
  const waiting = await h.waitFor(id, (s) => s.status === 'awaiting_approval');
  await proxy.restore();
  const bytesBefore = proxy.stats.bytesDown;
  const w = startHerald(['watch', id, '--reconnect-for', '2'], { HERALD_API_URL: `http://${proxy.address}`, HERALD_API_KEY: h.keys.a });
  await w.waitForOutput(/awaiting_approval/);
  await until('the stream to deliver its first event', () => proxy.stats.bytesDown - bytesBefore >= 2 * JSON.stringify(waiting).length);
  await proxy.refuse();
  expect(proxy.terminate()).toBeGreaterThanOrEqual(1);
  const cutAt = Date.now();
  const r = await w.done;
  const ms = Date.now() - cutAt;
  expect(r.code).toBe(3);
  expect(r.stderr).toMatch(/stream dropped/);
  expect(r.stderr).toMatch(/could not get it back within 2 s/);
  // It tried for the 2 s it was given, and not much longer (one backoff step at most).
  expect(ms).toBeGreaterThanOrEqual(2_000);
  expect(ms).toBeLessThan(20_000);
  await proxy.restore();
});

it('a stream that goes silent (the connection held open, nothing forwarded) counts as dropped after --idle-timeout', async () => {
  const created = await h.api('POST', '/v1/pipelines', dryRunRequest({ approval: { required: true } }));
  const id: string = created.body.id;
  const waiting = await h.waitFor(id, (s) => s.status === 'awaiting_approval');
  await proxy.restore();
  const bytesBefore = proxy.stats.bytesDown;
  const w = startHerald(['watch', id, '--idle-timeout', '2'], { HERALD_API_URL: `http://${proxy.address}`, HERALD_API_KEY: h.keys.a });
  await w.waitForOutput(/awaiting_approval/);
  await until('the stream to deliver its first event', () => proxy.stats.bytesDown - bytesBefore >= 2 * JSON.stringify(waiting).length);

  // Nothing passes either way from now on, and nothing is closed: only silence tells the watcher.
  proxy.hold();
  const silentFrom = (w.output().match(/no data for 2 s/g) ?? []).length;
  await until('the watcher to give up on the silent stream', () => (w.output().match(/no data for 2 s/g) ?? []).length > silentFrom, 30_000);
  // Its reconnection attempts went into the held proxy too (their bytes are held there, unanswered).
  await until('a reconnection attempt into the held proxy', () => proxy.stats.heldBytes > 0, 30_000);
  expect(w.child.exitCode).toBeNull();

  expect((await h.api('POST', `/v1/pipelines/${id}/approve`, {})).status).toBe(200);
  await h.waitFor(id, (s) => s.status === 'published');
  await proxy.restore();
  const r = await w.done;
  expect(r.code).toBe(0);
  expect(statusLines(r.stdout, 'awaiting_approval')).toHaveLength(1);
  expect(statusLines(r.stdout, 'published')).toHaveLength(1);
});
