// The plan and the accounts pages in a real Chromium against a real Herald: a scheduled post is moved to a new time from
// the plan (the page and the API both show the new time); an X account whose token X revoked stands out on the accounts
// page and says what to do; and every page fits a 390 px wide phone without scrolling sideways, its text readable
// (contrast 4.5:1 or more).
import { dryRunRequest, type Harness } from '../helpers/harness';
import { startXFake, type XFake } from '../fakes/x-server';
import { berlinWallTime, goTo, TIME_ZONE, horizontalOverflow, lowContrastText, signIn, textBecomes, useConsole, WAIT_MS } from './console-steps';

let x: XFake;
beforeAll(async () => {
  x = await startXFake({ clientId: 'herald-console-client' });
});
afterAll(async () => {
  await x?.close();
});
const { browser: b, herald } = useConsole(() => ({ X_API_BASE_URL: x.url, X_CLIENT_ID: 'herald-console-client', WEBHOOK_ALLOW_PRIVATE: 'true' }));
let h: Harness;
beforeAll(() => {
  h = herald();
});

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

it('reschedules a scheduled post from the plan: the calendar shows it, and the page and the API then have the new time', async () => {
  const hour = 3_600_000;
  const publishAt = new Date(Math.ceil((Date.now() + 2 * hour) / hour) * hour).toISOString();
  const res = await h.api('POST', '/v1/pipelines', dryRunRequest({ topic: `Plan in a browser ${Date.now()}`, publishAt, image: { mode: 'none' } }));
  expect(res.status).toBe(202);
  const s = await h.waitFor(res.body.id, (st) => st.status === 'scheduled', { timeoutMs: 90_000 });
  // Company in the calendar (those that fall into next week are simply not in this one).
  for (const [days, topic] of [[1, 'Retries declared, not hand-written'], [2, 'Timers that survive restarts']] as const) {
    const other = await h.api('POST', '/v1/pipelines', dryRunRequest({ topic, publishAt: new Date(Date.parse(publishAt) + days * 24 * hour + 30 * 60_000).toISOString(), image: { mode: 'none' } }));
    await h.waitFor(other.body.id, (st) => st.status === 'scheduled', { timeoutMs: 90_000 });
  }

  const tab = await b.open();
  const { page } = tab;
  await signIn(tab, h.baseUrl, h.keys.a);
  await goTo(page, '#/plan', /^plan$/i);
  // In the calendar at its time, as the person's clock reads it: this week's, or next week's when two hours from now
  // is already Monday in Berlin.
  const weekday = (ms: number) => new Intl.DateTimeFormat('en-GB', { timeZone: TIME_ZONE, weekday: 'short' }).format(new Date(ms));
  if (weekday(Date.now()) === 'Sun' && weekday(Date.parse(publishAt)) === 'Mon') await page.getByRole('button', { name: /next week/i }).click();
  const inCalendar = page.getByTestId('calendar').getByTestId(`calendar-post-${s.id}`);
  await textBecomes(inCalendar, new RegExp(berlinWallTime(Date.parse(publishAt)).slice(11)));
  await page.getByTestId('calendar').scrollIntoViewIfNeeded();
  await tab.shot('plan with the scheduled post', { docs: 'calendar.png' });

  const newMs = Date.parse(publishAt) + 26 * hour;
  await page.getByRole('button', { name: new RegExp(`^Reschedule .${escapeRegExp(s.content.title.slice(0, 30))}`) }).first().click();
  await page.getByLabel(/^new time/i).fill(berlinWallTime(newMs));
  await tab.shot('new time chosen');
  await page.getByRole('button', { name: /save new time/i }).click();

  // The list shows the new time (the API may write the instant with the person's offset: compared as instants).
  const shown = page.getByTestId(`plan-row-${s.id}`).locator('td[data-label="Publishes"] time');
  const deadline = Date.now() + WAIT_MS;
  while (Date.parse((await shown.getAttribute('datetime').catch(() => null)) ?? '') !== newMs && Date.now() < deadline) await page.waitForTimeout(200);
  expect(Date.parse((await shown.getAttribute('datetime')) ?? '')).toBe(newMs);
  expect(await shown.innerText()).toContain(berlinWallTime(newMs).slice(11));
  await textBecomes(page.getByTestId('plan-notice'), new RegExp(`Moved .*${berlinWallTime(newMs).slice(11)}`));
  const moved = (await h.api('GET', `/v1/pipelines/${s.id}`)).body;
  expect(Date.parse(moved.publishAt)).toBe(newMs);
  expect(moved.status).toBe('scheduled');
  await tab.shot('rescheduled');
});

