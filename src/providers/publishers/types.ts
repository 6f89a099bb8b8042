import type { ContentFormat, Platform } from '../../domain/types';

/** What a publisher is asked to post: the adapted parts of one variant, and images at public URLs. */
export interface PublishInput {
  platform: Platform;
  format: ContentFormat;
  /** One entry per post; threads have several, each replying to the previous one. */
  parts: string[];
  title: string;
  images: { id: string; url: string; alt: string; contentType: string }[];
  /** Stable per publication: the same value on every retry of the same publication. */
  idempotencyKey: string;
  /** Decrypted account credentials; never logged, never returned. Absent in a dry run without an account. */
  credentials?: Record<string, unknown>;
  /** Non-secret account settings such as handle, page id, instance URL. */
  account?: { id: string; handle: string; settings: Record<string, unknown> };
}

/** One HTTP request exactly as it would go on the wire (secrets replaced with "[redacted]"). */
export interface PreparedRequest {
  method: 'POST' | 'GET' | 'PUT';
  url: string;
  headers: Record<string, string>;
  body: unknown;
  /** Why the request exists, for a human reading a preview: "post 2 of 3, replies to post 1". */
  note?: string;
}

export interface PublishResult {
  externalId: string;
  url: string | null;
}

export interface Publisher {
  readonly platform: Platform;
  /** The requests a publish would send, in order, secrets redacted. Pure: no I/O. */
  preview(input: PublishInput): PreparedRequest[];
  /** Publishes for real; with ctx.progress it resumes, with ctx.reconcile it looks before re-posting. */
  publish(input: PublishInput, ctx?: PublishContext): Promise<PublishResult>;
}

/**
 * What earlier attempts of the same publication already achieved, kept durably by the caller (the publishing
 * activity's heartbeat details). A retry resumes from here: a thread never re-posts a part the platform accepted.
 */
export interface PublishProgress {
  /** Posts the platform accepted, by part index. `extra` holds what replies need (Bluesky's uri and cid). */
  parts: { index: number; id: string; url: string | null; extra?: Record<string, string> }[];
  /** Instagram / Threads: a container made but not yet published. */
  container?: { id: string; createdAt: number };
  /** Media the platform already holds, by image id (X media ids, Mastodon media ids, LinkedIn image urns...). */
  media?: Record<string, string>;
  /** Instagram: how many times containers ended in ERROR and were replaced by fresh ones (bounded). */
  containerErrors?: number;
}

export interface PublishContext {
  /** Adapters report each response's rate headers (see rate-info.ts). */
  report?(info: import('../rate-info').RateInfo): void;
  signal?: AbortSignal;
  /** From earlier attempts; absent on the first. */
  progress?: PublishProgress;
  /** Called after every step the platform accepted, before the next request: the caller records it durably. */
  onProgress?(progress: PublishProgress): void;
  /**
   * The previous attempt's outcome is unknown (timeout, dropped connection, killed worker): before posting a part
   * again, look for it on the platform (its idempotency, its duplicate answer, the account's recent posts).
   */
  reconcile?: boolean;
}

/** Refreshes one platform's OAuth tokens. Rotating refresh tokens are single-use: store the result before using it. */
export interface TokenRefresher {
  readonly platform: Platform;
  refresh(credentials: Record<string, unknown>, ctx?: { signal?: AbortSignal }): Promise<{ credentials: Record<string, unknown>; expiresAt: string | null }>;
}
