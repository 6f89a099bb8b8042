// Approval in the console, in a real Chromium against a real Herald: an edit that breaks X's limit is shown as over
// before sending and, sent anyway, the API's 422 appears next to X's variant; a valid edit is approved and published as
// edited; a rejection carries its reason; a review link made in the console is opened by a second browser context that
// has no API key, and approving there publishes the pipeline the first page is watching; and an edit is approved with
// the keyboard alone.
import type { Tab } from '../helpers/browser';
import { dryRunRequest, type Harness } from '../helpers/harness';
import { horizontalOverflow, lowContrastText, signIn, textBecomes, useConsole, WAIT_MS } from './console-steps';

const { browser: b, herald } = useConsole();
let h: Harness;
beforeAll(() => {
  h = herald();
});

async function awaitingApproval(topic: string): Promise<any> {
  const res = await h.api('POST', '/v1/pipelines', dryRunRequest({ topic, approval: { required: true }, image: { mode: 'none' } }));
  expect(res.status).toBe(202);
  return h.waitFor(res.body.id, (s) => s.status === 'awaiting_approval', { timeoutMs: 90_000 });
}

async function openPipeline(id: string): Promise<Tab> {
  const tab = await b.open();
  await signIn(tab, h.baseUrl, h.keys.a);
  await tab.page.evaluate((hash) => {
    location.hash = hash;
  }, `#/pipelines/${encodeURIComponent(id)}`);
  await textBecomes(tab.page.getByTestId('pipeline-status'), /awaiting approval|awaiting_approval/i);
  return tab;
}

it('an X edit over 280 is shown as over before sending, its 422 appears next to the variant, and a valid edit is published as edited', async () => {
  const s = await awaitingApproval(`Approval in a browser ${Date.now()}`);
  const tab = await openPipeline(s.id);
  const { page } = tab;

  const xVariant = page.getByLabel(/^x text$/i);
  const tooLong = `${'Durable workflows keep every step. '.repeat(9)}End.`; // 319 characters, one part
  expect(tooLong.length).toBeGreaterThan(280);
  await xVariant.fill(tooLong);
  // Before sending: the counter says it is over.
  await textBecomes(page.getByTestId('counter-x'), /319\s*\/\s*280|over|too long/i);
  await tab.shot('x variant over the limit');

  // Sent anyway: the API refuses it with 422, and the refusal is placed next to X's text.
  const [refusal] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith(`/v1/pipelines/${s.id}/approve`), { timeout: WAIT_MS }),
    page.getByRole('button', { name: /^approve/i }).click(),
  ]);
  expect(refusal.status()).toBe(422);
  // Next to it: in the field of X's text, which is marked invalid for screen readers too.
  await textBecomes(page.locator('.field', { has: xVariant }).getByTestId('problem-variants.x'), /280|limit|too long|shorten/i);
  expect(await xVariant.getAttribute('aria-invalid')).toBe('true');
  await xVariant.evaluate((el) => el.scrollIntoView({ block: 'center' }));
  await tab.shot('approval refused next to the variant', { docs: 'approval-over-limit.png' });
  // Refused, not decided: the pipeline still waits.
  expect((await h.api('GET', `/v1/pipelines/${s.id}`)).body.status).toBe('awaiting_approval');

  const edited = 'Reviewed in the console: a durable workflow records every step, so a dead worker loses nothing.';
  await xVariant.fill(edited);
  await textBecomes(page.getByTestId('counter-x'), new RegExp(`${edited.length}\\s*/\\s*280`));
  await page.getByRole('button', { name: /^approve/i }).click();
  await textBecomes(page.getByTestId('pipeline-status'), /published/i, 120_000);

  const done = (await h.api('GET', `/v1/pipelines/${s.id}`)).body;
  expect(done.approval).toMatchObject({ decision: 'approved', edited: true });
  expect(done.variants.find((v: any) => v.platform === 'x').parts).toEqual([edited]);
  await textBecomes(page.getByTestId('preview-x'), new RegExp(edited.slice(0, 40)));
  await tab.shot('published as edited');
});

