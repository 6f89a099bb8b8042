import { Context } from '@temporalio/activity';
import { publicationIdempotencyKey } from '../domain/ids';
import type { ContentFormat, ImageRef, Target } from '../domain/types';
import { AuthExpiredError, ReauthRequiredError } from '../providers/errors';
import type { PublishContext, PublishInput, PublishProgress } from '../providers/publishers/types';
import type { ActivityDeps } from './deps';
import { accountMissingFailure, isLimit, limitFailure, mapFailures, reauthRequiredFailure } from './failures';
import { withHeartbeat } from './heartbeat';
import { markReauthRequired } from './refresh-account';

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

export function createPublishPost({
  publishers,
  accounts,
  publicBaseUrl,
  logger,
  refreshers,
  guard,
  webhooks,
}: Pick<ActivityDeps, 'publishers' | 'accounts' | 'publicBaseUrl' | 'logger' | 'refreshers' | 'guard' | 'webhooks'>) {
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
    const guarded = (c: PublishContext) =>
      guard.execute(key, { requests: resuming() ? 0 : 1, ticket: input.idempotencyKey, maxWaitMs: MAX_PUBLISH_WAIT_MS, signal: activity.cancellationSignal }, (call) =>
        publisher.publish(input, { ...c, report: call.report, signal: call.signal }),
      );
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
    }, { attempt });
    logger.info({ platform: args.target.platform, pipelineId: args.pipelineId, externalId: result.externalId, attempt }, 'published');
    return { status: 'published', externalId: result.externalId, url: result.url, publishedAt: new Date().toISOString(), attempt };
  }
}
