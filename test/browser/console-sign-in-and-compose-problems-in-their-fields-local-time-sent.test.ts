// The console in a real Chromium (time zone Europe/Berlin) against a real Herald. Sign-in: a wrong key is refused with
// what to do, a right one lives only in the tab's session storage and is forgotten on sign out. Compose, at 390 px wide:
// what /v1/validate finds is shown inside the field it concerns (a missing account, a past publish time), fixing the
// fields clears it, the page names the time zone, and a publish time typed as Berlin wall time reaches the API as that instant.
import { useBrowser } from '../helpers/browser';
import type { Harness } from '../helpers/harness';
import { signIn, startConsoleHarness, textBecomes, WAIT_MS } from './console-steps';

jest.setTimeout(240_000);

const b = useBrowser();
let h: Harness;
beforeAll(async () => {
  h = await startConsoleHarness();
}, 180_000);
afterAll(async () => {
  await h?.stop();
});

/** `YYYY-MM-DDTHH:mm` of an instant on a Berlin wall clock (what a datetime-local field holds there). */
function berlinWallTime(ms: number): string {
  const p = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(new Date(ms))
      .map((x) => [x.type, x.value]),
  );
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}

it('shows each problem inside its field, clears it when fixed, and sends the Berlin wall time as that instant', async () => {
  const tab = await b.open({ viewport: { width: 390, height: 844 } });
  const { page } = tab;
  await signIn(tab, h.baseUrl, h.keys.a);
  await page.getByRole('heading', { level: 1, name: /compose/i }).waitFor({ timeout: WAIT_MS });

  const fieldOf = (label: RegExp) => page.locator('.field', { has: page.getByLabel(label) });
  // No account is connected: the form starts as a dry run, the only thing that can be published.
  const dryRun = page.getByLabel(/dry run/i);
  await page.waitForFunction(() => (document.querySelector('input[aria-describedby="dry-run-help"]') as HTMLInputElement | null)?.checked === true, null, { timeout: WAIT_MS });
  await page.getByLabel(/^topic/i).fill('Why retries need idempotency keys');
  await page.getByRole('checkbox', { name: /^x$/i }).check();
  // Not a dry run and no X account connected: the account is missing, said next to "Account for X" with what to do.
  await dryRun.uncheck();
  const accountProblem = fieldOf(/^account for x/i).getByTestId('problem-targets.0.accountId');
  await textBecomes(accountProblem, /account[\s\S]*choose the account to post as, or tick .dry run./i);
  await textBecomes(page.getByTestId('validate-status'), /1 problem/i);

  // A dry run needs no account; a publish time an hour ago is the next problem, inside the publish time's field.
  await dryRun.check();
  const hourAgo = berlinWallTime(Date.now() - 3_600_000);
  await page.getByLabel(/^publish at/i).fill(hourAgo);
  await textBecomes(fieldOf(/^publish at/i).getByTestId('problem-publishAt'), /past|ahead|future/i);
  expect(await accountProblem.count()).toBe(0);
  const zone = await page.getByTestId('time-zone').innerText();
  expect(zone).toContain('Europe/Berlin');
  await tab.shot('compose with a problem next to the publish time', { fullPage: true });

  // Two days ahead at 10:30 Berlin time: no problem left, and the API receives that instant.
  const ahead = new Date(Date.now() + 2 * 86_400_000);
  const wall = `${berlinWallTime(ahead.getTime()).slice(0, 10)}T10:30`;
  await page.getByLabel(/^publish at/i).fill(wall);
  await textBecomes(page.getByTestId('validate-status'), /no problems/i);
  expect(await page.getByTestId('problem-publishAt').count()).toBe(0);
  await page.getByRole('button', { name: /start pipeline/i }).click();
  await page.waitForURL(/#\/pipelines\/[^/]+$/, { timeout: WAIT_MS });
  const id = decodeURIComponent(page.url().split('#/pipelines/')[1]);

  const state = (await h.api('GET', `/v1/pipelines/${id}`)).body;
  // The oracle: the instant whose Berlin wall time is `wall`, found by searching the offsets Berlin uses.
  const expected = [60, 120].map((offsetMin) => Date.parse(`${wall}:00Z`) - offsetMin * 60_000).find((ms) => berlinWallTime(ms) === wall);
  expect(Date.parse(state.publishAt)).toBe(expected);
  expect(state.request.dryRun).toBe(true);
  await h.api('POST', `/v1/pipelines/${id}/cancel`, {});
});

it('refuses a wrong key with what to do, keeps a right one only in the tab’s session storage, and forgets it on sign out', async () => {
  const tab = await b.open();
  const { page } = tab;
  await page.goto(`${h.baseUrl}/`);
  await page.getByLabel(/api key/i).fill(`${h.keys.a}-wrong`);
  await page.getByRole('button', { name: /sign in/i }).click();
  await textBecomes(page.getByTestId('signin-error'), /did not accept your API key[\s\S]*sign in again/i);
  expect(await page.getByRole('navigation', { name: 'Main' }).count()).toBe(0);

  await signIn(tab, h.baseUrl, h.keys.a);
  expect(await page.evaluate(() => Object.values({ ...sessionStorage }))).toContain(h.keys.a);
  expect(await page.evaluate(() => JSON.stringify({ ...localStorage }))).not.toContain(h.keys.a);
  // A reload in the same tab stays signed in (the session lives as long as the tab's session storage).
  await page.reload();
  await page.getByRole('navigation', { name: 'Main' }).waitFor({ timeout: WAIT_MS });

  await page.getByRole('button', { name: /sign out/i }).click();
  await page.getByLabel(/api key/i).waitFor({ timeout: WAIT_MS });
  expect(await page.evaluate(() => JSON.stringify({ ...sessionStorage }))).not.toContain(h.keys.a);
});

// Last in the file: it connects an account, and the first test needs a tenant with none.
it('a publish time on a day the Instagram account is full is said next to the time, and one button moves it to the next free time', async () => {
  const connected = await h.api('POST', '/v1/accounts', { platform: 'instagram', handle: 'brand_ig', credentials: { accessToken: 'secret-token' } });
  expect(connected.status).toBe(201);
  const H = 3_600_000;
  const first = Math.ceil((Date.now() + 48 * H) / 60_000) * 60_000;
  // Instagram's 50 posts per 24 hours, all taken from `first` on, a minute apart.
  for (let i = 0; i < 50; i += 10) {
    const batch = Array.from({ length: 10 }, (_, j) =>
      h.api('POST', '/v1/pipelines', { topic: `Post ${i + j}`, publishAt: new Date(first + (i + j) * 60_000).toISOString(), targets: [{ platform: 'instagram', accountId: connected.body.id }] }),
    );
    for (const res of await Promise.all(batch)) expect(res.status).toBe(202);
  }

  const tab = await b.open({ viewport: { width: 390, height: 844 } });
  const { page } = tab;
  await signIn(tab, h.baseUrl, h.keys.a);
  await page.getByRole('heading', { level: 1, name: /compose/i }).waitFor({ timeout: WAIT_MS });
  await page.getByLabel(/^topic/i).fill('A photo of the new office');
  await page.getByRole('checkbox', { name: /^instagram$/i }).check();
  // The connected account is chosen for the platform.
  await textBecomes(page.locator('.field', { has: page.getByLabel(/^account for instagram/i) }).locator('select option:checked'), /brand_ig/);
  await page.getByLabel(/^publish at/i).fill(berlinWallTime(first + 3 * H));

  const publishField = page.locator('.field', { has: page.getByLabel(/^publish at/i) });
  await textBecomes(publishField.getByTestId('problem-publishAt'), /choose a later time, or take the next free one/i);
  await tab.shot('compose with a full day and the next free time offered', { fullPage: true });
  await page.getByRole('button', { name: /next free time/i }).click();
  await textBecomes(page.getByTestId('validate-status'), /no problems/i);
  expect(await page.getByLabel(/^publish at/i).inputValue()).toBe(berlinWallTime(first + 24 * H));
});
