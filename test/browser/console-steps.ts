// Steps the console's browser tests share: a Herald whose API serves the console, signing in as a person would, and
// waiting for what a page shows (playwright-core has no web-first assertions: these poll with a deadline).
import type { Locator, Page } from 'playwright-core';
import { startHarness, type Harness } from '../helpers/harness';
import { useBrowser, type BrowserFixture, type Tab } from '../helpers/browser';

export const WAIT_MS = 60_000;
/** The browser's time zone (test/helpers/browser.ts opens every context in it). */
export const TIME_ZONE = 'Europe/Berlin';

/** A real Herald (API, worker, Temporal, PostgreSQL) with the offline text provider and title cards. */
export function startConsoleHarness(env: Record<string, string> = {}): Promise<Harness> {
  return startHarness({ env: { TEXT_PROVIDERS: 'offline', IMAGE_SOURCES: 'card', ...env } });
}

/**
 * For a test file: one Chromium and one Herald serving the console, started before its tests and stopped after.
 * `env` is read when Herald starts (so it may name servers a beforeAll registered earlier started).
 */
export function useConsole(env: () => Record<string, string> = () => ({})): { browser: BrowserFixture; herald(): Harness } {
  jest.setTimeout(240_000);
  const browser = useBrowser();
  let h: Harness | undefined;
  beforeAll(async () => {
    h = await startConsoleHarness(env());
  }, 180_000);
  afterAll(async () => {
    await h?.stop();
  });
  return {
    browser,
    herald() {
      if (!h) throw new Error('Herald is not started yet (use it inside a test)');
      return h;
    },
  };
}

/** `YYYY-MM-DDTHH:mm` of an instant on a Berlin wall clock (what a datetime-local field holds there), without the console's code. */
export function berlinWallTime(ms: number): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', { timeZone: TIME_ZONE, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
}

/** Opens the console at / and signs in with the API key, the way its sign-in page asks for it. */
export async function signIn(tab: Tab, baseUrl: string, key: string): Promise<void> {
  const { page } = tab;
  await page.goto(`${baseUrl}/`);
  await page.getByLabel(/api key/i).fill(key);
  await page.getByRole('button', { name: /sign in/i }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor({ timeout: WAIT_MS });
}

/** Goes to a console page by its hash route (`#/plan`) and waits for its heading. */
export async function goTo(page: Page, route: string, heading: RegExp): Promise<void> {
  await page.evaluate((hash) => {
    location.hash = hash;
  }, route);
  await page.getByRole('heading', { level: 1, name: heading }).waitFor({ timeout: WAIT_MS });
}

/** Waits until the locator's text matches, and returns that text; the error names what was last seen. */
export async function textBecomes(locator: Locator, pattern: RegExp, timeoutMs = WAIT_MS): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '(not on the page)';
  while (Date.now() < deadline) {
    if ((await locator.count()) > 0) {
      last = (await locator.first().innerText().catch(() => last)).trim();
      if (pattern.test(last)) return last;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`waited ${timeoutMs / 1000} s for ${locator} to read ${pattern}; it read: ${JSON.stringify(last)}`);
}

/** The page scrolls sideways when its content is wider than the window. */
export function horizontalOverflow(page: Page): Promise<{ scrollWidth: number; innerWidth: number; widest: string }> {
  return page.evaluate(() => {
    const innerWidth = window.innerWidth;
    let widest = '';
    let max = innerWidth;
    for (const el of Array.from(document.querySelectorAll<HTMLElement>('body *'))) {
      const right = el.getBoundingClientRect().right;
      if (right > max + 1) {
        max = right;
        widest = `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.className && typeof el.className === 'string' ? `.${el.className.split(' ').join('.')}` : ''} (right edge ${Math.round(right)} px)`;
      }
    }
    return { scrollWidth: document.documentElement.scrollWidth, innerWidth, widest };
  });
}

/**
 * Text on the page whose contrast with what is behind it is under WCAG's minimum: 4.5:1, or 3:1 for large text (24 px,
 * or 18.66 px bold). Colours are computed here from the rendered styles (WCAG's relative luminance), with the
 * background taken from the nearest ancestor that paints one; disabled controls are exempt, as WCAG exempts them.
 */
export function lowContrastText(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const parse = (c: string): [number, number, number, number] | null => {
      const m = /rgba?\(([^)]+)\)/.exec(c);
      if (!m) return null;
      const [r, g, b, a = '1'] = m[1].split(/[ ,/]+/).filter(Boolean);
      return [Number(r), Number(g), Number(b), Number(a)];
    };
    const lum = ([r, g, b]: number[]) => {
      const f = (v: number) => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const background = (el: Element | null): number[] => {
      for (let e = el; e; e = e.parentElement) {
        const bg = parse(getComputedStyle(e).backgroundColor);
        if (bg && bg[3] > 0) return bg.slice(0, 3);
      }
      return [255, 255, 255];
    };
    const found: string[] = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const text = (n.textContent ?? '').trim();
      const el = n.parentElement;
      if (!text || !el) continue;
      const rect = el.getBoundingClientRect();
      const style = getComputedStyle(el);
      if (rect.width === 0 || rect.height === 0 || style.visibility === 'hidden' || el.closest('[hidden], .visually-hidden, noscript')) continue;
      if (el.closest(':disabled, [aria-disabled="true"]')) continue;
      const fg = parse(style.color);
      if (!fg) continue;
      const bg = background(el);
      // A translucent text colour is drawn over its background.
      const drawn = fg.slice(0, 3).map((v, i) => v * fg[3] + bg[i] * (1 - fg[3]));
      const [hi, lo] = [lum(drawn), lum(bg)].sort((a, b) => b - a);
      const ratio = (hi + 0.05) / (lo + 0.05);
      const size = parseFloat(style.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) found.push(`"${text.slice(0, 40)}" (${el.tagName.toLowerCase()}.${el.className}): ${ratio.toFixed(2)}:1`);
    }
    return found;
  });
}
