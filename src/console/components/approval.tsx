// Approving on the pipeline page: edit the title, the body or one platform's text, counted as you type (the platform's
// own way, in the browser) and checked by POST /v1/validate (the same rules /approve applies), so an edit that breaks
// a limit shows before it is sent; if sent anyway, the API's 422 is shown next to the field it concerns. Reject with
// a reason; make a review link for someone without a key and copy it.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { PLATFORM_RULES } from '../../domain/platform-rules';
import type { Platform } from '../../domain/types';
import { ApiError, ok, useApi, type FieldProblem } from '../api';
import type { Pipeline } from '../pages/live-state';
import { formatLocal } from '../time';
import { editableText, localCheck, placeReason } from './approval-logic';
import { Button } from './button';
import { ErrorNote } from './error-note';
import { Field, Problems } from './field';

type Variant = Pipeline['variants'][number];
type Checked = { variants: Partial<Record<string, Variant>>; problems: FieldProblem[] };

const NAMES: Record<string, string> = {
  x: 'X', linkedin: 'LinkedIn', facebook: 'Facebook', instagram: 'Instagram', threads: 'Threads',
  mastodon: 'Mastodon', bluesky: 'Bluesky', slack: 'Slack', discord: 'Discord', webhook: 'Webhook',
};

function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

