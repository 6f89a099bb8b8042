// The reviewEdits activity: a reviewer's words are re-checked against every target and never cut silently.
import { createReviewEdits } from '../../../src/activities/review-edits';
import type { Content, Variant } from '../../../src/domain/types';

const reviewEdits = createReviewEdits({ adaptOptions: {} });
const content: Content = { title: 'Durable', body: 'Workflows keep their state.', hashtags: ['durable'], provider: 'offline', model: 'offline', cached: false };
const variants: Variant[] = [
  { platform: 'x', parts: ['Workflows keep their state.\n\n#durable'], length: 37, limit: 280, adaptations: [] },
  { platform: 'linkedin', parts: ['Workflows keep their state.\n\n#durable'], length: 37, limit: 3000, adaptations: [] },
];
const long = 'Durable workflows keep every step on record. '.repeat(8).trim(); // 359 characters

describe('reviewEdits', () => {
  it('refuses an edited body that X could only take shortened, naming the platform and the limit', async () => {
    const r = await reviewEdits({ content, variants, format: 'post', edits: { body: long } });
    expect(r).toEqual({ ok: false, reasons: ['x: the edited body does not fit (limit 280); shorten it or give variants.x its own text'] });
  });

  it("accepts the same body with X's own text, which is used as it is", async () => {
    const r = await reviewEdits({ content, variants, format: 'post', edits: { body: long, variants: { x: 'Short and ours.' } } });
    if (!r.ok) throw new Error(r.reasons.join('; '));
    expect(r.variants.map((v) => [v.platform, v.parts])).toEqual([
      ['x', ['Short and ours.']],
      ['linkedin', [`${long}\n\n#durable`]],
    ]);
    expect(r.variants[0].adaptations).toEqual(['edited by reviewer']);
  });

  it("refuses a platform's own text over its limit with the counted numbers, and a platform that is not a target", async () => {
    const r = await reviewEdits({ content, variants, format: 'post', edits: { variants: { x: 'y'.repeat(290), bluesky: 'hello' } } });
    expect(r).toEqual({ ok: false, reasons: ['x: 290 weighted characters, limit 280', 'bluesky: not a target of this pipeline'] });
  });

  it('keeps variants untouched when nothing textual was edited', async () => {
    const r = await reviewEdits({ content, variants, format: 'post', edits: {} });
    expect(r).toEqual({ ok: true, content, variants });
  });
});
