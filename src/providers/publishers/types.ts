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
  /** Publishes for real. */
  publish(input: PublishInput): Promise<PublishResult>;
}
