// A real Chromium for the console's browser tests (test/browser): Debian's `chromium` package driven by playwright-core
// through its executable path (Playwright's own browser downloads are never used). When no Chromium is found the first
// browser test installs the package with apt-get, once per run; a failed install is remembered for the rest of the run
// so every later browser test fails at once with the same message instead of waiting for apt again.
import { spawn } from 'node:child_process';
import { accessSync, constants, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ROOT, TEST_DATA_DIR } from './env';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/lib/chromium/chromium', '/usr/bin/google-chrome-stable', '/usr/bin/google-chrome'];
const INSTALL_TIMEOUT_MS = 10 * 60_000;
// The emoji font: generated posts carry emoji, and without it the screenshots show empty boxes in their place.
const INSTALL_COMMAND = 'apt-get update && apt-get install -y chromium fonts-noto-color-emoji';
export const SCREENSHOT_DIR = path.join(TEST_DATA_DIR, 'screenshots');
const DOCS_DIR = path.join(ROOT, 'docs', 'console');
// Per run (npm test names each run's database), or per process outside npm test, so a later run tries again.
const failedInstallMarker = () => path.join(TEST_DATA_DIR, `chromium-install-failed-${process.env.HERALD_TEST_DB ?? `pid-${process.pid}`}.txt`);

const executable = (p: string) => {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && executable(path.join(dir, cmd)));
}

/** CHROMIUM_PATH when set (it must exist), else the first of the usual Debian/Ubuntu/Chrome paths that exists. */
export function findChromium(): string | null {
  const wanted = process.env.CHROMIUM_PATH;
  if (wanted) {
    if (!executable(wanted)) throw new Error(`CHROMIUM_PATH is ${wanted}, which is not an executable file`);
    return wanted;
  }
  return CANDIDATES.find(executable) ?? null;
}

function run(command: string, args: string[], timeoutMs: number): Promise<{ code: number | null; timedOut: boolean }> {
  return new Promise((resolve) => {
    // stdout/stderr go straight to the terminal: apt's progress is what the person running the tests waits on.
    const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
    }, timeoutMs);
    child.on('error', () => resolve({ code: null, timedOut }));
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, timedOut });
    });
  });
}

async function installChromium(): Promise<string> {
  const marker = failedInstallMarker();
  if (existsSync(marker)) throw new Error(readFileSync(marker, 'utf8'));
  const fail = (why: string): never => {
    const message =
      `The browser tests need Chromium, and it could not be installed: ${why}.\n` +
      `Install it yourself (Debian/Ubuntu, as root: \`${INSTALL_COMMAND}\`) or set CHROMIUM_PATH to a Chromium or Chrome executable, then run the tests again.`;
    mkdirSync(TEST_DATA_DIR, { recursive: true });
    writeFileSync(marker, message);
    throw new Error(message);
  };
  if (!onPath('apt-get')) fail('no Chromium was found and this machine has no apt-get');
  const asRoot = process.getuid?.() === 0;
  if (!asRoot && !onPath('sudo')) fail('apt-get needs root, and this user is not root and has no sudo');
  const [command, args] = asRoot ? ['sh', ['-c', INSTALL_COMMAND]] : ['sudo', ['-n', 'sh', '-c', INSTALL_COMMAND]];
  process.stderr.write(
    `\nherald tests: no Chromium found (looked at CHROMIUM_PATH and ${CANDIDATES.join(', ')}).\n` +
      `herald tests: installing Debian's chromium package (and its emoji font) for the browser tests, once: \`${INSTALL_COMMAND}\` (up to ${INSTALL_TIMEOUT_MS / 60_000} minutes)...\n`,
  );
  const started = Date.now();
  const { code, timedOut } = await run(command, args as string[], INSTALL_TIMEOUT_MS);
  if (timedOut) fail(`\`${INSTALL_COMMAND}\` did not finish within ${INSTALL_TIMEOUT_MS / 60_000} minutes`);
  if (code !== 0) fail(`\`${INSTALL_COMMAND}\` exited with ${code ?? 'an error starting it'}${asRoot ? '' : ' (run through sudo -n: a password prompt is refused)'}`);
  const found = findChromium();
  if (!found) fail(`the chromium package installed but none of ${CANDIDATES.join(', ')} exists`);
  process.stderr.write(`herald tests: chromium installed in ${((Date.now() - started) / 1000).toFixed(0)} s: ${found}\n`);
  return found!;
}

export async function ensureChromium(): Promise<string> {
  return findChromium() ?? (await installChromium());
}

/** What went wrong in a page: an uncaught error fails the test; console errors and failed requests explain it. */
export interface PageProblems {
  pageErrors: string[];
  consoleErrors: string[];
  failedRequests: string[];
}

