import { randomBytes } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../domain/error-types';
import { readFailureDetails } from '../domain/failure-details';
import { publicationIdempotencyKey } from '../domain/ids';
import type { ContentFormat, ImageRef, Target } from '../domain/types';
import { AuthExpiredError, ProviderError, ReauthRequiredError } from '../providers/errors';
import type { PublishContext, PublishInput, PublishProgress } from '../providers/publishers/types';
import type { ActivityDeps } from './deps';
import { accountMissingFailure, isLimit, limitFailure, mapFailures, publishInProgressFailure, reauthRequiredFailure } from './failures';
import { HEARTBEAT_INTERVAL_MS, withHeartbeat } from './heartbeat';
import { markReauthRequired } from './refresh-account';
import { MemoryLeases } from '../resilience/lease';

export interface PublishPostArgs {
  tenantId: string;
  pipelineId: string;
  index: number;
  target: Target;
  parts: string[];
  title: string;
  format: ContentFormat;
  images: ImageRef[];
  dryRun: boolean;
  /** Attempts of earlier calls for this publication (before a wait for a quota or a breaker): reconcile then too. */
  earlierAttempts?: number;
}
export interface PublishPostResult {
  status: 'published' | 'previewed';
  externalId: string | null;
  url: string | null;
  publishedAt: string | null;
  preview?: unknown;
  attempt: number;
}

/** A publication waits for a platform quota up to this long (Instagram's 24-hour cap) before giving up. */
export const MAX_PUBLISH_WAIT_MS = 26 * 3_600_000;

/**
 * The publication lease (see "One attempt posts at a time" below) lasts as long as the activity's heartbeat timeout
 * and is renewed at every heartbeat: a killed worker's lease has lapsed by the time Temporal retries its activity (the
 * heartbeat timeout, then at least the retry policy's 2 s), so the retry is not held back. Used when the activity has
 * no heartbeat timeout (tests).
 */
export const PUBLISH_LEASE_DEFAULT_TTL_MS = 8_000;
/**
 * An attempt that ended without hearing the platform's last answer (cancelled, timed out, connection dropped) leaves
 * its lease to lapse within this long instead of freeing it: a request cut off on its way may still be landing, and the
 * next attempt's look-up must come after it. One retry interval (the policy's initial 2 s).
 */
export const PUBLISH_LEASE_GRACE_MS = 2_000;

