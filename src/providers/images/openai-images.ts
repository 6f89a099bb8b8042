// OpenAI image generation (gpt-image-1, dall-e-3 and compatible servers): POST /v1/images/generations.
// Errors follow the OpenAI text rules: 429 insufficient_quota is billing (never retry); other 429s wait.
import { PermanentError, QuotaExhaustedError, RateLimitedError, TransientError } from '../errors';
import { isRecord, jsonObject, parseJson, httpRequest, retryAfterHeaderMs, trimTrailingSlash } from '../http';
import type { CallContext, RateInfo } from '../rate-info';
import { parseOpenAIRateHeaders } from '../text/openai';
import { downloadImage, imageCall, withDetail } from './image-errors';
import { asImage } from './image-info';
import { illustrationAlt, illustrationPrompt } from './prompts';
import type { FoundImage, ImageRequest, ImageSource } from './types';

export interface OpenAIImageOptions {
  /** Omitted for compatible servers that need none. */
  apiKey?: string;
  /** Default https://api.openai.com */
  baseUrl?: string;
  /** Default gpt-image-1 */
  model?: string;
  /** Default 1536x1024 */
  size?: string;
  /** Per request; default 120 000 (generation takes tens of seconds). */
  timeoutMs?: number;
}

export const OPENAI_IMAGES_DEFAULTS = {
  baseUrl: 'https://api.openai.com',
  model: 'gpt-image-1',
  size: '1536x1024',
  timeoutMs: 120_000,
} as const;

/** Used when a rate-limit 429 says nothing about when to come back. */
const DEFAULT_RETRY_AFTER_MS = 20_000;
const PROVIDER = 'openai';

export function createOpenAIImageSource(options: OpenAIImageOptions = {}): ImageSource {
  const baseUrl = trimTrailingSlash(options.baseUrl ?? OPENAI_IMAGES_DEFAULTS.baseUrl);
  const model = options.model ?? OPENAI_IMAGES_DEFAULTS.model;
  const size = options.size ?? OPENAI_IMAGES_DEFAULTS.size;
  const timeoutMs = options.timeoutMs ?? OPENAI_IMAGES_DEFAULTS.timeoutMs;
  const headers: Record<string, string> = { 'Content-Type': 'application/json', Accept: 'application/json' };
  if (options.apiKey) headers.Authorization = `Bearer ${options.apiKey}`;

  return {
    name: PROVIDER,
    async find(request: ImageRequest, ctx?: CallContext): Promise<FoundImage[]> {
      const body: Record<string, unknown> = { model, prompt: illustrationPrompt(request), size, n: 1 };
      // dall-e models answer with a short-lived URL unless asked for base64; gpt-image models only do base64
      // and refuse the parameter.
      if (/^dall-e/i.test(model)) body.response_format = 'b64_json';

      const answer = await httpRequest(
        `${baseUrl}/v1/images/generations`,
        { method: 'POST', headers, body: JSON.stringify(body) },
        imageCall(PROVIDER, 'image generation', timeoutMs, ctx, openAIRateInfo),
      );
      if (answer.status < 200 || answer.status >= 300) throw classifyOpenAIError(answer.status, answer.headers, answer.text);

      const json = jsonObject(answer, { provider: PROVIDER, what: 'image generation' });
      const first = isRecord(json) && Array.isArray(json.data) && isRecord(json.data[0]) ? json.data[0] : undefined;
      let bytes: Buffer;
      if (typeof first?.b64_json === 'string' && first.b64_json !== '') {
        bytes = Buffer.from(first.b64_json, 'base64');
      } else if (typeof first?.url === 'string' && first.url !== '') {
        // A signed URL: the API key must not go with it.
        bytes = (await downloadImage(first.url, { provider: PROVIDER, timeoutMs, ctx })).bytes;
      } else {
        throw new TransientError(PROVIDER, 'image generation answered without an image (no data[0].b64_json or url)', answer.status);
      }
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

/** OpenAI's error rules, shared with the text API. */
export function classifyOpenAIError(status: number, headers: Headers, body: string): Error {
  const json = parseJson(body);
  const err = isRecord(json) ? (isRecord(json.error) ? json.error : json) : {};
  const type = typeof err.type === 'string' ? err.type : '';
  const code = typeof err.code === 'string' ? err.code : '';
  const message = withDetail(`image generation answered HTTP ${status}`, body);
  if (type === 'insufficient_quota' || code === 'insufficient_quota' || code === 'billing_hard_limit_reached') {
    return new QuotaExhaustedError(PROVIDER, message, status);
  }
  if (status === 429) return new RateLimitedError(PROVIDER, message, retryAfterHeaderMs(headers) ?? DEFAULT_RETRY_AFTER_MS, status);
  if (status === 408 || status === 409 || status >= 500) return new TransientError(PROVIDER, message, status);
  // 400 (including content policy), 401, 403, 404 and anything else: the same request fails the same way.
  return new PermanentError(PROVIDER, message, status);
}

/** OpenAI's rate headers, read as for its text API; an answer without any reports nothing. */
export function openAIRateInfo(headers: Headers, now: number): RateInfo | undefined {
  const info = parseOpenAIRateHeaders(headers, now);
  return info.windows.length ? info : undefined;
}
