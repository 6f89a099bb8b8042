import { createHmac } from 'node:crypto';
import { Context } from '@temporalio/activity';
import type { ImageRef } from '../domain/types';
import { BreakerOpenError, RateLimitedError } from '../providers/errors';
import type { FoundImage } from '../providers/images/types';
import type { ActivityDeps } from './deps';
import { limitFailure, notConfiguredFailure, toApplicationFailure } from './failures';
import { withHeartbeat } from './heartbeat';

export interface IllustrateWithArgs {
  tenantId: string;
  pipelineId: string;
  source: string;
  title: string;
  topic: string;
  keywords: string[];
  style?: string;
}

/** Images rarely justify a wait: a source that is limited for more than this is passed over. */
const MAX_IMAGE_WAIT_MS = 30_000;

/** Finds or makes images with one source and stores them; the workflow walks the chain. */
export function createIllustrateWith({ imageSources, media, mediaIdSecret, guard }: Pick<ActivityDeps, 'imageSources' | 'media' | 'mediaIdSecret' | 'guard'>) {
  // Heartbeats while an image is made or fetched: a killed worker's call is retried within seconds.
  return (args: IllustrateWithArgs): Promise<ImageRef[]> => withHeartbeat(() => illustrateWith(args));
  async function illustrateWith(args: IllustrateWithArgs): Promise<ImageRef[]> {
    const source = imageSources[args.source];
    if (!source) throw notConfiguredFailure(args.source, `${args.source}: not configured`);
    const request = { title: args.title, topic: args.topic, keywords: args.keywords, style: args.style };
    let found: FoundImage[];
    try {
      const info = Context.current().info;
      const ticket = `${info.workflowExecution?.workflowId ?? info.activityType}/${info.activityId}`;
      found = args.source === 'card' ? await source.find(request) : await guard.execute(args.source, { ticket, maxWaitMs: MAX_IMAGE_WAIT_MS, signal: Context.current().cancellationSignal }, (ctx) => source.find(request, ctx));
    } catch (err) {
      const attempt = Context.current().info.attempt;
      if ((err instanceof RateLimitedError && err.retryAfterMs > MAX_IMAGE_WAIT_MS) || err instanceof BreakerOpenError) {
        // Passed over: the chain moves on to its next source.
        throw limitFailure(err, { provider: args.source, attempt });
      }
      throw toApplicationFailure(err, { attempt });
    }
    const refs: ImageRef[] = [];
    for (const [i, img] of found.entries()) {
      // Stable across retries, unguessable without the secret: safe to serve without authentication.
      const id = createHmac('sha256', mediaIdSecret).update(`${args.tenantId}:${args.pipelineId}:${args.source}:${i}`).digest('base64url').slice(0, 32);
      await media.put({
        id,
        tenantId: args.tenantId,
        pipelineId: args.pipelineId,
        contentType: img.contentType,
        bytes: img.bytes,
        width: img.width,
        height: img.height,
        source: img.source,
        alt: img.alt,
        attribution: img.attribution,
      });
      refs.push({ id, url: `/v1/media/${id}`, source: img.source, alt: img.alt, attribution: img.attribution, fallbackReason: null, width: img.width, height: img.height });
    }
    return refs;
  }
}
