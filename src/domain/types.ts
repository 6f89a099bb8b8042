// Pure types shared by workflows, activities and the API. No I/O here: workflows import this file.

export const PLATFORMS = [
  'x',
  'linkedin',
  'facebook',
  'instagram',
  'threads',
  'mastodon',
  'bluesky',
  'slack',
  'discord',
  'webhook',
] as const;
export type Platform = (typeof PLATFORMS)[number];

/** How each platform is named to a person (hints, the review page). */
export const PLATFORM_NAMES: Record<Platform, string> = {
  x: 'X',
  linkedin: 'LinkedIn',
  facebook: 'Facebook',
  instagram: 'Instagram',
  threads: 'Threads',
  mastodon: 'Mastodon',
  bluesky: 'Bluesky',
  slack: 'Slack',
  discord: 'Discord',
  webhook: 'Webhook',
};

export const FORMATS = ['post', 'thread', 'article'] as const;
export type ContentFormat = (typeof FORMATS)[number];

export const PRIORITIES = ['low', 'normal', 'high', 'critical'] as const;
export type Priority = (typeof PRIORITIES)[number];

export const PIPELINE_STATUSES = [
  'queued',
  'generating',
  'illustrating',
  'adapting',
  'awaiting_approval',
  'scheduled',
  'publishing',
  'published',
  'partially_published',
  'failed',
  'rejected',
  'cancelled',
  'expired',
] as const;
export type PipelineStatus = (typeof PIPELINE_STATUSES)[number];

export const TERMINAL_STATUSES: readonly PipelineStatus[] = [
  'published',
  'partially_published',
  'failed',
  'rejected',
  'cancelled',
  'expired',
];
export function isTerminal(status: PipelineStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export const PUBLICATION_STATUSES = [
  'pending',
  'waiting',
  'publishing',
  'published',
  'previewed',
  'failed',
  'skipped',
] as const;
export type PublicationStatus = (typeof PUBLICATION_STATUSES)[number];

export interface Target {
  platform: Platform;
  accountId?: string;
}

export interface PipelineRequest {
  topic: string;
  brief?: string;
  voice?: string;
  audience?: string;
  format: ContentFormat;
  targets: Target[];
  image: { mode: 'auto' | 'none'; style?: string; sources?: string[] };
  publishAt?: string;
  approval?: { required: boolean; timeout?: string; onTimeout: 'reject' | 'publish' };
  priority: Priority;
  dryRun: boolean;
  /** false: do not serve or store this request's AI text in the response cache. */
  cache?: boolean;
}

/** A provider the text chain passed over, and why. */
export interface ProviderSkip {
  provider: string;
  /** The failure type (RateLimited, BreakerOpen, QuotaExhausted, Permanent, Transient...). */
  type: string;
  reason: string;
}

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
}

export interface Content {
  title: string;
  body: string;
  hashtags: string[];
  provider: string;
  model: string;
  cached: boolean;
  /** Tokens the provider reported for this text (null for offline or a cache hit's original call unknown). */
  usage?: TokenUsage | null;
  /** Providers tried before the one that wrote, with the reason each was passed over. */
  skipped?: ProviderSkip[];
}

export interface ImageRef {
  id: string;
  url: string;
  source: string;
  alt: string;
  attribution: string | null;
  fallbackReason: string | null;
  width?: number;
  height?: number;
}

export interface Variant {
  platform: Platform;
  parts: string[];
  /** Length of the longest part, counted the platform's way. */
  length: number;
  limit: number;
  adaptations: string[];
}

export interface Publication {
  platform: Platform;
  accountId: string | null;
  status: PublicationStatus;
  externalId: string | null;
  url: string | null;
  attempts: number;
  /** Why it failed, waits or was skipped: the same code and hint as the pipeline's error when the cause is the same. */
  error: PipelineError | null;
  retryAt: string | null;
  publishedAt: string | null;
  /** Dry run: the exact request that would have been sent (secrets redacted). */
  preview?: unknown;
}

export interface ApprovalState {
  required: boolean;
  timeout: string | null;
  onTimeout: 'reject' | 'publish';
  deadline: string | null;
  decision: 'approved' | 'rejected' | 'timed_out' | null;
  decidedAt: string | null;
  reason: string | null;
  edited: boolean;
  /** Who decided: a caller with an API key, or a reviewer through a review link. Absent until a person decides. */
  by?: ApprovalBy;
}

export type ApprovalBy = 'api' | 'review_link';

export interface PipelineError {
  code: string;
  message: string;
  /** What the user can do about it (reconnect an account, wait until a time...), or null. */
  hint: string | null;
}

export interface PipelineState {
  id: string;
  tenantId: string;
  status: PipelineStatus;
  createdAt: string;
  updatedAt: string;
  request: PipelineRequest;
  content: Content | null;
  images: ImageRef[];
  variants: Variant[];
  publications: Publication[];
  publishAt: string | null;
  approval: ApprovalState | null;
  error: PipelineError | null;
  /** Increases with every change; the projection in PostgreSQL only moves forward. */
  version: number;
}

export interface ApprovalEdits {
  title?: string;
  body?: string;
  variants?: Partial<Record<Platform, string>>;
}