export interface Tab {
  context: BrowserContext;
  page: Page;
  problems: PageProblems;
  /**
   * Saves a screenshot as .data/test/screenshots/<test name>/<nn>-<name>.png and returns its path. With `docs`, and
   * UPDATE_CONSOLE_SCREENSHOTS=1 in the environment, it is also copied to docs/console/<docs> (the README's images).
   */
  shot(name: string, opts?: { docs?: string; fullPage?: boolean; maxHeight?: number }): Promise<string>;
}

const slug = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 120) || 'unnamed';

function currentTestName(): string {
  return expect.getState().currentTestName ?? path.basename(expect.getState().testPath ?? 'outside-a-test', '.test.ts');
}

const shotCounters = new Map<string, number>();

export interface BrowserFixture {
  /** A fresh browser context (no cookies, no sessionStorage) with one page, closed after the current test. */
  open(opts?: { viewport?: { width: number; height: number }; baseUrl?: string }): Promise<Tab>;
  readonly browser: Browser;
}

/**
 * Registers beforeAll/afterEach/afterAll in the calling test file: one Chromium per file, a new context per `open()`.
 * After each test every page's problems are checked (an uncaught page error fails the test, with the console errors and
 * failed requests in the message) and a last screenshot of each open page is saved next to the test's others.
 */
export function useBrowser(): BrowserFixture {
  let browser: Browser | null = null;
  let open: Tab[] = [];

  beforeAll(async () => {
    const executablePath = await ensureChromium();
    // --no-sandbox: CI containers run as root, where Chromium's sandbox refuses to start.
    browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'], timeout: 60_000 });
  }, INSTALL_TIMEOUT_MS + 120_000);

  afterEach(async () => {
    const tabs = open;
    open = [];
    const problems: string[] = [];
    for (const tab of tabs) {
      if (!tab.page.isClosed()) await tab.shot('last').catch(() => undefined);
      await tab.context.close().catch(() => undefined);
      const p = tab.problems;
      if (p.pageErrors.length) {
        problems.push(
          `uncaught error(s) in the page:\n  ${p.pageErrors.join('\n  ')}` +
            (p.consoleErrors.length ? `\nconsole errors:\n  ${p.consoleErrors.join('\n  ')}` : '') +
            (p.failedRequests.length ? `\nfailed requests:\n  ${p.failedRequests.join('\n  ')}` : ''),
        );
      }
    }
    if (problems.length) throw new Error(problems.join('\n\n'));
  });

  afterAll(async () => {
    await browser?.close();
  });

  return {
    get browser() {
      if (!browser) throw new Error('the browser is not started yet (use it inside a test)');
      return browser;
    },
    async open(opts = {}) {
      if (!browser) throw new Error('the browser is not started yet (use it inside a test)');
      const context = await browser.newContext({ viewport: opts.viewport ?? { width: 1280, height: 900 }, baseURL: opts.baseUrl, locale: 'en-GB', timezoneId: 'Europe/Berlin' });
      const page = await context.newPage();
      const problems: PageProblems = { pageErrors: [], consoleErrors: [], failedRequests: [] };
      page.on('pageerror', (err) => problems.pageErrors.push(err.stack ?? err.message));
      page.on('console', (msg) => {
        if (msg.type() === 'error') problems.consoleErrors.push(msg.text());
      });
      page.on('requestfailed', (req) => problems.failedRequests.push(`${req.method()} ${req.url()}: ${req.failure()?.errorText ?? 'failed'}`));
      page.on('response', (res) => {
        if (res.status() >= 500) problems.failedRequests.push(`${res.request().method()} ${res.url()}: ${res.status()}`);
      });
      const dir = path.join(SCREENSHOT_DIR, slug(currentTestName()));
      const tab: Tab = {
        context,
        page,
        problems,
        async shot(name, shotOpts = {}) {
          // The first screenshot of a test in this run clears what an earlier run left in its folder.
          if (!shotCounters.has(dir)) rmSync(dir, { recursive: true, force: true });
          mkdirSync(dir, { recursive: true });
          const n = (shotCounters.get(dir) ?? 0) + 1;
          shotCounters.set(dir, n);
          const file = path.join(dir, `${String(n).padStart(2, '0')}-${slug(name)}.png`);
          if (shotOpts.maxHeight) {
            // The top of the whole page, cut at maxHeight: long pages made short enough for a README.
            const { width, height } = await page.evaluate(() => ({ width: window.innerWidth, height: document.documentElement.scrollHeight }));
            await page.screenshot({ path: file, fullPage: true, clip: { x: 0, y: 0, width, height: Math.min(height, shotOpts.maxHeight) } });
          } else {
            await page.screenshot({ path: file, fullPage: shotOpts.fullPage ?? false });
          }
          if (shotOpts.docs && process.env.UPDATE_CONSOLE_SCREENSHOTS === '1') {
            mkdirSync(DOCS_DIR, { recursive: true });
            copyFileSync(file, path.join(DOCS_DIR, shotOpts.docs));
          }
          return file;
        },
      };
      open.push(tab);
      return tab;
    },
  };
}
