// The reviewer's pages, rendered on the server as plain HTML: no script at all, one inline style sheet allowed by its
// hash in the Content-Security-Policy, readable on a 390 px phone and usable from the keyboard and a screen reader.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { render } from 'preact-render-to-string';
import { Previews } from '../../console/previews';
import { PLATFORM_NAMES, type PipelineState } from '../../domain/types';

const CSS = `
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a1a1a;background:#fff}
main{max-width:44rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.5rem 0 1rem}
h2{font-size:1.2rem;margin:2rem 0 .5rem;border-bottom:1px solid #767676}
h3{font-size:1.05rem;margin:1.25rem 0 .25rem}
p,li,blockquote{overflow-wrap:anywhere}
.meta{color:#4a4a4a;font-size:.95rem}
.text{white-space:pre-wrap;margin:0}
.part{border-left:4px solid #767676;padding:.25rem .75rem;margin:.5rem 0}
.count{color:#4a4a4a;font-size:.9rem}
.over{color:#a30000;font-weight:600}
.tags{padding:0;list-style:none;display:flex;flex-wrap:wrap;gap:.5rem}
.tags li{background:#eef1f5;border-radius:.25rem;padding:0 .4rem}
figure{margin:1rem 0}
img{max-width:100%;height:auto;border:1px solid #ccc}
figcaption{font-size:.9rem;color:#4a4a4a}
label{display:block;font-weight:600;margin:1rem 0 .25rem}
.hint{display:block;font-weight:400;color:#4a4a4a;font-size:.9rem}
input,textarea{width:100%;font:inherit;padding:.5rem;border:1px solid #595959;border-radius:.25rem;color:#1a1a1a;background:#fff}
[aria-invalid=true]{border:2px solid #a30000}
.error{color:#a30000;font-weight:600;margin:.25rem 0}
.summary{border:2px solid #a30000;padding:.5rem 1rem;margin:1rem 0}
.summary a{color:#a30000}
.done{border:2px solid #0b5d1e;padding:.5rem 1rem}
button{font:inherit;font-weight:600;margin-top:1rem;padding:.6rem 1.2rem;border:0;border-radius:.25rem;color:#fff;cursor:pointer;min-height:44px}
.approve{background:#0b5d1e}
.reject{background:#8a1010}
:focus-visible{outline:3px solid #1a4fa0;outline-offset:2px}
${readFileSync(path.join(__dirname, '../../console/previews/previews.css'), 'utf8')}`;

/** For the Content-Security-Policy: the style sheet above is the only thing the page may apply; no script runs. */
export const REVIEW_PAGE_CSP = [
  "default-src 'none'",
  `style-src '${'sha256-' + createHash('sha256').update(CSS).digest('base64')}'`,
  "img-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const utc = (iso: string) => `${iso.slice(0, 16).replace('T', ' ')} UTC`;

function layout(title: string, main: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)} · Herald</title>
<style>${CSS}</style>
</head>
<body>
<main>
${main}
</main>
</body>
</html>
`;
}

/** A field's problem: where it is shown and linked from the summary at the top. */
export interface FieldProblem {
  /** The form field's id: title, body, variant-<platform>, reason; `form` for one that belongs to no field. */
  field: string;
  message: string;
}

export interface ReviewPageInput {
  state: PipelineState;
  /** Path-absolute actions of the two forms. */
  approveAction: string;
  rejectAction: string;
  linkExpiresAt: string;
  /** What the reviewer typed, shown again when the page comes back with problems. */
  values?: { title?: string; body?: string; variants?: Partial<Record<string, string>>; reason?: string };
  problems?: FieldProblem[];
}

export function renderReviewPage(input: ReviewPageInput): string {
  const { state, problems = [] } = input;
  const content = state.content!;
  const deadline = state.approval?.deadline;
  const main = `<h1>Review before publishing</h1>
<p class="meta">Topic: ${escapeHtml(state.request.topic)}. This link works until ${utc(input.linkExpiresAt)}${
    deadline ? `; the approval deadline is ${utc(deadline)} (then it ${state.approval?.onTimeout === 'publish' ? 'publishes as it is' : 'is rejected'})` : ''
  }.${state.publishAt ? ` It is to be published at ${utc(state.publishAt)}.` : ''}</p>
