// Moving a post to another time and cancelling it, from a row of the plan's list.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { components } from '../../client';
import { ApiError, fieldProblems, ok, useApi } from '../api';
import { Button } from '../components/button';
import { ErrorNote } from '../components/error-note';
import { Field } from '../components/field';
import { formatLocal } from '../time';
import { fromInputValue, toInputValue, toZonedIso } from './week';

/** A pipeline as the list answers it (GET /v1/pipelines); a full Pipeline is one too. */
type Pipeline = components['schemas']['PipelineSummary'];

export interface PlanAction {
  kind: 'reschedule' | 'cancel';
  pipeline: Pipeline;
}

/**
 * A modal dialog (the browser's own: focus stays inside, Escape closes it, focus returns to the button that opened
 * it). It is the last thing on the page, so its buttons follow every row's.
 */
export function ActionDialog({ title, onClose, children }: { title: string; onClose(): void; children: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  return (
    <dialog ref={ref} class="plan-dialog" aria-labelledby="plan-dialog-title" onClose={onClose}>
      <h2 id="plan-dialog-title">{title}</h2>
      {children}
    </dialog>
  );
}

/** A time the API named in an error's details as the first one that works (a full daily cap's nextFreeAt). */
export function nextFreeAt(err: unknown): string | null {
  const details = (err as { details?: unknown[] } | null)?.details;
  if (!Array.isArray(details)) return null;
  for (const d of details) {
    const at = (d as { nextFreeAt?: unknown } | null)?.nextFreeAt;
    if (typeof at === 'string' && !Number.isNaN(Date.parse(at))) return at;
  }
  return null;
}

function useFocusOnMount<T extends HTMLElement>() {
  const ref = useRef<T>(null);
  useEffect(() => ref.current?.focus(), []);
  return ref;
}

export function RescheduleForm({
  pipeline,
  title,
  timeZone,
  onDone,
  onClose,
  onStale,
}: {
  pipeline: Pipeline;
  title: string;
  timeZone: string;
  onDone(message: string): void;
  onClose(): void;
  /** The API said the post moved on (409): the page should read it again. */
  onStale(): void;
}) {
  const api = useApi();
  const start = pipeline.publishAt && Date.parse(pipeline.publishAt) > Date.now() ? Date.parse(pipeline.publishAt) : Date.now() + 3_600_000;
  const [value, setValue] = useState(() => toInputValue(start, timeZone));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [unreadable, setUnreadable] = useState(false);
  const input = useFocusOnMount<HTMLInputElement>();
  const id = `new-time-${pipeline.id}`;
  const chosen = fromInputValue(value, timeZone);
  const suggested = nextFreeAt(error);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!chosen) {
      setUnreadable(true);
      return;
    }
    setUnreadable(false);
    setBusy(true);
    setError(null);
    try {
      const next = await ok(api.PUT('/v1/pipelines/{id}/publish-at', { params: { path: { id: pipeline.id } }, body: { publishAt: chosen.iso } }));
      onDone(`Moved “${title}” to ${formatLocal(next.publishAt ?? chosen.iso)}.`);
    } catch (err) {
      setError(err);
      setBusy(false);
      if (err instanceof ApiError && err.code === 'conflict') onStale();
    }
  };

  const problems = [
    ...(unreadable ? [{ path: 'publishAt', message: 'Choose a day and a time.' }] : []),
    ...fieldProblems(error).filter((p) => p.path === 'publishAt'),
  ];
  return (
    <form class="plan-form" onSubmit={submit}>
      <p>
        Now: {pipeline.publishAt ? formatLocal(pipeline.publishAt) : 'as soon as it is ready'}.
      </p>
      <Field id={id} label="New time" help={`In your time zone, ${timeZone}.`} problems={problems}>
        <input ref={input} type="datetime-local" value={value} min={toInputValue(Date.now(), timeZone)} onInput={(e) => setValue(e.currentTarget.value)} required />
      </Field>
      {chosen?.skipped ? (
        <p class="note note-warn">
          The clocks skip this time in {timeZone} (summer time starts), so the post would go out at {formatLocal(new Date(chosen.instant))}.
        </p>
      ) : null}
      {chosen?.ambiguous ? (
        <p class="note note-warn">
          This time happens twice in {timeZone} (summer time ends): Herald will use the first one ({chosen.iso}).
        </p>
      ) : null}
      {error instanceof ApiError && error.code === 'conflict' ? (
        <div class="note note-error" role="alert" data-testid={`reschedule-error-${pipeline.id}`}>
          <p class="note-message">“{title}” can no longer be moved: {error.message}.</p>
          <p class="note-hint">A post can be moved only until it starts publishing. Close this: the plan now shows where it stands.</p>
        </div>
      ) : (
        <ErrorNote error={error} testId={`reschedule-error-${pipeline.id}`} />
      )}
      {suggested ? (
        <p class="note note-info">
          The first free time is {formatLocal(suggested)}.{' '}
          <Button kind="secondary" onClick={() => setValue(toInputValue(Date.parse(suggested), timeZone))}>
            Use that time
          </Button>
        </p>
      ) : null}
      <div class="actions">
        <Button type="submit" busy={busy}>
          {busy ? 'Saving…' : 'Save new time'}
        </Button>
        <Button kind="secondary" onClick={onClose} disabled={busy}>
          Keep the current time
        </Button>
      </div>
      {chosen ? <p class="field-help">Herald gets {toZonedIso(chosen.instant, timeZone)}.</p> : null}
    </form>
  );
}