export function Approval({ state, onChange }: { state: Pipeline; onChange(next: Pipeline): void }) {
  const api = useApi();
  const content = state.content!;
  const [title, setTitle] = useState(content.title);
  const [body, setBody] = useState(content.body);
  // Each platform's text as it stands; one the reviewer changes becomes that platform's own text.
  const original = useMemo(() => Object.fromEntries(state.variants.map((v) => [v.platform, editableText(v.parts)])), [state.variants]);
  const [own, setOwn] = useState<Record<string, string>>(original);
  const [reason, setReason] = useState('');
  const [checked, setChecked] = useState<Checked | null>(null);
  const [sent, setSent] = useState<FieldProblem[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState<'' | 'approve' | 'reject' | 'link'>('');
  const [link, setLink] = useState<{ url: string; expiresAt: string } | null>(null);
  const [copied, setCopied] = useState('');

  const edits = useMemo(() => {
    const e: { title?: string; body?: string; variants?: Record<string, string> } = {};
    if (title !== content.title) e.title = title;
    if (body !== content.body) e.body = body;
    const changed = Object.entries(own).filter(([p, text]) => text.trim() !== '' && text.trim() !== original[p]?.trim());
    if (changed.length) e.variants = Object.fromEntries(changed);
    return e;
  }, [title, body, own, original, content.title, content.body]);
  const edited = Object.keys(edits).length > 0;
  const settled = useDebounced(edits, 400);

  useEffect(() => {
    setSent([]);
    if (!Object.keys(settled).length) return setChecked(null);
    let current = true;
    const request = {
      content: { title: settled.title ?? content.title, body: settled.body ?? content.body, hashtags: content.hashtags },
      format: state.request.format,
      targets: state.request.targets.map((t) => ({ platform: t.platform })),
      ...(settled.variants ? { variants: settled.variants } : {}),
    };
    ok(api.POST('/v1/validate', { body: request })).then(
      (answer) => {
        if (!current) return;
        const variants: Checked['variants'] = {};
        for (const t of answer.targets) if (t.variant) variants[t.platform] = t.variant;
        const problems = answer.problems
          .filter((p) => p.path === 'content.body' || p.path === 'content.title' || p.path.startsWith('variants.'))
          .map((p) => ({ path: p.path === 'content.body' ? 'body' : p.path === 'content.title' ? 'title' : p.path, message: p.message, hint: p.hint }));
        setChecked({ variants, problems });
      },
      () => current && setChecked(null), // counting still works locally; /approve will say what is wrong
    );
    return () => {
      current = false;
    };
  }, [settled]);

  const threadOn = (p: string) => state.request.format === 'thread' && Boolean(PLATFORM_RULES[p as Platform]?.threads);
  const local: Record<string, { count: number; problem: string | null; thread: boolean }> = {};
  for (const v of state.variants) {
    const text = edits.variants?.[v.platform];
    if (text !== undefined) local[v.platform] = { ...localCheck(v.platform, text, v.limit, threadOn(v.platform)), thread: threadOn(v.platform) };
  }
  const problemsAt = (path: string): FieldProblem[] => {
    const fromSend = sent.filter((p) => p.path === path);
    if (fromSend.length) return fromSend;
    const fromCheck = (checked?.problems ?? []).filter((p) => p.path === path);
    if (fromCheck.length) return fromCheck;
    const platform = path.startsWith('variants.') ? path.slice('variants.'.length) : '';
    const mine = local[platform]?.problem;
    return mine ? [{ path, message: mine, hint: `Shorten ${NAMES[platform]}'s text, or put back the text it had.` }] : [];
  };

  const approve = async () => {
    setBusy('approve');
    setError(null);
    try {
      onChange(await ok(api.POST('/v1/pipelines/{id}/approve', { params: { path: { id: state.id } }, body: edited ? { edits } : {} })));
    } catch (err) {
      if (err instanceof ApiError && err.status === 422) {
        const reasons = err.details.filter((d): d is string => typeof d === 'string');
        const list = reasons.length ? reasons : [err.message];
        setSent(list.map((r) => ({ path: placeReason(r, { platforms: Object.keys(edits.variants ?? {}), body: edits.body !== undefined }), message: r })));
      } else setError(err);
    } finally {
      setBusy('');
    }
  };

  const reject = async () => {
    if (!reason.trim()) return setSent([{ path: 'reason', message: 'Give a reason so the author knows what to change.' }]);
    setBusy('reject');
    setError(null);
    try {
      onChange(await ok(api.POST('/v1/pipelines/{id}/reject', { params: { path: { id: state.id } }, body: { reason } })));
    } catch (err) {
      setError(err);
    } finally {
      setBusy('');
    }
  };

  const makeLink = async () => {
    setBusy('link');
    setError(null);
    try {
      setLink(await ok(api.POST('/v1/pipelines/{id}/review-link', { params: { path: { id: state.id } }, body: {} })));
      setCopied('');
    } catch (err) {
      setError(err);
    } finally {
      setBusy('');
    }
  };

  const copy = async () => {
    if (!link) return;
    try {
      await navigator.clipboard.writeText(link.url);
      setCopied('Copied: paste it into a message to the reviewer.');
    } catch {
      (document.getElementById('review-link') as HTMLInputElement | null)?.select();
      setCopied('Your browser did not let the page copy: the link is selected, press Ctrl+C (⌘C on a Mac).');
    }
  };

  const formProblems = sent.filter((p) => p.path === 'form');
  return (
    <section class="card approval" aria-labelledby="approval-h">
      <h2 id="approval-h">Approve or reject</h2>
      {state.approval?.deadline ? (
        <p class="muted">
          Decide before {formatLocal(state.approval.deadline)}: then it {state.approval.onTimeout === 'publish' ? 'publishes as it is' : 'is rejected'}.
        </p>
      ) : null}
      <ErrorNote error={error} />
      <Problems problems={formProblems} />
      <Field id="approval-title" label="Title" problems={problemsAt('title')}>
        <input value={title} maxLength={500} onInput={(e) => setTitle(e.currentTarget.value)} />
      </Field>
      <Field id="approval-body" label="Body" help="A changed body is fitted again to every platform that has no text of its own." problems={problemsAt('body')}>
        <textarea rows={8} value={body} onInput={(e) => setBody(e.currentTarget.value)} />
      </Field>
      <h3>Each platform's text</h3>
      <p class="muted">Change one to give that platform its own text instead of its fitted version; leave it as it is to keep it.</p>
      {state.variants.map((v) => (
        <Field
          key={v.platform}
          id={`approval-variant-${v.platform}`}
          label={`${NAMES[v.platform] ?? v.platform} text`}
          help={`Counted as ${NAMES[v.platform] ?? v.platform} counts: limit ${v.limit} ${PLATFORM_RULES[v.platform].unit}${threadOn(v.platform) ? ' per post; a longer text is split into numbered posts' : ''}.`}
          problems={problemsAt(`variants.${v.platform}`)}
        >
          <textarea rows={v.parts.length > 1 ? 8 : 4} value={own[v.platform] ?? ''} onInput={(e) => setOwn({ ...own, [v.platform]: e.currentTarget.value })} />
        </Field>
      ))}
      <Counters state={state} checked={checked} local={local} problems={[...sent, ...(checked?.problems ?? [])]} />
      <div class="actions">
        <Button busy={busy === 'approve'} onClick={approve}>
          {edited ? 'Approve with these edits' : 'Approve'}
        </Button>
      </div>
      <Field id="reject-reason" label="Reason for rejecting" help="Required to reject; the author sees it." problems={sent.filter((p) => p.path === 'reason')}>
        <textarea rows={3} maxLength={2000} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
      </Field>
      <div class="actions">
        <Button kind="danger" busy={busy === 'reject'} onClick={reject}>
          Reject
        </Button>
      </div>
      <h3>Ask someone else</h3>
      <p class="muted">A review link lets someone without an API key see the posts and approve or reject them, once.</p>
      <div class="actions">
        <Button kind="secondary" busy={busy === 'link'} onClick={makeLink}>
          Create a review link
        </Button>
      </div>
      {link ? (
        <div class="review-link">
          <Field id="review-link" label="Review link" help={`Works until ${formatLocal(link.expiresAt)}, and only until someone decides or the text changes.`}>
            <input readOnly value={link.url} onFocus={(e) => e.currentTarget.select()} />
          </Field>
          <Button kind="secondary" onClick={copy}>
            Copy the link
          </Button>
          <p role="status">{copied}</p>
        </div>
      ) : null}
    </section>
  );
}

/** Per platform: the longest post's count against the limit, counted here as the reviewer types, then by the API. */
function Counters({ state, checked, local, problems }: { state: Pipeline; checked: Checked | null; local: Record<string, { count: number; thread: boolean }>; problems: FieldProblem[] }) {
  return (
    <ul class="counters" aria-label="Length on each platform">
      {state.variants.map((v) => {
        const now = checked?.variants[v.platform] ?? v;
        const typed = local[v.platform];
        const length = typed && !typed.thread ? typed.count : now.length;
        const bad = problems.some((p) => p.path === `variants.${v.platform}` || (p.path === 'body' && p.message.startsWith(`${v.platform}:`))) || length > now.limit;
        return (
          <li key={v.platform} class={bad ? 'counter counter-over' : 'counter'} data-testid={`counter-${v.platform}`}>
            <span class="counter-name">{NAMES[v.platform] ?? v.platform}</span>: {length} / {now.limit}
            {now.parts.length > 1 ? ` (longest of ${now.parts.length} posts)` : ''}
            {bad ? (length > now.limit ? ` · ${length - now.limit} too many` : ' · does not fit') : ''}
          </li>
        );
      })}
    </ul>
  );
}
