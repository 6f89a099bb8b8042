// The reviewer's page is built from text that came from AI providers and people: none of it may become markup, and
// the one style sheet must be exactly what the Content-Security-Policy allows (a browser would drop it otherwise).
import { createHash } from 'node:crypto';
import { REVIEW_PAGE_CSP, renderMessagePage, renderReviewPage } from '../../../../src/api/review/page';
import type { PipelineState } from '../../../../src/domain/types';

const evil = `<script>alert(1)</script>"'&`;
const state = {
  id: 'pl_1',
  tenantId: 'tenant_secret',
  status: 'awaiting_approval',
  request: { topic: evil, format: 'thread' },
  content: { title: evil, body: `${evil}\nsecond line`, hashtags: [evil] },
  images: [{ id: 'm1', url: `/v1/media/m1"onerror="x`, source: 'card', alt: evil, attribution: evil, fallbackReason: null }],
  variants: [
    { platform: 'x', parts: [`1/2 ${evil}`, '2/2 end'], length: 30, limit: 280, adaptations: [evil] },
    { platform: 'linkedin', parts: [evil], length: 30, limit: 3000, adaptations: [] },
  ],
  publications: [],
  publishAt: null,
  approval: { required: true, timeout: null, onTimeout: 'reject', deadline: null, decision: null, decidedAt: null, reason: null, edited: false },
  error: null,
  version: 3,
} as unknown as PipelineState;

const render = (extra: Partial<Parameters<typeof renderReviewPage>[0]> = {}) =>
  renderReviewPage({ state, approveAction: '/review/tok/approve', rejectAction: '/review/tok/reject', linkExpiresAt: '2026-12-03T10:00:00.000Z', ...extra });

describe('the review page', () => {
  it('turns no provider or reviewer text into markup', () => {
    const html = render({ values: { title: evil, body: evil, variants: { x: evil }, reason: evil }, problems: [{ field: 'variant-x', message: evil }, { field: 'form', message: evil }] });
    expect(html).not.toContain('<script');
    expect(html).not.toContain('"onerror=');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;');
    expect(renderMessagePage(evil, evil)).not.toContain('<script');
  });

  it('shows no tenant or internal id', () => {
    expect(render()).not.toContain('tenant_secret');
    expect(render()).not.toContain('pl_1');
  });

  it('carries exactly the style sheet its Content-Security-Policy allows, and no inline style or script elsewhere', () => {
    const html = render();
    const sheets = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]);
    expect(sheets).toHaveLength(1);
    const hash = createHash('sha256').update(sheets[0], 'utf8').digest('base64');
    expect(REVIEW_PAGE_CSP).toContain(`style-src 'sha256-${hash}'`);
    expect(REVIEW_PAGE_CSP).toMatch(/^default-src 'none'/);
    expect(html).not.toMatch(/ style=| on[a-z]+=|javascript:/);
  });

  it('numbers a thread’s parts and keeps a newline that starts a textarea’s text', () => {
    const html = render({ values: { body: '\nstarts with a newline' } });
    expect(html).toMatch(/<ol aria-label="X: 2 posts"><li>/);
    // The parser drops the first newline after <textarea>; the page writes one, so the text's own survives.
    expect(html).toContain('<textarea id="body" name="body" rows="10">\n\nstarts with a newline</textarea>');
  });
});