const ENDED = new Set(['published', 'partially_published', 'failed', 'rejected', 'cancelled', 'expired']);

/** The pipeline once it has stopped, read again every second for up to `seconds`; the last state read otherwise. */
async function untilEnded(api: ReturnType<typeof useApi>, id: string, seconds: number): Promise<Pipeline | null> {
  let last: Pipeline | null = null;
  for (let i = 0; i < seconds; i++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    last = await ok(api.GET('/v1/pipelines/{id}', { params: { path: { id } } })).catch(() => last);
    if (last && ENDED.has(last.status)) return last;
  }
  return last;
}

export function CancelConfirm({ pipeline, title, onDone, onClose }: { pipeline: Pipeline; title: string; onDone(message: string): void; onClose(): void }) {
  const api = useApi();
  const [state, setState] = useState<'asking' | 'sending' | 'stopping'>('asking');
  const [error, setError] = useState<unknown>(null);
  const keep = useFocusOnMount<HTMLButtonElement>();
  const questionId = `cancel-question-${pipeline.id}`;

  const confirm = async () => {
    setState('sending');
    setError(null);
    try {
      await ok(api.POST('/v1/pipelines/{id}/cancel', { params: { path: { id: pipeline.id } } }));
    } catch (err) {
      setError(err);
      setState('asking');
      return;
    }
    setState('stopping');
    const after = await untilEnded(api, pipeline.id, 15);
    if (after?.status === 'cancelled') onDone(`Cancelled “${title}”. Nothing more of it will be published.`);
    else if (after && ENDED.has(after.status)) onDone(`“${title}” ended as “${after.status.replace('_', ' ')}” before the cancel arrived.`);
    else onDone(`Cancel of “${title}” requested: it stops in a moment. What was already published stays.`);
  };

  return (
    <div class="plan-form" role="group" aria-labelledby={questionId}>
      <p id={questionId}>
        Nothing more of “{title}” will be published; anything already published stays. Cancel it?
      </p>
      <ErrorNote error={error} testId={`cancel-error-${pipeline.id}`} />
      {state === 'stopping' ? (
        <p role="status" class="muted">
          Stopping…
        </p>
      ) : (
        <div class="actions">
          <Button kind="danger" busy={state === 'sending'} onClick={confirm}>
            Yes, cancel it
          </Button>
          <button ref={keep} type="button" class="button button-secondary" onClick={onClose} disabled={state === 'sending'}>
            Keep it
          </button>
        </div>
      )}
    </div>
  );
}