export function createPublishPost({
  publishers,
  accounts,
  publicBaseUrl,
  logger,
  refreshers,
  guard,
  webhooks,
  leases = new MemoryLeases(),
}: Pick<ActivityDeps, 'publishers' | 'accounts' | 'publicBaseUrl' | 'logger' | 'refreshers' | 'guard' | 'webhooks' | 'leases'>) {
  return async function publishPost(args: PublishPostArgs): Promise<PublishPostResult> {
    // Heartbeats while the platform is asked, so a killed worker's publication is retried within the heartbeat timeout;
    // each beat re-sends the latest progress (never replaces it), which a retry reads to resume and reconcile.
    let progress: PublishProgress | undefined = (Context.current().info.heartbeatDetails as PublishProgress | undefined) ?? undefined;
    return withHeartbeat(() => publishOnce(args, progress, (p) => (progress = p)), () => progress);
  };

  async function publishOnce(args: PublishPostArgs, initial: PublishProgress | undefined, keep: (p: PublishProgress) => void): Promise<PublishPostResult> {
    const activity = Context.current();
    const attempt = activity.info.attempt;
    const publisher = publishers[args.target.platform];
    const input: PublishInput = {
      platform: args.target.platform,
      format: args.format,
      parts: args.parts,
      title: args.title,
      images: args.images.map((i) => ({ id: i.id, url: `${publicBaseUrl}${i.url}`, alt: i.alt, contentType: 'image/png' })),
      idempotencyKey: publicationIdempotencyKey(args.pipelineId, args.index, args.target.platform),
    };
    let version: number | null = null;
    if (args.target.accountId) {
      const found = await accounts.credentials(args.tenantId, args.target.accountId);
      if (!found || found.account.platform !== args.target.platform) {
        throw accountMissingFailure(`account ${args.target.accountId} is not a connected ${args.target.platform} account of this tenant`, args.target.platform);
      }
      if (!args.dryRun && found.account.status !== 'active') {
        const reason = found.account.lastError ? `: ${found.account.lastError}` : '';
        throw reauthRequiredFailure(`account ${found.account.handle} is ${found.account.status}${reason}`, args.target.platform);
      }
      input.account = { id: found.account.id, handle: found.account.handle, settings: found.account.settings };
      input.credentials = found.credentials;
      version = found.version;
    }
    if (args.dryRun) {
      return { status: 'previewed', externalId: null, url: null, publishedAt: null, preview: publisher.preview(input), attempt };
    }
    if (!input.credentials) {
      throw accountMissingFailure(`${args.target.platform}: accountId is required to publish`, args.target.platform);
    }
    // What earlier attempts achieved survives in the heartbeat details: a retry resumes, and, since the last
    // attempt's outcome may be unknown (timeout, dropped connection, killed worker), looks before posting again.
    let progress = initial;
    const ctx = (): PublishContext => ({
      progress,
      reconcile: attempt > 1 || (args.earlierAttempts ?? 0) > 0,
      onProgress: (p) => {
        progress = p;
        keep(p);
        activity.heartbeat(p);
      },
    });
    // Limits and quotas per account (Instagram's 50 posts a day are the account's own); the ticket is the
    // publication's, so a publication that waits keeps its reserved slot across the calls of its child workflow.
    const key = args.target.accountId ? `${args.target.platform}:${args.target.accountId}` : args.target.platform;
    // A publication counts once against the quota: resuming one (a container being polled, a thread half posted)
    // costs nothing more.
    const resuming = () => Boolean(progress && (progress.container || (progress.parts?.length ?? 0) > 0));
    // One attempt posts at a time. Temporal starts attempt N+1 when attempt N's heartbeats stop reaching it in time,
    // and on a busy machine that happens to an attempt that is alive and still posting: its look-up ("is the post
    // there already?") would run before attempt N's post lands, and both would post. So every attempt holds the
    // publication's lease (shared through Redis by every worker) from before its first request until the platform has
    // answered its last one; an attempt that finds another one holding it fails retryably (PublishInProgress, retried
    // when that lease runs out), and by then attempt N's post is on the platform for the look-up to find.
    const lease = await takePublicationLease(input.idempotencyKey, attempt);
    const signal = AbortSignal.any([activity.cancellationSignal, lease.lost]);
    const guarded = (c: PublishContext) =>
      guard.execute(key, { requests: resuming() ? 0 : 1, ticket: input.idempotencyKey, maxWaitMs: MAX_PUBLISH_WAIT_MS, signal }, (call) =>
        publisher.publish(input, { ...c, report: call.report, signal: call.signal }),
      );
    let answered = false;
    const result = await mapFailures(async () => {
      try {
        return await guarded(ctx());
      } catch (err) {
        // Not a failure: the publication waits (status `waiting`, retryAt) in its workflow, then calls again.
        if (isLimit(err)) throw limitFailure(err, { provider: args.target.platform, attempt, withRetryAt: true });
        const refresher = refreshers[args.target.platform];
        if (!(err instanceof AuthExpiredError) || !refresher || !args.target.accountId) throw err;
        // An expired token: refresh once (single-flight with the schedule and the API), then try again once.
        const accountId = args.target.accountId;
        await accounts
          .refreshLocked(args.tenantId, accountId, version, ({ credentials }) =>
            guard.execute(args.target.platform, { signal: activity.cancellationSignal }, (call) => refresher.refresh(credentials, call)),
          )
          .catch(async (refreshErr: unknown) => {
            if (refreshErr instanceof ReauthRequiredError && input.account && version !== null) {
              await markReauthRequired({ accounts, logger, webhooks }, { tenantId: args.tenantId, accountId, version, platform: args.target.platform, handle: input.account.handle, reason: refreshErr.message });
            }
            throw refreshErr;
          });
        const fresh = await accounts.credentials(args.tenantId, args.target.accountId);
        input.credentials = fresh?.credentials;
        return await guarded({ ...ctx(), reconcile: true });
      }
    }, { attempt })
      .then((r) => {
        answered = true;
        return r;
      })
      .catch((err: unknown) => {
        answered = platformAnswered(err);
        throw err;
      })
      .finally(() => lease.release(answered));
    logger.info({ platform: args.target.platform, pipelineId: args.pipelineId, externalId: result.externalId, attempt }, 'published');
    return { status: 'published', externalId: result.externalId, url: result.url, publishedAt: new Date().toISOString(), attempt };
  }

  /**
   * Takes the publication's lease for this attempt, or throws PublishInProgress (retryable, nextRetryDelay = when the
   * holder's lease runs out). While held it is renewed every HEARTBEAT_INTERVAL_MS, for the activity's heartbeat timeout
   * each time; renewing stops once Temporal has given up on this attempt (cancellation), so the lease lapses. If
   * another attempt has taken it meanwhile (this one stalled longer than the lease), `lost` aborts the requests.
   */
  async function takePublicationLease(name: string, attempt: number): Promise<{ lost: AbortSignal; release(answered: boolean): Promise<void> }> {
    const activity = Context.current();
    const info = activity.info;
    const ttlMs = info.heartbeatTimeoutMs && info.heartbeatTimeoutMs > 0 ? info.heartbeatTimeoutMs : PUBLISH_LEASE_DEFAULT_TTL_MS;
    // This attempt and nothing else: two runs of one activity attempt (a retried start after a lost completion) differ.
    const token = `${info.workflowExecution?.workflowId ?? info.activityType}/${info.activityId}#${attempt}/${randomBytes(6).toString('hex')}`;
    const first = await leases.take(name, token, ttlMs);
    if (!first.held) throw publishInProgressFailure(`${name}: another attempt of this publication may still be posting`, attempt, first.retryAfterMs);
    const lost = new AbortController();
    let renewing: Promise<unknown> | null = null;
    const timer = setInterval(() => {
      if (renewing || activity.cancellationSignal.aborted || lost.signal.aborted) return;
      renewing = leases
        .take(name, token, ttlMs)
        .then((r) => {
          if (!r.held) lost.abort(publishInProgressFailure(`${name}: another attempt took the publication over while this one was stalled`, attempt, r.retryAfterMs));
        })
        .catch(() => undefined) // Leases fall back to memory by themselves; nothing here is worth failing the post for.
        .finally(() => (renewing = null));
    }, HEARTBEAT_INTERVAL_MS);
    return {
      lost: lost.signal,
      async release(answered: boolean) {
        clearInterval(timer);
        if (renewing) await renewing;
        await leases.release(name, token, answered ? 0 : PUBLISH_LEASE_GRACE_MS).catch(() => undefined);
      },
    };
  }
}

/**
 * True when the platform answered the attempt's last request (success, or an error it sent): nothing of this attempt
 * is still on its way. False for a timeout, a dropped connection or a cancellation, whose request may still land.
 */
function platformAnswered(err: unknown): boolean {
  if (err instanceof ProviderError) return err.status !== undefined || isLimit(err);
  // mapFailures made the provider's error an ApplicationFailure: its details keep the status of the answer, if any. A
  // limit refused before anything was sent; PublishInProgress means this attempt no longer holds the lease.
  if (!(err instanceof ApplicationFailure)) return false;
  if (err.type === ErrorType.RateLimited || err.type === ErrorType.BreakerOpen || err.type === ErrorType.PublishInProgress) return true;
  return readFailureDetails(err.details).status !== null;
}

