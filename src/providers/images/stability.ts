// Stability AI Stable Image: POST /v2beta/stable-image/generate/{core|ultra|sd3} as multipart, answered as JSON
// (`Accept: application/json`) so that a CONTENT_FILTERED finish (a blurred image with 200) can be told apart.
import { PermanentError, QuotaExhaustedError, RateLimitedError, TransientError } from '../errors';
import { isRecord, jsonObject, httpRequest, retryAfterHeaderMs, trimTrailingSlash } from '../http';
import type { CallContext } from '../rate-info';
import { imageCall, withDetail } from './image-errors';
import { asImage } from './image-info';
import { illustrationAlt, illustrationPrompt } from './prompts';
import type { FoundImage, ImageRequest, ImageSource } from './types';

export type StabilityEngine = 'core' | 'ultra' | 'sd3';

export interface StabilityImageOptions {
  apiKey: string;
  /** Default https://api.stability.ai */
  baseUrl?: string;
  /** Default core */
  engine?: StabilityEngine;
  /** Per request; default 90 000. */
  timeoutMs?: number;
}

export const STABILITY_DEFAULTS = {
  baseUrl: 'https://api.stability.ai',
  engine: 'core' as StabilityEngine,
  timeoutMs: 90_000,
};

/**
 * Stability allows about 150 requests per 10 s; past that it answers 429 and, by its own support pages, times the
 * key out for 60 s. Coming back after 10 s would only meet more 429s, so without a Retry-After we wait the 60 s.
 */
const DEFAULT_RETRY_AFTER_MS = 60_000;
const PROVIDER = 'stability';
const NEGATIVE_PROMPT = 'text, letters, words, watermark, logo, signature';

export function createStabilityImageSource(options: StabilityImageOptions): ImageSource {
  const baseUrl = trimTrailingSlash(options.baseUrl ?? STABILITY_DEFAULTS.baseUrl);
  const engine = options.engine ?? STABILITY_DEFAULTS.engine;
  const timeoutMs = options.timeoutMs ?? STABILITY_DEFAULTS.timeoutMs;

  return {
    name: PROVIDER,
    async find(request: ImageRequest, ctx?: CallContext): Promise<FoundImage[]> {
      const form = new FormData();
      form.append('prompt', illustrationPrompt(request));
      form.append('negative_prompt', NEGATIVE_PROMPT);
      form.append('output_format', 'png');
      form.append('aspect_ratio', '16:9');
      const answer = await httpRequest(
        `${baseUrl}/v2beta/stable-image/generate/${engine}`,
        // No Content-Type: fetch sets multipart/form-data with its boundary.
        { method: 'POST', headers: { Authorization: `Bearer ${options.apiKey}`, Accept: 'application/json' }, body: form },
        imageCall(PROVIDER, `image generation (${engine})`, timeoutMs, ctx),
      );
      const { status, headers, text } = answer;
      if (status < 200 || status >= 300) {
        const message = withDetail(`image generation answered HTTP ${status}`, text);
        if (status === 429) throw new RateLimitedError(PROVIDER, message, retryAfterHeaderMs(headers) ?? DEFAULT_RETRY_AFTER_MS, status);
        if (status === 402) throw new QuotaExhaustedError(PROVIDER, message, status); // out of credits
        if (status === 408 || status >= 500) throw new TransientError(PROVIDER, message, status);
        throw new PermanentError(PROVIDER, message, status);
      }

      const json = jsonObject(answer, { provider: PROVIDER, what: 'image generation' });
      const finish = isRecord(json) && typeof json.finish_reason === 'string' ? json.finish_reason : undefined;
      if (finish === 'CONTENT_FILTERED') throw new PermanentError(PROVIDER, 'content filtered: the image was blocked by moderation', status);
      if (finish !== undefined && finish !== 'SUCCESS') throw new TransientError(PROVIDER, `image generation finished with ${finish}`, status);
      const image = isRecord(json) && typeof json.image === 'string' ? json.image : '';
      if (!image) throw new TransientError(PROVIDER, 'image generation answered without an image', status);

      const bytes = Buffer.from(image, 'base64');
      const info = asImage(PROVIDER, 'the generated image', bytes);
      return [
        {
          bytes,
          contentType: info.contentType,
          width: info.width,
          height: info.height,
          source: PROVIDER,
          alt: illustrationAlt(request.title),
          attribution: null,
        },
      ];
    },
  };
}
