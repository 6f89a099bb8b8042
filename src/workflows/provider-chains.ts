// Fallback chains, in workflow code: each provider is tried under its own retry budget; when it is broken (breaker
// open), out of quota, refusing for longer than is worth waiting, or still failing after its budget, the next one
// writes. Decisions go by failure type, never by message.
import { isCancellation, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { ErrorType } from '../domain/error-types';
import type { Content, ImageRef, PipelineRequest, ProviderSkip } from '../domain/types';
import { describeFailure } from './util';

const NEVER_RETRY = [
  ErrorType.Permanent,
  ErrorType.InvalidInput,
  ErrorType.QuotaExhausted,
  ErrorType.ReauthRequired,
  ErrorType.AccountMissing,
];

const { planProviders } = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumInterval: '10 seconds' },
});
// The same, run inside the workflow task (lean pipelines): it only reads configuration and breaker state.
const { planProviders: planProvidersLocal } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumInterval: '10 seconds' },
});
// A provider's retry budget. RateLimited and BreakerOpen carry nextRetryDelay, so the next attempt comes exactly
// when the provider (or the breaker's probe) allows it.
const { generateText, illustrateWith } = proxyActivities<Activities>({
  startToCloseTimeout: '3 minutes',
  // The activity heartbeats every 2 s: a worker killed mid-call is noticed within 8 s and the call retried elsewhere.
  heartbeatTimeout: '8 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 4, nonRetryableErrorTypes: NEVER_RETRY },
});
// The last provider has no one to hand over to: a wait for its quota is not a failure, so its budget is counted in
// time (a queue of pipelines behind a per-minute limit, a Redis outage) rather than in four attempts.
const { generateText: generateTextLast } = proxyActivities<Activities>({
  startToCloseTimeout: '3 minutes',
  heartbeatTimeout: '8 seconds',
  scheduleToCloseTimeout: '2 hours',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 40, nonRetryableErrorTypes: NEVER_RETRY },
});

/** A failure that is ours (bad input), not the provider's: no other provider would do better. */
function isOurs(err: unknown): boolean {
  return describeFailure(err).code === ErrorType.InvalidInput;
}

export async function writeText(request: PipelineRequest, opts: { local?: boolean } = {}): Promise<{ content: Content; plan: { images: string[] } }> {
  const plan = await (opts.local ? planProvidersLocal : planProviders)({ request });
  const skipped: ProviderSkip[] = [];
  for (const [i, provider] of plan.text.entries()) {
    const hasFallback = i < plan.text.length - 1;
    try {
      const generate = hasFallback ? generateText : generateTextLast;
      const out = await generate({ request, provider, hasFallback, useCache: request.cache !== false });
      return { content: { ...out.content, usage: out.usage, skipped }, plan };
    } catch (err) {
      if (isCancellation(err) || !hasFallback || isOurs(err)) throw err;
      const f = describeFailure(err);
      skipped.push({ provider, type: f.code, reason: f.message });
    }
  }
  throw new Error('no text provider in the chain'); // planProviders always ends with one that does not fail
}

export async function findImages(args: {
  tenantId: string;
  pipelineId: string;
  request: PipelineRequest;
  content: Content;
  sources: string[];
}): Promise<ImageRef[]> {
  const skipped: string[] = [];
  for (const source of args.sources) {
    try {
      const refs = await illustrateWith({
        tenantId: args.tenantId,
        pipelineId: args.pipelineId,
        source,
        title: args.content.title,
        topic: args.request.topic,
        keywords: args.content.hashtags,
        style: args.request.image.style,
      });
      if (refs.length === 0) {
        skipped.push(`${source}: no image found`);
        continue;
      }
      const fallbackReason = skipped.length ? skipped.join('; ') : null;
      return refs.map((r) => ({ ...r, fallbackReason }));
    } catch (err) {
      if (isCancellation(err) || isOurs(err)) throw err;
      const f = describeFailure(err);
      // Provider errors already start with the provider's name.
      skipped.push(f.message.startsWith(`${source}:`) ? f.message : `${source}: ${f.message}`);
    }
  }
  return [];
}
