// The console in a real Chromium against a real Herald (API serving the console, worker, Temporal, PostgreSQL): a person
// signs in with an API key, composes a dry-run thread to five platforms, sees the counters while typing, and watches the
// pipeline reach `published` on its live page with every platform's preview. The compose form is reachable by keyboard.
import type { Harness } from '../helpers/harness';
import { signIn, textBecomes, useConsole, WAIT_MS } from './console-steps';

const { browser: b, herald } = useConsole();
let h: Harness;
beforeAll(() => {
  h = herald();
});

const PLATFORMS = ['x', 'bluesky', 'threads', 'mastodon', 'linkedin'] as const;
const NAMES: Record<(typeof PLATFORMS)[number], RegExp> = { x: /^x\b/i, bluesky: /bluesky/i, threads: /^threads/i, mastodon: /mastodon/i, linkedin: /linkedin/i };

it('signs in, composes a dry-run thread to five platforms and watches it reach published, with each platform previewed', async () => {
  const tab = await b.open();
  const { page } = tab;
  await signIn(tab, h.baseUrl, h.keys.a);
  // The key lives in sessionStorage only: never in the URL or localStorage.
  expect(page.url()).not.toContain(h.keys.a);
  expect(await page.evaluate(() => JSON.stringify({ ...localStorage }))).not.toContain(h.keys.a);

  await page.getByRole('heading', { level: 1, name: /compose/i }).waitFor({ timeout: WAIT_MS });
  const topic = `Durable workflows in a browser test ${Date.now()}`;
  await page.getByLabel(/^topic/i).fill(topic);
  await page
    .getByLabel(/^brief/i)
    .fill('Cron jobs fail silently. A durable workflow records every step and picks up where it stopped when a worker dies.');
  await page.getByLabel(/^format/i).selectOption('thread');
  for (const p of PLATFORMS) await page.getByRole('checkbox', { name: NAMES[p] }).check();
  await page.getByLabel(/dry run/i).check();

  // The request is checked through /v1/validate as the person types; each chosen platform gets a counter with its own
  // limit and unit (the text itself is written when the pipeline runs).
  await textBecomes(page.getByTestId('validate-status'), /no problems/i);
  const LIMITS = { x: /280 weighted characters/, bluesky: /300 graphemes/, threads: /500 characters/, mastodon: /\d+ characters/, linkedin: /3000 characters/ };
  for (const p of PLATFORMS) await textBecomes(page.getByTestId(`counter-${p}`), LIMITS[p]);
  await tab.shot('compose filled in', { docs: 'compose.png', maxHeight: 2000 });

  await page.getByRole('button', { name: /start pipeline/i }).click();
  await page.waitForURL(/#\/pipelines\/[^/]+$/, { timeout: WAIT_MS });
  const id = decodeURIComponent(page.url().split('#/pipelines/')[1]);

  await textBecomes(page.getByTestId('pipeline-status'), /published/i, 120_000);
  // The page agrees with the API, which it got live (no reload here).
  const state = (await h.api('GET', `/v1/pipelines/${id}`)).body;
  expect(state.status).toBe('published');
  expect(state.content.title).toBeTruthy();
  for (const p of PLATFORMS) {
    // Each preview shows that platform's own text (its first line, before any fold).
    const firstLine = state.variants.find((v: any) => v.platform === p).parts[0].split('\n')[0].slice(0, 30);
    expect(await textBecomes(page.getByTestId(`preview-${p}`), /\S/)).toContain(firstLine);
    await textBecomes(page.getByTestId(`publication-${p}`), /previewed|published|dry/i);
  }
  // X as a thread: the first part of X's variant is in X's preview.
  const xParts: string[] = state.variants.find((v: any) => v.platform === 'x').parts;
  expect(xParts.length).toBeGreaterThan(1);
  const xPreview = await page.getByTestId('preview-x').innerText();
  expect(xPreview).toContain(xParts[0].slice(0, 40));
  await tab.shot('pipeline published', { fullPage: true });
  await tab.shot('pipeline live view', { docs: 'pipeline-live-view.png', maxHeight: 1650 });
});

it('the compose form is reachable from the keyboard alone: Tab reaches every field and the submit button', async () => {
  const tab = await b.open();
  const { page } = tab;
  await signIn(tab, h.baseUrl, h.keys.a);
  await page.getByRole('heading', { level: 1 }).waitFor({ timeout: WAIT_MS });
  const wanted = [/^topic/i, /^brief/i, /^voice/i, /^audience/i, /^format/i, /^x$/i, /^linkedin$/i, /dry run/i, /^images/i, /approval/i, /^publish at/i, /^priority/i];
  const reached: string[] = [];
  let submitReached = false;
  for (let i = 0; i < 80 && !(submitReached && wanted.every((w) => reached.some((r) => w.test(r)))); i++) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el || el === document.body) return null;
      const labelled = (el as HTMLInputElement).labels?.[0]?.innerText ?? el.getAttribute('aria-label') ?? '';
      const style = getComputedStyle(el);
      const visible = el.getBoundingClientRect().width > 0 && style.visibility !== 'hidden';
      // Where the focus is must show: an outline or a focus ring drawn with box-shadow. Chromium moves the focus of a
      // date or time field into its own segments, which it highlights itself.
      const segmented = /^(date|time|datetime-local|month|week)$/.test((el as HTMLInputElement).type ?? '');
      const ringed = segmented || (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none';
      return { tag: el.tagName.toLowerCase(), type: (el as HTMLInputElement).type ?? '', name: labelled || el.innerText || '', visible, ringed };
    });
    if (!focused) continue;
    expect({ name: focused.name, visible: focused.visible, ringed: focused.ringed }).toEqual({ name: focused.name, visible: true, ringed: true });
    reached.push(focused.name.trim());
    if (focused.tag === 'button' && /start pipeline/i.test(focused.name) && (focused.type === 'submit' || focused.type === '')) submitReached = true;
  }
  for (const w of wanted) expect(reached.some((r) => w.test(r))).toBe(true);
  expect(submitReached).toBe(true);
  await tab.shot('keyboard focus on submit');
});
