// Compose: a brief in, a pipeline started. As the person types, the request is checked by POST /v1/validate (debounced)
// and what it finds is shown next to the field it concerns; the per-platform counters show each platform's limit and,
// once Herald has text to count, the count.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { components, operations } from '../../client';
import { PLATFORM_RULES } from '../../domain/platform-rules';
import { FORMATS, PLATFORM_NAMES, PLATFORMS, PRIORITIES, type Platform } from '../../domain/types';
import { ApiError, fieldProblems, ok, useApi, type FieldProblem } from '../api';
import { Button } from '../components/button';
import { ErrorNote } from '../components/error-note';
import { Field, Problems } from '../components/field';
import { Page } from '../components/page';
import { TimeZoneNote } from '../components/time-zone-note';
import { navigate, type PageProps } from '../router';
import { formatLocal, isoToLocalInput, localInputToIso } from '../time';

type PipelineRequest = operations['createPipeline']['requestBody']['content']['application/json'];
type ImageSource = NonNullable<NonNullable<PipelineRequest['image']>['sources']>[number];
type Account = components['schemas']['Account'];
type Validation = components['schemas']['Validation'];

const VALIDATE_DELAY_MS = 400;

const IMAGE_SOURCES: { name: ImageSource; label: string }[] = [
  { name: 'card', label: 'Title card (made by Herald)' },
  { name: 'unsplash', label: 'Unsplash photos' },
  { name: 'pexels', label: 'Pexels photos' },
  { name: 'openai', label: 'OpenAI images' },
  { name: 'stability', label: 'Stability AI images' },
];

const FORMAT_LABELS: Record<(typeof FORMATS)[number], string> = { post: 'A post', thread: 'A thread (in parts)', article: 'An article' };
const PRIORITY_LABELS: Record<(typeof PRIORITIES)[number], string> = { low: 'Low', normal: 'Normal', high: 'High', critical: 'Critical' };

interface Form {
  topic: string;
  brief: string;
  voice: string;
  audience: string;
  format: (typeof FORMATS)[number];
  platforms: Platform[];
  accounts: Partial<Record<Platform, string>>;
  dryRun: boolean;
  imageMode: 'auto' | 'none';
  imageStyle: string;
  imageSources: ImageSource[];
  approvalRequired: boolean;
  approvalTimeout: string;
  onTimeout: 'reject' | 'publish';
  publishAt: string;
  priority: (typeof PRIORITIES)[number];
}

const EMPTY: Form = {
  topic: '',
  brief: '',
  voice: '',
  audience: '',
  format: 'post',
  platforms: [],
  accounts: {},
  dryRun: false,
  imageMode: 'auto',
  imageStyle: '',
  imageSources: [],
  approvalRequired: false,
  approvalTimeout: '',
  onTimeout: 'reject',
  publishAt: '',
  priority: 'normal',
};

const text = (s: string) => (s.trim() === '' ? undefined : s);

/** The request the form stands for; the targets keep PLATFORMS' order, so a problem's index names its platform. */
function toRequest(form: Form): PipelineRequest {
  const targets = PLATFORMS.filter((p) => form.platforms.includes(p)).map((platform) => {
    const accountId = form.accounts[platform];
    return accountId ? { platform, accountId } : { platform };
  });
  const publishAt = form.publishAt ? (localInputToIso(form.publishAt) ?? form.publishAt) : undefined;
  return {
    topic: form.topic,
    brief: text(form.brief),
    voice: text(form.voice),
    audience: text(form.audience),
    format: form.format,
    targets,
    image:
      form.imageMode === 'none'
        ? { mode: 'none' }
        : { mode: 'auto', style: text(form.imageStyle), sources: form.imageSources.length ? form.imageSources : undefined },
    approval: form.approvalRequired ? { required: true, timeout: text(form.approvalTimeout), onTimeout: form.onTimeout } : undefined,
    publishAt,
    priority: form.priority,
    dryRun: form.dryRun,
  };
}

type Check =
  | { state: 'idle'; reason: string }
  | { state: 'checking' }
  | { state: 'done'; answer: Validation }
  | { state: 'invalid'; problems: FieldProblem[] }
  | { state: 'failed'; error: unknown };

