// `npm start` on a fresh data directory, with no API_KEYS: it prints where the console is and a development key; the
// printed address serves the console page (built before start), and the printed key is accepted by the call the
// console's sign-in makes with it (GET /v1/accounts).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { temporalAddress } from '../helpers/env';
import { clusterDirOf, processesMentioning, spawnNpmStart, stopNpmStart, waitReady, type NpmStart } from '../helpers/npm-start-process';
import { freePort } from '../helpers/ports';

jest.setTimeout(300_000);

let dataDir: string;
let herald: NpmStart | null = null;

afterAll(async () => {
  if (herald && herald.child.exitCode === null) await stopNpmStart(herald);
  for (const p of processesMentioning(clusterDirOf(dataDir))) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  await rm(dataDir, { recursive: true, force: true });
});

async function printed(p: NpmStart, pattern: RegExp, timeoutMs = 60_000): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const m = pattern.exec(p.output());
    if (m) return m;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`npm start did not print ${pattern}; output:\n${p.output().slice(-4000)}`);
}

it('prints the console URL, which serves the console, and a development key that signs in', async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'herald-console-start-'));
  const port = await freePort();
  herald = spawnNpmStart({ dataDir, port, apiKeys: '', taskQueue: `herald-console-${process.pid}`, temporalAddress: temporalAddress() });
  await waitReady(herald);

  const [, consoleUrl] = await printed(herald, /Console:\s+(http:\/\/\S+)/);
  const [, key] = await printed(herald, /API key:\s+(\S+)/);
  expect(consoleUrl).toBe(`http://127.0.0.1:${port}/`);

  const page = await fetch(consoleUrl);
  expect(page.status).toBe(200);
  expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
  const html = await page.text();
  const script = /src="(\/console\/app-[A-Za-z0-9]+\.js)"/.exec(html)?.[1];
  expect(script).toBeDefined();
  expect((await fetch(new URL(script!, consoleUrl))).status).toBe(200);

  const signIn = await fetch(new URL('/v1/accounts', consoleUrl), { headers: { authorization: `Bearer ${key}` } });
  expect(signIn.status).toBe(200);
  const wrong = await fetch(new URL('/v1/accounts', consoleUrl), { headers: { authorization: `Bearer ${key}x` } });
  expect(wrong.status).toBe(401);
});
