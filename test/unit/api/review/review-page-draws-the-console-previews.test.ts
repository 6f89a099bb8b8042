// The reviewer's page draws every platform's post with the console's preview components, rendered on the server: the
// same hooks (data-testid) and folds as the console, one escaping for the whole page (> and ' too), and still no
// script and no inline style.
import { renderReviewPage } from '../../../../src/api/review/page';
import type { PipelineState } from '../../../../src/domain/types';

const long = `It's <b>bold</b> & "quoted" > plain. ${'Durable workflows keep every step on record. '.repeat(8)}`.trim();
const state = {
  id: 'pl_1',
  tenantId: 't',
  status: 'awaiting_approval',
  request: { topic: 'Topic', format: 'thread' },
  content: { title: 'Title', body: long, hashtags: [] },
  images: [{ id: 'm1', url: '/v1/media/m1', source: 'card', alt: 'A card', attribution: null, fallbackReason: null, width: 1080, height: 1080 }],
  variants: [
    { platform: 'linkedin', parts: [long], length: long.length, limit: 3000, adaptations: [] },
    { platform: 'instagram', parts: ['Short caption'], length: 13, limit: 2200, adaptations: [] },
    { platform: 'bluesky', parts: ['1/2 first', '2/2 second'], length: 10, limit: 300, adaptations: ['split into 2 posts'] },
  ],
  publications: [],
  publishAt: null,
  approval: { required: true, timeout: null, onTimeout: 'reject', deadline: null, decision: null, decidedAt: null, reason: null, edited: false },
  error: null,
  version: 1,
} as unknown as PipelineState;

const html = renderReviewPage({ state, approveAction: '/review/t/approve', rejectAction: '/review/t/reject', linkExpiresAt: '2026-12-03T10:00:00.000Z' });

it('draws each platform with its preview, as the console does', () => {
  for (const p of ['linkedin', 'instagram', 'bluesky']) expect(html).toContain(`data-testid="preview-${p}"`);
  expect(html).toContain('…see more'); // LinkedIn's fold, a <details> that opens without a script
  expect(html).toContain('<ol aria-label="Bluesky: 2 posts"><li>');
  expect(html).toContain('class="pv-img pv-square"'); // Instagram's square image
});

it('escapes the previews’ text the page’s way, whole and in one piece', () => {
  const escaped = long.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
  expect(html.split(escaped).length - 1).toBe(3); // the content section, the body's field and LinkedIn's opened fold
  expect(html).not.toContain('<b>');
  expect(html).not.toMatch(/<script| style=| on[a-z]+=/);
});
