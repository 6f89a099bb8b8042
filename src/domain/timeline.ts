// A pipeline's timeline: typed events, oldest first. Pure types; no I/O (workflows may import).
import type { ApprovalBy, PipelineError, PipelineStatus, Platform, PublicationStatus } from './types';

/** An error as every surface shows it: state, publication, timeline and webhook carry the same code and hint. */
export type ErrorInfo = PipelineError;

export const TIMELINE_EVENT_TYPES = [
  'stage',
  'provider_used',
  'provider_skipped',
  'image_fallback',
  'publication_attempt',
  'publication_waiting',
  'approval',
  'edit',
  'publish_time',
  'error',
] as const;
export type TimelineEventType = (typeof TIMELINE_EVENT_TYPES)[number];

/** What happened, by type. */
export type TimelineEventBody =
  /** The pipeline moved to a new status (`from` is null for the first one). */
  | { type: 'stage'; from: PipelineStatus | null; to: PipelineStatus }
  /** The provider that produced the text (or images), after the ones skipped. */
  | { type: 'provider_used'; stage: 'text' | 'image'; provider: string; model: string | null; cached: boolean }
  /** A provider passed over, with the failure type (RateLimited, BreakerOpen, QuotaExhausted...) and why. */
  | { type: 'provider_skipped'; stage: 'text' | 'image'; provider: string; failureType: string; reason: string }
  /** An image that came from a fallback source, and why the preferred one was not used. */
  | { type: 'image_fallback'; source: string; reason: string }
  /** A publication finished an attempt: published, previewed, failed or skipped. */
  | {
      type: 'publication_attempt';
      index: number;
      platform: Platform;
      accountId: string | null;
      status: PublicationStatus;
      attempts: number;
      url: string | null;
      error: ErrorInfo | null;
    }
  /** A publication waits (a quota or an open breaker) until retryAt. */
  | {
      type: 'publication_waiting';
      index: number;
      platform: Platform;
      accountId: string | null;
      attempts: number;
      retryAt: string | null;
      error: ErrorInfo | null;
    }
  /** A decision on a pipeline awaiting approval. `by`: who decided (null for a timeout, or a decision made before this was recorded). */
  | {
      type: 'approval';
      decision: 'approved' | 'rejected' | 'timed_out';
      by: ApprovalBy | null;
      reason: string | null;
      edited: boolean;
    }
  /** Content changed by an edit: the fields changed, e.g. ["title", "variants.x"]. */
  | { type: 'edit'; fields: string[] }
  /** The publish time changed (moved by a caller, or to the next free slot at creation). */
  | { type: 'publish_time'; from: string | null; to: string | null; reason: string | null }
  /** The pipeline's error. */
  | ({ type: 'error' } & ErrorInfo);

/**
 * An event to record. `key` is unique within the pipeline and derived from what happened (never random), so a producer
 * that runs twice records it once; `at` is when it happened (ISO 8601).
 */
export type TimelineEventInput = TimelineEventBody & { key: string; at: string };

/** A recorded event as the API returns it. */
export type TimelineEvent = TimelineEventBody & { id: string; pipelineId: string; at: string };
