// Following a pipeline live: the API's Server-Sent Events stream (GET /v1/pipelines/{id}/events), re-opened when it
// drops. After a drop the state is read again first, so nothing that happened meanwhile is missed, and a state
// already seen is never passed on twice: the caller prints each change once.
import { describeCause, pipelinePath, type Api } from './api';
import { ApiError, UnreachableError, UsageError } from './errors';
import { TERMINAL, type PipelineView } from './render';

export interface FollowOptions {
  onState(state: PipelineView): void;
  /** Drops and reconnections, for stderr. */
  onNotice(text: string): void;
  /** Keep reconnecting for this long after the last good connection; then give up with the last error. */
  giveUpMs: number;
  /** No byte for this long (the API sends a keep-alive every 15 s) means the connection is dead though still open. */
  idleMs: number;
}

class StreamIdle extends Error {}

/** Errors that no reconnection will cure: the pipeline is not there, the key is wrong, the call is malformed. */
const isFinal = (err: unknown) => err instanceof UsageError || (err instanceof ApiError && !err.transient);

export async function followPipeline(api: Api, id: string, opts: FollowOptions): Promise<PipelineView> {
  const { idleMs } = opts;
  let last: PipelineView | null = null;
  let lastJson = '';
  let lastEventId: string | undefined;
  let attempt = 0;
  let failingSince: number | null = null;

  const deliver = (state: PipelineView) => {
    // An older state than one already passed on (a slow read racing the stream) is stale; an equal one is a repeat.
    if (last && state.updatedAt < last.updatedAt) return;
    // The stream and GET serialise the same state with keys in different orders: compare what they say.
    const json = canonical(state);
    if (json === lastJson) return;
    last = state;
    lastJson = json;
    opts.onState(state);
  };
  const done = () => (last && TERMINAL.has(last.status) ? last : null);
  // Bounded like the stream: on a connection that went silent, a read would otherwise wait forever.
  const readState = async () => deliver(await api.unwrap(api.client.GET('/v1/pipelines/{id}', { ...pipelinePath(id), signal: AbortSignal.timeout(idleMs) })));

  // The first read is not retried: a wrong id, key or URL is reported at once.
  await readState();
  for (;;) {
    const finished = done();
    if (finished) return finished;
    let reason = 'the stream ended before the pipeline did';
    let lastError: unknown = null;
    try {
      await readStream();
      const ended = done();
      if (ended) return ended;
    } catch (err) {
      if (isFinal(err)) throw err;
      reason = err instanceof StreamIdle ? `no data for ${Math.round(idleMs / 1000)} s` : describe(err);
      lastError = err;
    }
    failingSince ??= Date.now();
    if (Date.now() - failingSince > opts.giveUpMs) {
      if (lastError instanceof ApiError) throw lastError;
      throw new UnreachableError(`lost the event stream of ${id} and could not get it back within ${Math.round(opts.giveUpMs / 1000)} s: ${reason}`);
    }
    const delay = backoff(attempt++);
    opts.onNotice(`stream dropped (${reason}); reconnecting in ${(delay / 1000).toFixed(1)} s`);
    await new Promise((r) => setTimeout(r, delay));
    try {
      await readState();
    } catch (err) {
      if (isFinal(err)) throw err;
      // Still down: the stream's own attempt below reports it and backs off.
    }
  }

  async function readStream(): Promise<void> {
    const ctl = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => ctl.abort(new StreamIdle()), idleMs);
    };
    arm();
    try {
      const body = await api.unwrap(
        api.client.GET('/v1/pipelines/{id}/events', {
          ...pipelinePath(id),
          parseAs: 'stream',
          signal: ctl.signal,
          headers: lastEventId ? { 'last-event-id': lastEventId } : {},
        }),
      );
      if (!body) return;
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        arm();
        buffer += decoder.decode(chunk, { stream: true }).replace(/\r\n?/g, '\n');
        let sep: number;
        while ((sep = buffer.indexOf('\n\n')) >= 0) {
          const event = parseEvent(buffer.slice(0, sep));
          buffer = buffer.slice(sep + 2);
          if (!event) continue;
          if (event.id) lastEventId = event.id;
          if (failingSince !== null) opts.onNotice('reconnected');
          failingSince = null;
          attempt = 0;
          deliver(JSON.parse(event.data) as PipelineView);
        }
      }
    } catch (err) {
      throw ctl.signal.aborted && ctl.signal.reason instanceof StreamIdle ? ctl.signal.reason : err;
    } finally {
      clearTimeout(timer);
      ctl.abort();
    }
  }
}

/** One SSE event block: its `id:` and joined `data:` lines; comments (keep-alives) and other events give null. */
function parseEvent(block: string): { id?: string; data: string } | null {
  let type = 'message';
  let id: string | undefined;
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (!line || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') type = value;
    else if (field === 'id') id = value;
    else if (field === 'data') data.push(value);
  }
  if (!data.length || (type !== 'state' && type !== 'message')) return null;
  return { id, data: data.join('\n') };
}

/** JSON with every object's keys sorted. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

/** 0.5 s, 1 s, 2 s … up to 10 s, each ±20 % so many watchers do not come back in step. */
function backoff(attempt: number): number {
  return Math.round(Math.min(10_000, 500 * 2 ** attempt) * (0.8 + Math.random() * 0.4));
}

function describe(err: unknown): string {
  return err instanceof ApiError ? `${err.status} ${err.code}` : describeCause(err);
}