async function connectX(): Promise<{ id: string; handle: string }> {
  const tokens = x.issueTokens();
  const handle = `console_${Math.random().toString(36).slice(2, 8)}`;
  const acc = await h.api('POST', '/v1/accounts', {
    platform: 'x',
    handle,
    credentials: { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken },
    settings: { userId: x.user.id, username: x.user.username },
    expiresAt: new Date(Date.now() + 60 * 60_000).toISOString(),
  });
  expect(acc.status).toBe(201);
  return { id: acc.body.id, handle };
}

it('an X account whose token was revoked stands out on the accounts page as needing reconnection, saying what to do', async () => {
  const stale = await connectX();
  x.revoke();
  expect((await h.api('POST', `/v1/accounts/${stale.id}/refresh`)).status).toBe(409);
  expect((await h.api('GET', `/v1/accounts/${stale.id}`)).body.status).toBe('reauth_required');
  const fine = await connectX(); // connected after the revocation: active

  const tab = await b.open();
  const { page } = tab;
  await signIn(tab, h.baseUrl, h.keys.a);
  await goTo(page, '#/accounts', /accounts/i);
  const row = page.getByTestId(`account-${stale.id}`);
  expect(await textBecomes(row, new RegExp(stale.handle))).toBeTruthy();
  // An alert inside its row: what happened and what to do, naming the account.
  const note = row.getByRole('alert');
  const said = await textBecomes(note, /reconnect/i);
  expect(said).toContain(stale.handle);
  expect(said).toMatch(/what to do/i);
  await note.getByRole('button', { name: new RegExp(`reconnect ${stale.handle}`, 'i') }).waitFor({ timeout: WAIT_MS });
  // The active account says nothing of the kind.
  const other = page.getByTestId(`account-${fine.id}`);
  await textBecomes(other, new RegExp(fine.handle));
  expect(await other.getByRole('alert').count()).toBe(0);
  expect(await other.innerText()).not.toMatch(/reconnect needed/i);
  await row.scrollIntoViewIfNeeded();
  await tab.shot('account needing reconnection', { docs: 'accounts.png' });
});

it('every page at 390 px: no sideways scrolling, and text contrast of 4.5:1 or more, on compose, plan, schedules, accounts, providers, webhooks and a pipeline', async () => {
  const res = await h.api('POST', '/v1/pipelines', dryRunRequest({ topic: `Narrow screens ${Date.now()}`, image: { mode: 'none' } }));
  await h.waitFor(res.body.id, (st) => st.status === 'published', { timeoutMs: 90_000 });
  // Rows on every page, long ones included: a schedule, a webhook whose receiver is not there, an account.
  const scheduleTopic = 'A weekly roundup of what the workflows did, with a rather long topic for a phone';
  const schedule = await h.api('POST', '/v1/schedules', { every: '168h', pipeline: dryRunRequest({ topic: scheduleTopic }) });
  expect(schedule.status).toBe(201);
  const hookUrl = 'http://127.0.0.1:9/a-receiver-path-long-enough-to-wrap-on-a-phone-screen/events';
  expect((await h.api('POST', '/v1/webhooks', { url: hookUrl, events: ['pipeline.published'] })).status).toBe(201);
  const account = await connectX();
  try {
    const tab = await b.open({ viewport: { width: 390, height: 844 } });
    const { page } = tab;
    await signIn(tab, h.baseUrl, h.keys.a);
    const pages: [string, RegExp, string | null][] = [
      ['#/compose', /compose/i, null],
      ['#/plan', /plan/i, null],
      ['#/schedules', /schedules/i, scheduleTopic.slice(0, 20)],
      ['#/accounts', /accounts/i, account.handle],
      ['#/providers', /providers/i, null],
      ['#/webhooks', /webhooks/i, '127.0.0.1:9'],
      [`#/pipelines/${encodeURIComponent(res.body.id)}`, /./, null],
    ];
    const overflowing: string[] = [];
    const faint: string[] = [];
    for (const [route, heading, shows] of pages) {
      await goTo(page, route, heading);
      if (shows) await page.getByRole('main').getByText(shows).first().waitFor({ timeout: WAIT_MS });
      // Pages load their data after the heading; the pipeline page keeps its event stream open, so idle is capped.
      await page.waitForLoadState('networkidle', { timeout: 5_000 }).catch(() => undefined);
      const o = await horizontalOverflow(page);
      await tab.shot(`390 ${route}`, { fullPage: true });
      if (o.scrollWidth > o.innerWidth) overflowing.push(`${route}: ${o.scrollWidth} px wide in a ${o.innerWidth} px window; widest: ${o.widest}`);
      faint.push(...(await lowContrastText(page)).map((t) => `${route}: ${t}`));
    }
    expect(overflowing).toEqual([]);
    expect(faint).toEqual([]);
  } finally {
    // No Schedule left ticking on the run's Temporal.
    await h.api('DELETE', `/v1/schedules/${schedule.body.id}`);
  }
});
