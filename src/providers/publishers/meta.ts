// Shared by the Meta publishers (Facebook, Instagram, Threads): default endpoints, the durable-progress bookkeeping
// and the two-step container flow that Instagram and Threads share. Graph answers are read in meta-errors.ts.
import { NotReadyError, PermanentError, ReauthRequiredError, TransientError } from '../errors';
import { isRecord } from '../http';
import { type GraphCall, graphErrorOf, graphSend, idOf, parseGraphTime, sameText } from './meta-errors';
import { setting } from './common';
import type { PreparedRequest, PublishContext, PublishInput, PublishProgress } from './types';

export const META_DEFAULT_GRAPH_BASE_URL = 'https://graph.facebook.com/v21.0';
export const THREADS_DEFAULT_API_BASE_URL = 'https://graph.threads.net/v1.0';
/** How long to wait before asking again about a container that is still processing. */
export const DEFAULT_CONTAINER_RETRY_MS = 5_000;
/** Instagram and Threads containers expire 24 h after they are made. */
export const CONTAINER_LIFETIME_MS = 24 * 60 * 60_000;
/** A reconciliation only accepts posts this recent (or made after the recorded container). */
export const DEFAULT_RECONCILE_WINDOW_MS = 24 * 60 * 60_000;
/** Clock skew allowed between Herald's clock and the platform's timestamps. */
const SKEW_MS = 5 * 60_000;

/** Settings every Meta publisher takes besides its base URL. */
export interface MetaPublishSettings {
  /** Per request; 30 s by default. */
  timeoutMs?: number;
  /** The NotReadyError delay while a container processes; 5 s by default. */
  containerRetryMs?: number;
  /** Containers older than this are treated as expired; 24 h by default. */
  containerLifetimeMs?: number;
  /** How far back a reconciliation looks for the same text when no container time bounds it; 24 h by default. */
  reconcileWindowMs?: number;
  /** Clock (epoch ms); the system clock by default. */
  now?: () => number;
}

/** The progress of one publish call: starts from ctx.progress, and every change is handed to ctx.onProgress. */
export class ProgressBook {
  private current: PublishProgress;

  constructor(private readonly ctx: PublishContext) {
    const p = ctx.progress;
    this.current = {
      parts: (p?.parts ?? []).map((x) => ({ ...x })),
      ...(p?.container ? { container: { ...p.container } } : {}),
      ...(p?.media ? { media: { ...p.media } } : {}),
      ...(p?.containerErrors ? { containerErrors: p.containerErrors } : {}),
    };
  }

  get value(): PublishProgress {
    return this.current;
  }

  part(index: number): PublishProgress['parts'][number] | undefined {
    return this.current.parts.find((p) => p.index === index);
  }

  save(next: PublishProgress): void {
    this.current = next;
    this.ctx.onProgress?.(next);
  }

  addMedia(imageId: string, id: string): void {
    this.save({ ...this.current, media: { ...(this.current.media ?? {}), [imageId]: id } });
  }

  setContainer(id: string, createdAt: number): void {
    this.save({ ...this.current, container: { id, createdAt } });
  }

  /** Forgets the container (and the media made for it, which expire with it). */
  dropContainer(): void {
    const { container: _c, media: _m, ...rest } = this.current;
    this.save(rest);
  }

  /** A published part; the container that became it is forgotten. */
  addPart(index: number, id: string, url: string | null): void {
    const { container: _c, media: _m, ...rest } = this.current;
    this.save({ ...rest, parts: [...rest.parts.filter((p) => p.index !== index), { index, id, url }].sort((a, b) => a.index - b.index) });
  }
}

export function requireSetting(input: PublishInput, label: string, ...names: string[]): string {
  const v = setting(input, ...names);
  if (!v) throw new PermanentError(input.platform, `no ${label}: the account's settings need "${names[0]}"`);
  return v;
}

export function requireToken(input: PublishInput, ...names: string[]): string {
  for (const n of names) {
    const v = input.credentials?.[n];
    if (typeof v === 'string' && v.trim() !== '') return v.trim();
  }
  throw new ReauthRequiredError(input.platform, `no access token in the account's credentials ("${names[0]}"); reconnect the account`);
}

/** A ProviderError's message without the "platform: " prefix the class adds, for re-wrapping. */
export function bareMessage(e: Error, provider: string): string {
  return e.message.startsWith(`${provider}: `) ? e.message.slice(provider.length + 2) : e.message;
}