/** POST /v1/validate for the request, VALIDATE_DELAY_MS after the last change; an answer to an older request is dropped. */
function useValidation(request: PipelineRequest): Check {
  const api = useApi();
  const [check, setCheck] = useState<Check>({ state: 'idle', reason: 'Type a topic and choose a platform: Herald checks the request as you go.' });
  const latest = useRef(0);
  const body = JSON.stringify(request);
  useEffect(() => {
    const seq = ++latest.current;
    if (request.topic.trim() === '' || request.targets.length === 0) {
      setCheck({ state: 'idle', reason: request.topic.trim() === '' ? 'Type a topic: Herald checks the request as you go.' : 'Choose at least one platform to see its counter.' });
      return;
    }
    const timer = setTimeout(() => {
      setCheck({ state: 'checking' });
      ok(api.POST('/v1/validate', { body: request }))
        .then((answer) => seq === latest.current && setCheck({ state: 'done', answer }))
        .catch((error) => {
          if (seq !== latest.current) return;
          const problems = fieldProblems(error);
          setCheck(error instanceof ApiError && error.status === 400 && problems.length ? { state: 'invalid', problems } : { state: 'failed', error });
        });
    }, VALIDATE_DELAY_MS);
    return () => clearTimeout(timer);
    // `body` stands for the request: a new object with the same content is no change.
  }, [body, api]);
  return check;
}

const ACCOUNT_PATH = /^targets\.\d+\.accountId$/;
const ACCOUNT_HINT = 'Choose the account to post as, or tick “Dry run” to try it without one.';
const FULL_DAY_HINT = 'Choose a later time, or take the next free one with the button below.';

/** A refused request's problems carry no hint; the one a newcomer meets first (no account chosen) gets one here. */
const withHints = (problems: FieldProblem[]) => problems.map((p) => (p.hint || !ACCOUNT_PATH.test(p.path) ? p : { ...p, hint: ACCOUNT_HINT }));

function checkProblems(check: Check): FieldProblem[] {
  if (check.state === 'invalid') return withHints(check.problems);
  if (check.state === 'done') {
    // The API's hint for a full day names a request field; here the button beside the publish time does that.
    return check.answer.problems.map((p) => ({ path: p.path, message: p.message, hint: p.code === 'daily_cap_full' && p.nextFreeAt ? FULL_DAY_HINT : p.hint }));
  }
  return [];
}

/** The first time every target has room again, when the chosen one is full. */
const nextFreeAt = (check: Check): string | null =>
  check.state === 'done' ? (check.answer.problems.find((p) => p.code === 'daily_cap_full' && p.nextFreeAt)?.nextFreeAt ?? null) : null;

/**
 * Splits problems by field: `at('brief')` takes the brief's and those below it (`targets.0` takes targets.0.accountId),
 * `exact('targets')` only its own; what no field took is left for the form's foot.
 */
function problemIndex(problems: FieldProblem[]) {
  const claimed = new Set<FieldProblem>();
  const take = (match: (path: string) => boolean) => {
    const mine = problems.filter((p) => match(p.path));
    mine.forEach((p) => claimed.add(p));
    return mine;
  };
  return {
    at: (path: string) => take((p) => p === path || p.startsWith(`${path}.`)),
    exact: (path: string) => take((p) => p === path),
    rest: () => problems.filter((p) => !claimed.has(p)),
  };
}

function accountLabel(a: Account): string {
  if (a.status === 'reauth_required') return `${a.handle} (needs reconnecting)`;
  if (a.status === 'disabled') return `${a.handle} (disabled)`;
  return a.handle;
}

function Counter({ platform, check }: { platform: Platform; check: Check }) {
  const rule = PLATFORM_RULES[platform];
  const target = check.state === 'done' ? check.answer.targets.find((t) => t.platform === platform) : undefined;
  const variant = target?.variant ?? null;
  const over = variant !== null && variant.length > variant.limit;
  return (
    <li class={over ? 'counter counter-over' : 'counter'} data-testid={`counter-${platform}`}>
      <span class="counter-name">{PLATFORM_NAMES[platform]}</span>{' '}
      {variant ? (
        <span>
          {variant.length} of {variant.limit} {rule.unit}
          {variant.parts.length > 1 ? ` · ${variant.parts.length} parts` : ''}
        </span>
      ) : (
        <span>
          up to {rule.limit} {rule.unit}
          {rule.threads ? ' per part' : ''}
        </span>
      )}
    </li>
  );
}

