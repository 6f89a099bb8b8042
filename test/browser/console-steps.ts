// Steps the console's browser tests share: a Herald whose API serves the console, signing in as a person would, and
// waiting for what a page shows (playwright-core has no web-first assertions: these poll with a deadline).
import type { Locator, Page } from 'playwright-core';
import { startHarness, type Harness } from '../helpers/harness';
import type { Tab } from '../helpers/browser';

export const WAIT_MS = 60_000;

/** A real Herald (API, worker, Temporal, PostgreSQL) with the offline text provider and title cards. */
export function startConsoleHarness(env: Record<string, string> = {}): Promise<Harness> {
  return startHarness({ env: { TEXT_PROVIDERS: 'offline', IMAGE_SOURCES: 'card', ...env } });
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
