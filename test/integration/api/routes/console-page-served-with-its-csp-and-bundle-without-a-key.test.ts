// The web console as the API serves it (built by `npm test` before the run): the page at / with a policy that lets it
// run only its own script and style and talk only to its own origin, its hashed bundle under /console/, nothing else
// from that folder, and no API key needed for any of it.
import { startHarness, type Harness } from '../../../helpers/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ withWorker: false });
}, 120_000);
afterAll(async () => {
  await h?.stop();
});
jest.setTimeout(120_000);

async function pageAssets() {
  const html = await (await fetch(`${h.baseUrl}/`)).text();
  return { script: /src="(\/console\/app-[A-Za-z0-9]+\.js)"/.exec(html)![1] };
}

const directives = (csp: string) => new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));

test('GET / serves the console page with its CSP; its script and stylesheet come from /console/', async () => {
  const page = await fetch(`${h.baseUrl}/`);
  expect(page.status).toBe(200);
  expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  expect(page.headers.get('x-content-type-options')).toBe('nosniff');
  const csp = directives(page.headers.get('content-security-policy') ?? '');
  expect(csp.get('default-src')).toEqual(["'none'"]);
  expect(csp.get('script-src')).toEqual(["'self'"]);
  expect(csp.get('style-src')).toEqual(["'self'"]);
  expect(csp.get('connect-src')).toEqual(["'self'"]);
  expect(csp.get('frame-ancestors')).toEqual(["'none'"]);

  const html = await page.text();
  expect(html).toContain('<div id="app">');
  // No inline script: the policy would block it, so the page must not depend on one.
  expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
  const script = /<script type="module" src="(\/console\/app-[A-Za-z0-9]+\.js)"/.exec(html)?.[1];
  const style = /<link rel="stylesheet" href="(\/console\/app-[A-Za-z0-9]+\.css)"/.exec(html)?.[1];
  expect(script).toBeDefined();
  expect(style).toBeDefined();

  const js = await fetch(`${h.baseUrl}${script}`, { headers: { 'accept-encoding': 'gzip' } });
  expect(js.status).toBe(200);
  expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
  expect(js.headers.get('cache-control')).toContain('immutable');
  expect(js.headers.get('content-encoding')).toBe('gzip');
  const code = await js.text();
  // A client that takes no gzip gets the same script as it is.
  const plain = await fetch(`${h.baseUrl}${script}`, { headers: { 'accept-encoding': 'identity' } });
  expect(plain.headers.get('content-encoding')).toBeNull();
  expect(await plain.text()).toBe(code);
  // The bundle is the console: it signs in with a key kept in sessionStorage and calls the versioned API.
  expect(code).toContain('sessionStorage');
  expect(code).toContain('/v1/accounts');
  expect(code).not.toContain('localStorage');

  const css = await fetch(`${h.baseUrl}${style}`);
  expect(css.status).toBe(200);
  expect(css.headers.get('content-type')).toMatch(/^text\/css/);
  expect((await css.text()).length).toBeGreaterThan(100);
});

test('/console/ serves only built files: other names and paths out of the folder are 404 in the error shape', async () => {
  for (const path of ['/console/build.json', `${(await pageAssets()).script}.gz`, '/console/build.json.bak', '/console/nope.js', '/console/..%2F..%2Fpackage.json', '/console/%2e%2e%2fpackage.json', '/console/.env']) {
    const res = await fetch(`${h.baseUrl}${path}`);
    expect({ path, status: res.status }).toEqual({ path, status: 404 });
    const body = await res.json();
    expect(body.error.code).toBe('not_found');
  }
});

test('the versioned API still asks for a key; the console page does not', async () => {
  expect((await fetch(`${h.baseUrl}/`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(200);
  expect((await fetch(`${h.baseUrl}/v1/accounts`)).status).toBe(401);
});
