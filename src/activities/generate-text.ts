import { Context } from '@temporalio/activity';
import { storableText } from '../domain/storable-text';
import type { Content, PipelineRequest, TokenUsage } from '../domain/types';
import { BreakerOpenError, RateLimitedError } from '../providers/errors';
import { buildPrompt } from '../providers/text/prompt';
import type { GeneratedText, GenerateTextInput } from '../providers/text/types';
import type { ActivityDeps } from './deps';
import { limitFailure, notConfiguredFailure, toApplicationFailure } from './failures';
import { withHeartbeat } from './heartbeat';

export interface GenerateTextArgs {
  request: PipelineRequest;
  provider: string;
  /** A later provider can write instead: long waits and open breakers move on rather than wait. */
  hasFallback: boolean;
  useCache: boolean;
}
export interface GenerateTextResult {
  content: Content;
  usage: TokenUsage | null;
}

/** Waiting longer than this for one provider's quota is worse than letting the next provider write. */
export const MAX_WAIT_WITH_FALLBACK_MS = 60_000;
/** The last provider in the chain waits for its quota; beyond this a retry will come back and reserve again. */
export const MAX_WAIT_LAST_PROVIDER_MS = 10 * 60_000;

export function createGenerateText({ textGenerators, guard, aiCache, cacheTtlMs }: Pick<ActivityDeps, 'textGenerators' | 'guard' | 'aiCache' | 'cacheTtlMs'>) {
  // Heartbeats while the provider writes (a model can take a minute): a killed worker's call is retried within seconds.
  return (args: GenerateTextArgs): Promise<GenerateTextResult> => withHeartbeat(() => generateText(args));
  async function generateText({ request, provider, hasFallback, useCache }: GenerateTextArgs): Promise<GenerateTextResult> {
    const generator = textGenerators[provider];
    if (!generator) {
      throw notConfiguredFailure(provider, `${provider}: not configured on this worker`);
    }
    const input: GenerateTextInput = { topic: request.topic, brief: request.brief, voice: request.voice, audience: request.audience, format: request.format };
    const toResult = (out: GeneratedText, cached: boolean): GenerateTextResult => ({
      content: { title: storableText(out.title), body: storableText(out.body), hashtags: out.hashtags.map(storableText), provider: out.provider, model: out.model, cached },
      usage: out.usage ?? null,
    });
    if (provider === 'offline') return toResult(await generator.generate(input), false);

    // The exact prompt and its parameters: a changed template or model never serves an old answer.
    const key = aiCache.key({ provider, model: generator.model, prompt: buildPrompt(input) });
    if (useCache) {
      const hit = await aiCache.get<GeneratedText>(provider, key);
      if (hit) return toResult(hit, true);
    }
    const info = Context.current().info;
    try {
      const estimate = Math.ceil(((request.brief?.length ?? 0) + request.topic.length + 1500) / 4) + 1024;
      const out = await guard.execute<GeneratedText>(
        provider,
        {
          tokens: estimate,
          usage: (r) => r.usage?.totalTokens,
          ticket: `${info.workflowExecution?.workflowId ?? info.activityType}/${info.activityId}`,
          maxWaitMs: hasFallback ? MAX_WAIT_WITH_FALLBACK_MS : MAX_WAIT_LAST_PROVIDER_MS,
          signal: Context.current().cancellationSignal,
        },
        (ctx) => generator.generate(input, ctx),
      );
      if (useCache) await aiCache.set(provider, key, out, cacheTtlMs);
      return toResult(out, false);
    } catch (err) {
      const attempt = info.attempt;
      if (hasFallback && err instanceof RateLimitedError && err.retryAfterMs > MAX_WAIT_WITH_FALLBACK_MS) {
        const message = `${err.message}; capacity returns in ${Math.round(err.retryAfterMs / 1000)} s, so the next provider writes`;
        throw limitFailure(err, { provider, attempt, message });
      }
      if (hasFallback && err instanceof BreakerOpenError) throw limitFailure(err, { provider, attempt });
      throw toApplicationFailure(err, { attempt });
    }
  }
}
