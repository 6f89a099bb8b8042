import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../domain/error-types';
import { publicationIdempotencyKey } from '../domain/ids';
import type { ContentFormat, ImageRef, Target } from '../domain/types';
import { AuthExpiredError } from '../providers/errors';
import type { PublishContext, PublishInput, PublishProgress } from '../providers/publishers/types';
import type { ActivityDeps } from './deps';
import { mapFailures } from './failures';

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
}
export interface PublishPostResult {
  status: 'published' | 'previewed';
  externalId: string | null;
  url: string | null;
  publishedAt: string | null;
  preview?: unknown;
  attempt: number;
}

export function createPublishPost({
  publishers,
  accounts,
  publicBaseUrl,
  logger,
  refreshers,
  guard,
}: Pick<ActivityDeps, 'publishers' | 'accounts' | 'publicBaseUrl' | 'logger' | 'refreshers' | 'guard'>) {
  return async function publishPost(args: PublishPostArgs): Promise<PublishPostResult> {
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
        throw ApplicationFailure.create({
          type: ErrorType.AccountMissing,
          message: `account ${args.target.accountId} is not a connected ${args.target.platform} account of this tenant`,
          nonRetryable: true,
        });
      }
      if (!args.dryRun && found.account.status !== 'active') {
        throw ApplicationFailure.create({
          type: ErrorType.ReauthRequired,
          message: `account ${found.account.handle} is ${found.account.status}${found.account.lastError ? `: ${found.account.lastError}` : ''}`,
          nonRetryable: true,
        });
      }
      input.account = { id: found.account.id, handle: found.account.handle, settings: found.account.settings };
      input.credentials = found.credentials;
      version = found.version;
    }
    if (args.dryRun) {
      return { status: 'previewed', externalId: null, url: null, publishedAt: null, preview: publisher.preview(input), attempt };
    }
    if (!input.credentials) {
      throw ApplicationFailure.create({ type: ErrorType.AccountMissing, message: `${args.target.platform}: accountId is required to publish`, nonRetryable: true });
    }
    // What earlier attempts achieved survives in the heartbeat details: a retry resumes, and, since the last
    // attempt's outcome may be unknown (timeout, dropped connection, killed worker), looks before posting again.
    let progress = (activity.info.heartbeatDetails as PublishProgress | undefined) ?? undefined;
    const ctx = (): PublishContext => ({
      progress,
      reconcile: attempt > 1,
      onProgress: (p) => {
        progress = p;
        activity.heartbeat(p);
      },
    });
    const result = await mapFailures(async () => {
      try {
        return await publisher.publish(input, ctx());
      } catch (err) {
        const refresher = refreshers[args.target.platform];
        if (!(err instanceof AuthExpiredError) || !refresher || !args.target.accountId) throw err;
        // An expired token: refresh once (single-flight with the schedule and the API), then try again once.
        await accounts.refreshLocked(args.tenantId, args.target.accountId, version, ({ credentials }) =>
          guard.execute(args.target.platform, {}, () => refresher.refresh(credentials)),
        );
        const fresh = await accounts.credentials(args.tenantId, args.target.accountId);
        input.credentials = fresh?.credentials;
        return await publisher.publish(input, { ...ctx(), reconcile: true });
      }
    }, { attempt });
    logger.info({ platform: args.target.platform, pipelineId: args.pipelineId, externalId: result.externalId, attempt }, 'published');
    return { status: 'published', externalId: result.externalId, url: result.url, publishedAt: new Date().toISOString(), attempt };
  };
}