export type ContainerStatus = 'IN_PROGRESS' | 'FINISHED' | 'ERROR' | 'EXPIRED' | 'PUBLISHED' | 'UNKNOWN';

/** The container's status (`status_code` on Instagram, `status` on Threads; both accepted); an expired answer is EXPIRED. */
export async function containerStatus(req: PreparedRequest, call: GraphCall): Promise<{ status: ContainerStatus; detail?: string }> {
  try {
    const { json } = await graphSend(req, call);
    const raw = typeof json.status_code === 'string' ? json.status_code : typeof json.status === 'string' ? json.status : '';
    const status = (['IN_PROGRESS', 'FINISHED', 'ERROR', 'EXPIRED', 'PUBLISHED'] as const).find((s) => s === raw.toUpperCase()) ?? 'UNKNOWN';
    const detail = typeof json.error_message === 'string' ? json.error_message : typeof json.status === 'string' && json.status !== raw ? json.status : undefined;
    return { status, detail };
  } catch (e) {
    if (graphErrorOf(e)?.subcode === 2207020) return { status: 'EXPIRED' };
    throw e;
  }
}

/**
 * What to do with a container after asking its status: 'publish' when FINISHED, 'published' when an earlier attempt
 * already published it; otherwise throws (NotReady while processing, Transient after forgetting an expired container
 * so the retry makes a new one, Permanent when processing failed).
 */
export function decideOnContainer(
  provider: string,
  what: string,
  state: { status: ContainerStatus; detail?: string },
  ageMs: number,
  settings: Required<Pick<MetaPublishSettings, 'containerRetryMs' | 'containerLifetimeMs'>>,
  book: ProgressBook,
): 'publish' | 'published' {
  if (state.status === 'PUBLISHED') return 'published';
  if (state.status === 'EXPIRED' || ageMs >= settings.containerLifetimeMs) {
    book.dropContainer();
    throw new TransientError(provider, `the ${what} expired before it was published; the next attempt makes a new one`);
  }
  if (state.status === 'ERROR') {
    throw new PermanentError(provider, `the platform could not process the ${what}${state.detail ? `: ${state.detail}` : ''} (is every image at a public URL that answers with an image?)`);
  }
  if (state.status === 'IN_PROGRESS') {
    throw new NotReadyError(provider, `the ${what} is still processing; ask again in ${Math.round(settings.containerRetryMs / 1000)} s`, settings.containerRetryMs);
  }
  if (state.status === 'UNKNOWN') throw new TransientError(provider, `the ${what} has an unknown status`);
  return 'publish';
}

/** A NotReadyError from a publish call, with the configured delay. */
export function withRetryDelay(e: unknown, provider: string, ms: number): unknown {
  if (e instanceof NotReadyError && e.retryAfterMs !== ms) return new NotReadyError(provider, bareMessage(e, provider), ms);
  return e;
}

/**
 * The newest-first list `req` answers ({data:[{id, <textField>, <timeField>}]}), searched for `text` posted at or after
 * `since` (and passing `accept`): the earliest such post's id, or undefined.
 */
export async function findPosted(
  req: PreparedRequest,
  call: GraphCall,
  textField: string,
  timeField: string,
  text: string,
  since: number,
  accept: (item: Record<string, unknown>) => boolean = () => true,
): Promise<string | undefined> {
  const { json } = await graphSend(req, call);
  const data = Array.isArray(json.data) ? json.data.filter(isRecord).filter(accept) : [];
  const matches = data
    .filter((d) => sameText(d[textField], text))
    .map((d) => ({ id: idOf(d), at: parseGraphTime(d[timeField]) }))
    .filter((m): m is { id: string; at: number | undefined } => m.id !== undefined && (m.at === undefined || m.at >= since - SKEW_MS));
  matches.sort((a, b) => (a.at ?? 0) - (b.at ?? 0));
  return matches[0]?.id;
}

/** `{permalink}` of a published post, or null: a failure here never fails a publish that already happened. */
export async function permalinkOf(base: string, id: string, call: GraphCall): Promise<string | null> {
  try {
    const { json } = await graphSend({ method: 'GET', url: `${base}/${encodeURIComponent(id)}?fields=permalink`, headers: { Authorization: 'Bearer' }, body: null }, call);
    return typeof json.permalink === 'string' ? json.permalink : null;
  } catch {
    return null;
  }
}

export function createdId(provider: string, json: Record<string, unknown>, what: string): string {
  const id = idOf(json);
  if (!id) throw new TransientError(provider, `the answer to ${what} carried no id`);
  return id;
}