function CheckStatus({ check }: { check: Check }) {
  let message: string;
  if (check.state === 'idle') message = check.reason;
  else if (check.state === 'checking') message = 'Checking…';
  else if (check.state === 'failed') message = 'Could not check the request just now.';
  else {
    const n = check.state === 'invalid' ? check.problems.length : check.answer.problems.length;
    message = n === 0 ? 'Checked: no problems found.' : `Checked: ${n} ${n === 1 ? 'problem' : 'problems'} to fix, shown next to the fields.`;
  }
  return (
    <p role="status" data-testid="validate-status" class="muted">
      {message}
    </p>
  );
}

export default function ComposePage(_props: PageProps) {
  const api = useApi();
  const [form, setForm] = useState<Form>(EMPTY);
  const [accounts, setAccounts] = useState<Account[] | null>(null);
  const [accountsError, setAccountsError] = useState<unknown>(null);
  const [submitting, setSubmitting] = useState(false);
  const [submitError, setSubmitError] = useState<unknown>(null);
  const [submitProblems, setSubmitProblems] = useState<FieldProblem[]>([]);

  // Whether the person has ticked or unticked "Dry run" themselves: their choice is never overridden.
  const dryRunChosen = useRef(false);
  useEffect(() => {
    ok(api.GET('/v1/accounts')).then((list) => {
      setAccounts(list.items);
      // Nothing connected yet: a first post can only be a dry run, so the form becomes one (untick to change), also
      // when the person started typing before the list arrived (a slow answer must not leave the box unticked).
      if (list.items.length === 0 && !dryRunChosen.current) setForm((f) => ({ ...f, dryRun: true }));
    }, setAccountsError);
  }, [api]);

  const request = useMemo(() => toRequest(form), [form]);
  const check = useValidation(request);
  const set = <K extends keyof Form>(key: K, value: Form[K]) => {
    setForm((f) => ({ ...f, [key]: value }));
    setSubmitProblems([]);
  };
  const chooseDryRun = (checked: boolean) => {
    dryRunChosen.current = true;
    set('dryRun', checked);
  };

  const togglePlatform = (platform: Platform, on: boolean) => {
    const firstActive = accounts?.find((a) => a.platform === platform && a.status === 'active')?.id;
    setForm((f) => ({
      ...f,
      platforms: on ? [...f.platforms, platform] : f.platforms.filter((p) => p !== platform),
      accounts: on && !f.accounts[platform] && firstActive ? { ...f.accounts, [platform]: firstActive } : f.accounts,
    }));
    setSubmitProblems([]);
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    setSubmitting(true);
    setSubmitError(null);
    try {
      const created = await ok(api.POST('/v1/pipelines', { body: request }));
      navigate('pipelines', created.id);
    } catch (err) {
      setSubmitError(err);
      setSubmitProblems(withHints(fieldProblems(err)));
      setSubmitting(false);
    }
  };

  const problems = problemIndex(submitProblems.length ? submitProblems : checkProblems(check));
  const chosen = PLATFORMS.filter((p) => form.platforms.includes(p));
  const publishIso = form.publishAt ? localInputToIso(form.publishAt) : null;
  const freeAt = nextFreeAt(check);

  return (
    <Page title="Compose a post">
      <p class="muted">Give Herald a topic and a brief: it writes the post, adapts it to each platform, finds images and publishes, after your approval if you ask for one.</p>
      <form onSubmit={submit} noValidate>
        <fieldset>
          <legend>What to write</legend>
          <Field id="topic" label="Topic" help="What the post is about, in a sentence." problems={problems.at('topic')}>
            <input type="text" value={form.topic} maxLength={500} onInput={(e) => set('topic', e.currentTarget.value)} required />
          </Field>
          <Field id="brief" label="Brief (optional)" help="Points to make, facts, links, what to avoid." problems={problems.at('brief')}>
            <textarea value={form.brief} rows={5} onInput={(e) => set('brief', e.currentTarget.value)} />
          </Field>
          <div class="row">
            <Field id="voice" label="Voice (optional)" help="For example: friendly, expert, no jargon." problems={problems.at('voice')}>
              <input type="text" value={form.voice} maxLength={500} onInput={(e) => set('voice', e.currentTarget.value)} />
            </Field>
            <Field id="audience" label="Audience (optional)" help="Who reads it: for example, engineering managers." problems={problems.at('audience')}>
              <input type="text" value={form.audience} maxLength={500} onInput={(e) => set('audience', e.currentTarget.value)} />
            </Field>
            <Field id="format" label="Format" problems={problems.at('format')}>
              <select value={form.format} onChange={(e) => set('format', e.currentTarget.value as Form['format'])}>
                {FORMATS.map((f) => (
                  <option key={f} value={f}>
                    {FORMAT_LABELS[f]}
                  </option>
                ))}
              </select>
            </Field>
          </div>
        </fieldset>

        <fieldset aria-describedby="targets-help">
          <legend>Where to publish</legend>
          <p id="targets-help" class="field-help">
            Choose the platforms, and for each the connected account to post as.
          </p>
          <ul class="platform-choices">
            {PLATFORMS.map((p) => (
              <li key={p}>
                <label class="check">
                  <input type="checkbox" checked={form.platforms.includes(p)} onChange={(e) => togglePlatform(p, e.currentTarget.checked)} />
                  {PLATFORM_NAMES[p]}
                </label>
              </li>
            ))}
          </ul>
          <Problems problems={problems.exact('targets')} />
          <ErrorNote error={accountsError} />
          {chosen.map((p, i) => {
            const own = (accounts ?? []).filter((a) => a.platform === p);
            return (
              <Field
                key={p}
                id={`account-${p}`}
                label={`Account for ${PLATFORM_NAMES[p]}`}
                help={own.length === 0 ? `No ${PLATFORM_NAMES[p]} account is connected: connect one on the Accounts page, or try it as a dry run.` : undefined}
                problems={problems.at(`targets.${i}`)}
              >
                <select value={form.accounts[p] ?? ''} onChange={(e) => set('accounts', { ...form.accounts, [p]: e.currentTarget.value })}>
                  <option value="">No account (dry runs only)</option>
                  {own.map((a) => (
                    <option key={a.id} value={a.id}>
                      {accountLabel(a)}
                    </option>
                  ))}
                </select>
              </Field>
            );
          })}
          <div class="field">
            <label class="check">
              <input type="checkbox" checked={form.dryRun} aria-describedby="dry-run-help" onChange={(e) => chooseDryRun(e.currentTarget.checked)} />
              Dry run
            </label>
            <p id="dry-run-help" class="field-help">
              Nothing is posted: Herald writes, adapts and previews every post as it would publish it. No account needed.
            </p>
          </div>
        </fieldset>

        <section aria-labelledby="counters-title" class="card">
          <h2 id="counters-title">Per platform</h2>
          <p class="field-help">
            Herald writes the text from your topic when the pipeline starts, so the character counts of the finished posts come after that, on the
            pipeline's page (and before you approve). Here: each platform's limit, and anything in the request that would stop it.
          </p>
          <CheckStatus check={check} />
          {chosen.length ? (
            <ul class="counters">
              {chosen.map((p) => (
                <Counter key={p} platform={p} check={check} />
              ))}
            </ul>
          ) : null}
          {check.state === 'failed' ? <ErrorNote error={check.error} testId="validate-error" /> : null}
        </section>

        <fieldset>
          <legend>Images</legend>
          <Field id="image-mode" label="Images" problems={problems.at('image.mode')}>
            <select value={form.imageMode} onChange={(e) => set('imageMode', e.currentTarget.value as Form['imageMode'])}>
              <option value="auto">Find or make images for the post</option>
              <option value="none">No images</option>
            </select>
          </Field>
          {form.imageMode === 'auto' ? (
            <>
              <Field id="image-style" label="Image style (optional)" help="For example: flat illustration, warm colours." problems={problems.at('image.style')}>
                <input type="text" value={form.imageStyle} maxLength={200} onInput={(e) => set('imageStyle', e.currentTarget.value)} />
              </Field>
              <fieldset class="nested" aria-describedby="image-sources-help">
                <legend>Where images come from (optional)</legend>
                <p id="image-sources-help" class="field-help">
                  None chosen: Herald tries its configured sources in order.
                </p>
                {IMAGE_SOURCES.map((s) => (
                  <label key={s.name} class="check">
                    <input
                      type="checkbox"
                      checked={form.imageSources.includes(s.name)}
                      onChange={(e) => set('imageSources', e.currentTarget.checked ? [...form.imageSources, s.name] : form.imageSources.filter((n) => n !== s.name))}
                    />
                    {s.label}
                  </label>
                ))}
                <Problems problems={[...problems.at('image.sources'), ...problems.exact('image')]} />
              </fieldset>
            </>
          ) : null}
        </fieldset>

        <fieldset>
          <legend>Approval</legend>
          <div class="field">
            <label class="check">
              <input type="checkbox" checked={form.approvalRequired} aria-describedby="approval-help" onChange={(e) => set('approvalRequired', e.currentTarget.checked)} />
              Ask for approval first
            </label>
            <p id="approval-help" class="field-help">
              Herald waits with the finished posts until someone approves (here, or through a review link).
            </p>
          </div>
          {form.approvalRequired ? (
            <div class="row">
              <Field id="approval-timeout" label="Approval time limit (optional)" help="A number and a unit: 30m, 24h, 7d. Empty: wait as long as it takes." problems={problems.at('approval.timeout')}>
                <input type="text" value={form.approvalTimeout} placeholder="24h" onInput={(e) => set('approvalTimeout', e.currentTarget.value.trim())} />
              </Field>
              <Field id="approval-on-timeout" label="If nobody decides in time" problems={[...problems.at('approval.onTimeout'), ...problems.exact('approval')]}>
                <select value={form.onTimeout} onChange={(e) => set('onTimeout', e.currentTarget.value as Form['onTimeout'])}>
                  <option value="reject">Drop the post</option>
                  <option value="publish">Publish it as written</option>
                </select>
              </Field>
            </div>
          ) : null}
        </fieldset>

        <fieldset>
          <legend>When</legend>
          <div class="row">
            <div>
              <Field
                id="publish-at"
                label="Publish at (optional)"
                help={
                  <>
                    <TimeZoneNote at={publishIso ? new Date(publishIso) : undefined} />
                    {publishIso ? ` · sent as ${publishIso}` : ' · empty: as soon as it is ready'}
                  </>
                }
                problems={problems.at('publishAt')}
              >
                <input type="datetime-local" value={form.publishAt} onInput={(e) => set('publishAt', e.currentTarget.value)} />
              </Field>
              {freeAt ? (
                // The field holds whole minutes: rounded up, so the time stays at or after the free one.
                <Button kind="secondary" onClick={() => set('publishAt', isoToLocalInput(new Date(Math.ceil(Date.parse(freeAt) / 60_000) * 60_000).toISOString()))}>
                  Move to the next free time: {formatLocal(freeAt)}
                </Button>
              ) : null}
            </div>
            <Field id="priority" label="Priority" help="Higher priority goes first when Herald is busy." problems={problems.at('priority')}>
              <select value={form.priority} onChange={(e) => set('priority', e.currentTarget.value as Form['priority'])}>
                {PRIORITIES.map((p) => (
                  <option key={p} value={p}>
                    {PRIORITY_LABELS[p]}
                  </option>
                ))}
              </select>
            </Field>
          </div>
        </fieldset>

        <Problems problems={problems.rest()} />
        <ErrorNote error={submitError} testId="submit-error" />
        <div class="actions">
          <Button type="submit" busy={submitting}>
            {submitting ? 'Starting…' : 'Start pipeline'}
          </Button>
        </div>
      </form>
    </Page>
  );
}