it('rejects with a reason; the page and the API show it rejected with that reason', async () => {
  const s = await awaitingApproval(`Rejection in a browser ${Date.now()}`);
  const tab = await openPipeline(s.id);
  const { page } = tab;
  const reason = 'Off-brand: we do not name competitors.';
  await page.getByLabel(/reason/i).fill(reason);
  // The answer to the rejection is the state as the decision left it ("awaiting approval, decided: rejected"); the
  // event stream brings "rejected" and ends. On a busy machine the answer can reach the page last: held back here
  // until the page already reads "rejected", it must not turn the page back to awaiting approval.
  let heldBack = false;
  await page.route(`**/v1/pipelines/${s.id}/reject`, async (route) => {
    const answer = await route.fetch();
    await textBecomes(page.getByTestId('pipeline-status'), /rejected/i);
    heldBack = true;
    await route.fulfill({ response: answer });
  });
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith(`/v1/pipelines/${s.id}/reject`), { timeout: WAIT_MS }),
    page.getByRole('button', { name: /^reject/i }).click(),
  ]);
  expect(answer.status()).toBe(200);
  expect(heldBack).toBe(true);
  expect((await answer.json()).approval).toMatchObject({ decision: 'rejected', reason });
  await answer.finished();
  // Once the page has read the late answer (its rendering runs on the next frames), it still says rejected.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(r, 0)))));
  expect((await page.getByTestId('pipeline-status').innerText()).trim()).toMatch(/rejected/i);
  await textBecomes(page.getByTestId('pipeline-status'), /rejected/i);
  // The page says why, for whoever opens it later.
  await page.getByRole('main').getByText(`Rejected: ${reason}`).first().waitFor({ timeout: WAIT_MS });
  const done = (await h.api('GET', `/v1/pipelines/${s.id}`)).body;
  expect(done.status).toBe('rejected');
  expect(JSON.stringify(done.approval)).toContain(reason);
  await tab.shot('rejected');
});

it('a review link made in the console approves from a second browser without a key; the first page sees it published', async () => {
  const s = await awaitingApproval(`Review link in a browser ${Date.now()}`);
  const tab = await openPipeline(s.id);
  const { page } = tab;
  await page.getByRole('button', { name: /create a review link/i }).click();
  const linkField = page.getByLabel(/review link/i);
  await linkField.waitFor({ timeout: WAIT_MS });
  const url = (await linkField.inputValue()).trim();
  expect(url).toMatch(new RegExp(`^${h.baseUrl}/review/`));
  expect(url).not.toContain(h.keys.a);

  // The reviewer is on a phone.
  const reviewer = await b.open({ viewport: { width: 390, height: 844 } });
  await reviewer.page.goto(url);
  // The review page draws the same previews as the console, fits the phone and is readable.
  await reviewer.page.getByTestId('preview-x').waitFor({ timeout: WAIT_MS });
  expect(await reviewer.page.evaluate(() => sessionStorage.length + localStorage.length)).toBe(0);
  // Drawn by the same components: X's post reads the same on the review page as in the console.
  const normalised = async (tabPage: typeof page) => (await tabPage.getByTestId('preview-x').innerText()).replace(/\s+/g, ' ').trim();
  expect(await normalised(reviewer.page)).toBe(await normalised(page));
  const o = await horizontalOverflow(reviewer.page);
  expect(o.scrollWidth > o.innerWidth ? `${o.scrollWidth} px wide; widest: ${o.widest}` : 'fits').toBe('fits');
  expect(await lowContrastText(reviewer.page)).toEqual([]);
  await reviewer.shot('review page', { fullPage: true });
  await reviewer.page.getByRole('button', { name: /^approve/i }).click();
  await reviewer.page.getByText(/approved/i).first().waitFor({ timeout: WAIT_MS });
  await reviewer.shot('approved from the review page');

  await textBecomes(page.getByTestId('pipeline-status'), /published/i, 120_000);
  const done = (await h.api('GET', `/v1/pipelines/${s.id}`)).body;
  expect(done.approval).toMatchObject({ decision: 'approved', by: 'review_link' });
});

it('approves with an edit from the keyboard alone: Tab to X’s text, type, Tab to the button, Enter', async () => {
  const s = await awaitingApproval(`Keyboard approval ${Date.now()}`);
  const tab = await openPipeline(s.id);
  const { page } = tab;
  const focusedName = () =>
    page.evaluate(() => {
      const el = document.activeElement as HTMLInputElement | null;
      return el && el !== document.body ? (el.labels?.[0]?.innerText ?? el.getAttribute('aria-label') ?? el.innerText ?? '').trim() : '';
    });
  const tabTo = async (name: RegExp) => {
    const seen: string[] = [];
    for (let i = 0; i < 80; i++) {
      await page.keyboard.press('Tab');
      const now = await focusedName();
      if (name.test(now)) return;
      seen.push(now);
    }
    throw new Error(`Tab never reached ${name}; it went through: ${seen.join(' | ')}`);
  };
  await tabTo(/^x text$/i);
  await page.keyboard.press('ControlOrMeta+A');
  const edited = 'Approved from the keyboard: every step of a durable workflow is recorded.';
  await page.keyboard.type(edited);
  await tabTo(/^approve/i);
  await page.keyboard.press('Enter');
  await textBecomes(page.getByTestId('pipeline-status'), /published/i, 120_000);
  const done = (await h.api('GET', `/v1/pipelines/${s.id}`)).body;
  expect(done.approval).toMatchObject({ decision: 'approved', edited: true });
  expect(done.variants.find((v: any) => v.platform === 'x').parts).toEqual([edited]);
});