${summary(problems)}
<section aria-labelledby="content-h">
<h2 id="content-h">Content</h2>
<h3>${escapeHtml(content.title)}</h3>
<p class="text">${escapeHtml(content.body)}</p>
${content.hashtags.length ? `<ul class="tags" aria-label="Hashtags">${content.hashtags.map((t) => `<li>#${escapeHtml(t.replace(/^#/, ''))}</li>`).join('')}</ul>` : ''}
${state.images.map(image).join('\n')}
</section>
<section aria-labelledby="variants-h">
<h2 id="variants-h">What each platform gets</h2>
${previews(state)}
</section>
${approveForm(input)}
${rejectForm(input)}`;
  return layout(`Review: ${content.title}`, main);
}

function summary(problems: FieldProblem[]): string {
  if (!problems.length) return '';
  const items = problems.map((p) => `<li>${p.field === 'form' ? escapeHtml(p.message) : `<a href="#${p.field}">${escapeHtml(p.message)}</a>`}</li>`);
  return `<div class="summary" role="alert" aria-labelledby="summary-h"><h2 id="summary-h">Nothing was decided: please fix this</h2><ul>${items.join('')}</ul></div>`;
}

function image(img: PipelineState['images'][number]): string {
  const size = img.width && img.height ? ` width="${img.width}" height="${img.height}"` : '';
  const caption = img.attribution ? `<figcaption>${escapeHtml(img.attribution)}</figcaption>` : '';
  return `<figure><img src="${escapeHtml(img.url)}" alt="${escapeHtml(img.alt)}"${size}>${caption}</figure>`;
}

/**
 * Every platform's post, drawn by the console's own preview components. Their HTML is re-escaped the page's way
 * (escapeHtml also escapes > and '), so a text reads byte for byte the same wherever it appears on this page.
 */
function previews(state: PipelineState): string {
  const html = render(Previews({ title: state.content!.title, variants: state.variants, images: state.images, publications: state.publications }));
  const strict = (text: string) => text.replace(/'/g, '&#39;').replace(/>/g, '&gt;');
  // Preact writes attribute values in double quotes with any " inside escaped: a tag is < up to the first > outside them.
  return html.replace(/<(?:[^>"]|"[^"]*")*>|[^<]+/g, (m) => (m.startsWith('<') ? m.replace(/"[^"]*"/g, strict) : strict(m)));
}

function problemFor(problems: FieldProblem[], field: string): { attrs: string; text: string } {
  const own = problems.filter((p) => p.field === field);
  if (!own.length) return { attrs: '', text: '' };
  return {
    attrs: ` aria-invalid="true" aria-describedby="${field}-error"`,
    text: `<p class="error" id="${field}-error">${own.map((p) => escapeHtml(p.message)).join('<br>')}</p>`,
  };
}

function approveForm({ state, approveAction, values = {}, problems = [] }: ReviewPageInput): string {
  const content = state.content!;
  const title = problemFor(problems, 'title');
  const body = problemFor(problems, 'body');
  const variantInputs = state.variants.map((v) => {
    const id = `variant-${v.platform}`;
    const p = problemFor(problems, id);
    const name = PLATFORM_NAMES[v.platform];
    return `<label for="${id}">${name} text <span class="hint">Optional: leave empty to keep ${name}'s version shown above, or write the exact text ${name} should get (limit ${v.limit}${v.parts.length > 1 ? ', split into numbered posts if longer' : ''}).</span></label>
<textarea id="${id}" name="variants.${v.platform}" rows="4"${p.attrs}>
${escapeHtml(values.variants?.[v.platform] ?? '')}</textarea>${p.text}`;
  });
  // A newline right after <textarea> is dropped by the HTML parser, so one that starts the text survives.
  return `<section aria-labelledby="approve-h">
<h2 id="approve-h">Approve</h2>
<form method="post" action="${escapeHtml(approveAction)}">
<label for="title">Title</label>
<input id="title" name="title" maxlength="500" value="${escapeHtml(values.title ?? content.title)}"${title.attrs}>${title.text}
<label for="body">Body <span class="hint">A changed body is adapted again for every platform that has no text of its own below.</span></label>
<textarea id="body" name="body" rows="10"${body.attrs}>
${escapeHtml(values.body ?? content.body)}</textarea>${body.text}
${variantInputs.join('\n')}
<button type="submit" class="approve">Approve${state.publishAt ? '' : ' and publish'}</button>
</form>
</section>`;
}

function rejectForm({ rejectAction, values = {}, problems = [] }: ReviewPageInput): string {
  const reason = problemFor(problems, 'reason');
  return `<section aria-labelledby="reject-h">
<h2 id="reject-h">Reject</h2>
<form method="post" action="${escapeHtml(rejectAction)}">
<label for="reason">Reason <span class="hint">Required; the author sees it.</span></label>
<textarea id="reason" name="reason" rows="3" maxlength="2000" required${reason.attrs}>
${escapeHtml(values.reason ?? '')}</textarea>${reason.text}
<button type="submit" class="reject">Reject</button>
</form>
</section>`;
}

/** A page that only says something: a decision made, a link refused. */
export function renderMessagePage(heading: string, message: string, opts: { done?: boolean } = {}): string {
  return layout(heading, `<h1>${escapeHtml(heading)}</h1>\n<p${opts.done ? ' class="done" role="status"' : ''}>${escapeHtml(message)}</p>`);
}
