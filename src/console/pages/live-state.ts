// A pipeline's state as it changes, from GET /v1/pipelines/{id}/events (Server-Sent Events). EventSource cannot send an
// Authorization header and the key must stay out of URLs, so the stream is read with fetch: the key goes in the header
// as for every other call. A dropped or silent stream is reopened (its first event is the current state), until the
// pipeline reaches a terminal status.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { components } from '../../client';
import { ApiError, useSession } from '../api';
import { parseEvents } from './event-stream';

export type Pipeline = components['schemas']['Pipeline'];

const TERMINAL = new Set(['published', 'partially_published', 'failed', 'rejected', 'cancelled', 'expired']);
export const isTerminalStatus = (status: string) => TERMINAL.has(status);

/** The server comments every 15 s when nothing changes: three times that in silence counts as a dropped stream. */
const IDLE_MS = 45_000;
const RETRY_MS = [1_000, 2_000, 5_000, 10_000];

export type Connection = 'connecting' | 'live' | 'reconnecting' | 'ended';

export interface LiveState {
  state: Pipeline | null;
  connection: Connection;
  /** An answer that will not change by retrying (404, a refused key); retried failures are not errors. */
  error: unknown;
  /** Show a state an action answered at once, before the stream brings it. */
  replace(next: Pipeline): void;
}

async function refusal(res: Response): Promise<ApiError> {
  const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string; details?: unknown[] } };
  return new ApiError(res.status, body.error?.code ?? `http_${res.status}`, body.error?.message ?? res.statusText, body.error?.details ?? [], null);
}

/** Reads one connection until it ends; resolves normally when the server closes it. */
async function readStream(url: string, apiKey: string, abort: AbortController, onState: (s: Pipeline) => void): Promise<void> {
  let idle = setTimeout(() => abort.abort(), IDLE_MS);
  try {
    const res = await fetch(url, { headers: { authorization: `Bearer ${apiKey}`, accept: 'text/event-stream' }, cache: 'no-store', signal: abort.signal });
    if (!res.ok || !res.body) throw await refusal(res);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      clearTimeout(idle);
      idle = setTimeout(() => abort.abort(), IDLE_MS);
      buffer = parseEvents(buffer + value, (event, data) => {
        if (event === 'state') onState(JSON.parse(data) as Pipeline);
      });
    }
  } finally {
    clearTimeout(idle);
  }
}

/**
 * Whether `next` may replace the state shown. Two sources race: the stream, and an action's answer (approve, reject),
 * which is the state as the action left it and may reach the page after the stream has already brought a later one
 * (a rejection answers "awaiting approval, decided: rejected" while the stream may already say "rejected" and end).
 * An older copy never replaces a newer one, and a finished pipeline never goes back to an unfinished status.
 */
export function isNewer(shown: Pipeline | null, next: Pipeline): boolean {
  if (!shown || shown.id !== next.id) return true;
  if (isTerminalStatus(shown.status) && !isTerminalStatus(next.status)) return false;
  return next.updatedAt >= shown.updatedAt;
}

const permanent = (err: unknown) => err instanceof ApiError && err.status >= 400 && err.status < 500 && err.status !== 429 && err.status !== 408;

export function useLiveState(id: string): LiveState {
  const { apiKey } = useSession();
  const [state, setState] = useState<Pipeline | null>(null);
  const [connection, setConnection] = useState<Connection>('connecting');
  const [error, setError] = useState<unknown>(null);
  const latest = useRef<Pipeline | null>(null);
  const replace = useCallback((next: Pipeline) => {
    if (!isNewer(latest.current, next)) return;
    latest.current = next;
    setState(next);
  }, []);

  useEffect(() => {
    let stopped = false;
    let current: AbortController | null = null;
    const onState = (next: Pipeline) => {
      replace(next);
      setConnection('live');
    };
    const url = `${location.origin}/v1/pipelines/${encodeURIComponent(id)}/events`;
    void (async () => {
      for (let attempt = 0; !stopped; attempt++) {
        current = new AbortController();
        try {
          await readStream(url, apiKey, current, onState);
          attempt = 0;
        } catch (err) {
          if (stopped) return;
          if (permanent(err)) {
            setError(err);
            setConnection('ended');
            return;
          }
        }
        if (latest.current && isTerminalStatus(latest.current.status)) {
          setConnection('ended');
          return;
        }
        setConnection('reconnecting');
        await new Promise((r) => setTimeout(r, RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)]));
      }
    })();
    return () => {
      stopped = true;
      current?.abort();
    };
  }, [id, apiKey, replace]);

  return { state, connection, error, replace };
}
