// A new user's first minutes, as the README tells them: `npm start` on a fresh data directory with no configuration
// prints the console's address and a key; in a real Chromium they open that address, paste the key, write a topic,
// choose a thread to X and Bluesky (the form starts as a dry run, nothing being connected) and watch it reach
// `published` with both previews, without touching the API themselves.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { useBrowser } from '../helpers/browser';
import { temporalAddress } from '../helpers/env';
import { cleanUpNpmStart, spawnNpmStart, waitPrinted, waitReady, type NpmStart } from '../helpers/npm-start-process';
import { until } from '../helpers/api-process';
import { freePort } from '../helpers/ports';
import { textBecomes, WAIT_MS } from './console-steps';

jest.setTimeout(300_000);

const b = useBrowser();
let dataDir: string;
let herald: NpmStart | null = null;

afterAll(() => cleanUpNpmStart(herald, dataDir));

it('npm start, then in the browser: sign in with the printed key, compose a dry-run thread, watch it published', async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'herald-console-journey-'));
  const port = await freePort();
  herald = spawnNpmStart({ dataDir, port, apiKeys: '', taskQueue: `herald-journey-${process.pid}`, temporalAddress: temporalAddress() });
  await waitReady(herald, 180_000);
  const [, consoleUrl] = await waitPrinted(herald, /Console:\s+(http:\/\/\S+)/);
  const [, key] = await waitPrinted(herald, /API key:\s+(\S+)/);

  const tab = await b.open();
  const { page } = tab;
  // The compose page's accounts list answers only after the form has been filled in, as on a slow connection: the
  // form must still become a dry run (it did not when the person had typed first). Signing in asks for the list too
  // (to check the key): that one goes through at once.
  let letAccountsThrough!: () => void;
  const typed = new Promise<void>((resolve) => (letAccountsThrough = resolve));
  let accountsAsked = 0;
  await page.route('**/v1/accounts*', async (route) => {
    if (++accountsAsked > 1) await typed;
    await route.continue();
  });
  await page.goto(consoleUrl);
  await page.getByLabel(/api key/i).fill(key);
  await page.getByRole('button', { name: /sign in/i }).click();
  await page.getByRole('heading', { level: 1, name: /compose/i }).waitFor({ timeout: WAIT_MS });

  await page.getByLabel(/^topic/i).fill('Why our team moved its cron jobs to durable workflows');
  await page.getByLabel(/^format/i).selectOption('thread');
  await page.getByRole('checkbox', { name: /^x$/i }).check();
  await page.getByRole('checkbox', { name: /^bluesky$/i }).check();
  // Nothing is connected on a fresh start: once the (held) accounts list arrives, the form is a dry run.
  await until('the compose page to ask for the accounts', WAIT_MS, () => (accountsAsked > 1 ? true : undefined));
  expect(await page.getByLabel(/dry run/i).isChecked()).toBe(false);
  letAccountsThrough();
  await until('the dry-run box to be ticked once the empty accounts list arrived', WAIT_MS, async () => ((await page.getByLabel(/dry run/i).isChecked()) ? true : undefined));
  await textBecomes(page.getByTestId('validate-status'), /no problems/i);
  await tab.shot('first post');
  await page.getByRole('button', { name: /start pipeline/i }).click();

  await textBecomes(page.getByTestId('pipeline-status'), /published/i, 180_000);
  for (const p of ['x', 'bluesky']) await page.getByTestId(`preview-${p}`).waitFor({ timeout: WAIT_MS });
  const id = decodeURIComponent(page.url().split('#/pipelines/')[1]);
  // What the page says is what Herald has: asked of the API with the same key, outside the browser.
  const state = await (await fetch(new URL(`/v1/pipelines/${id}`, consoleUrl), { headers: { authorization: `Bearer ${key}` } })).json();
  expect(state.status).toBe('published');
  expect(state.request.dryRun).toBe(true);
  expect(state.publications.map((p: any) => [p.platform, p.status]).sort()).toEqual([
    ['bluesky', 'previewed'],
    ['x', 'previewed'],
  ]);
  await tab.shot('published', { fullPage: true });
});
