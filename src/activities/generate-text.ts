import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../domain/error-types';
import type { Content, PipelineRequest } from '../domain/types';
import type { ActivityDeps } from './deps';
import { mapFailures } from './failures';

export interface GenerateTextArgs {
  request: PipelineRequest;
}
export interface GenerateTextResult {
  content: Content;
  usage: { inputTokens: number; outputTokens: number; totalTokens: number } | null;
}

export function createGenerateText({ textGenerators }: Pick<ActivityDeps, 'textGenerators'>) {
  return async function generateText({ request }: GenerateTextArgs): Promise<GenerateTextResult> {
    const generator = textGenerators[0];
    if (!generator) throw ApplicationFailure.create({ type: ErrorType.Permanent, message: 'no text provider is configured', nonRetryable: true });
    return mapFailures(async () => {
      const out = await generator.generate({
        topic: request.topic,
        brief: request.brief,
        voice: request.voice,
        audience: request.audience,
        format: request.format,
      });
      return {
        content: { title: out.title, body: out.body, hashtags: out.hashtags, provider: out.provider, model: out.model, cached: false },
        usage: out.usage ?? null,
      };
    });
  };
}
