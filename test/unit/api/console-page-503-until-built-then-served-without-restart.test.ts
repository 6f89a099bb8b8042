// The console route on its own over a folder the test controls: before a build there is a 503 that says how to build,
// a build that lands while the API runs is served at once (no restart), and only names the build writes are served.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { consoleRoutes } from '../../../src/api/routes/console';

let dir: string;
let app: FastifyInstance;
let base: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'herald-console-'));
  app = Fastify();
  await app.register(consoleRoutes, { dir });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app?.close();
  await rm(dir, { recursive: true, force: true });
});

test('503 with Retry-After and how to build before the build; the page as soon as it is written', async () => {
  const before = await fetch(`${base}/`);
  expect(before.status).toBe(503);
  expect(before.headers.get('retry-after')).toBe('10');
  expect(await before.text()).toContain('npm run build:console');
  expect(before.headers.get('content-security-policy')).toContain("default-src 'none'");

  await writeFile(path.join(dir, 'index.html'), '<!doctype html><title>built</title>');
  await writeFile(path.join(dir, 'app-ABC123.js'), 'console.log(1)');
  await writeFile(path.join(dir, 'notes.txt'), 'not a console file');
  const after = await fetch(`${base}/`);
  expect(after.status).toBe(200);
  expect(await after.text()).toContain('<title>built</title>');
  expect(after.headers.get('cache-control')).toBe('no-cache');

  const js = await fetch(`${base}/console/app-ABC123.js`);
  expect(js.status).toBe(200);
  expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
  expect(await js.text()).toBe('console.log(1)');
  expect((await fetch(`${base}/console/notes.txt`)).status).toBe(404);
  expect((await fetch(`${base}/console/index.html`)).status).toBe(404);
});
