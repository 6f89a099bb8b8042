// OpenAI chat completions over plain HTTP, and anything that speaks the same API (Groq, Ollama, vLLM, LM Studio):
// POST {base}/v1/chat/completions. One request per call, never a retry here: Temporal owns retries, so every failure
// becomes a typed provider error saying whether and when to try again.
import { PermanentError, type ProviderError, QuotaExhaustedError, RateLimitedError, TransientError } from '../errors';
import { clip, hostOf, isRecord, jsonObject, parseJson, httpRequest, retryAfterHeaderMs, trimTrailingSlash } from '../http';
import { type CallContext, exhaustedWindowDelayMs, parseGoDurationMs, type RateInfo, type RateWindowInfo } from '../rate-info';
import { DEFAULT_TEXT_TIMEOUT_MS, delayFromMessageMs, firstDelay, num, str } from './classify';
import { buildPrompt, parseModelOutput } from './prompt';
import type { GeneratedText, GenerateTextInput, TextGenerator } from './types';

export const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com';
export const OPENAI_DEFAULT_MODEL = 'gpt-4o-mini';

export interface OpenAITextOptions {
  /** Sent as `Authorization: Bearer`; omit for local servers that need none (Ollama). */
  apiKey?: string;
  /** Default https://api.openai.com. A base already ending in /v1 (http://localhost:11434/v1) is used as is. */
  baseUrl?: string;
  /** Default gpt-4o-mini. */
  model?: string;
  timeoutMs?: number;
  /** The provider name in errors and results, default 'openai' (say 'groq', 'ollama' for compatible servers). */
  name?: string;
}

/** Codes that mean billing, not rate: retrying will not help until someone pays. */
const QUOTA_CODES = new Set(['insufficient_quota', 'billing_hard_limit_reached', 'billing_not_active']);

export function createOpenAITextGenerator(opts: OpenAITextOptions = {}): TextGenerator {
  const name = opts.name ?? 'openai';
  const model = opts.model ?? OPENAI_DEFAULT_MODEL;
  const base = trimTrailingSlash(opts.baseUrl ?? OPENAI_DEFAULT_BASE_URL);
  const url = /\/v1$/.test(base) ? `${base}/chat/completions` : `${base}/v1/chat/completions`;

  return {
    name,
    model,
    async generate(input: GenerateTextInput, ctx?: CallContext): Promise<GeneratedText> {
      const prompt = buildPrompt(input);
      // Reasoning models (o1, o3, gpt-5...) refuse max_tokens and any temperature but the default.
      const reasoning = /^(o\d|gpt-5)/i.test(model);
      const body: Record<string, unknown> = {
        model,
        messages: [
          { role: 'system', content: prompt.system },
          { role: 'user', content: prompt.user },
        ],
        ...(reasoning ? { max_completion_tokens: prompt.maxTokens } : { max_tokens: prompt.maxTokens, temperature: prompt.temperature }),
        // No response_format: Ollama, vLLM and older models do not all accept it; the prompt asks for JSON.
      };
      const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
      if (opts.apiKey) headers.authorization = `Bearer ${opts.apiKey}`;
      const call = { provider: name, what: hostOf(url), timeoutMs: opts.timeoutMs ?? DEFAULT_TEXT_TIMEOUT_MS, signal: ctx?.signal, report: ctx?.report, rateInfo: parseOpenAIRateHeaders };
      const reply = await httpRequest(url, { method: 'POST', headers, body: JSON.stringify(body) }, call);
      if (!reply.ok) throw openAIError(name, reply.status, reply.headers, reply.text, reply.rate, Date.now());

      const json = jsonObject(reply, call);
      const choice = Array.isArray(json.choices) ? json.choices[0] : undefined;
      if (!isRecord(choice)) throw new TransientError(name, 'answer without choices', reply.status);
      const message = isRecord(choice.message) ? choice.message : {};
      const refusal = str(message.refusal);
      if (refusal) throw new PermanentError(name, `the model refused: ${clip(refusal)}`);
      const text = contentText(message.content);
      if (!text.trim() && choice.finish_reason === 'content_filter') {
        throw new PermanentError(name, 'the answer was withheld by the content filter (finish_reason content_filter)');
      }
      // finish_reason "length" keeps what arrived: parseModelOutput salvages JSON cut short.
      const out = parseModelOutput(text, input.topic, name);
      return { ...out, provider: name, model, usage: usageOf(json.usage) };
    },
  };
}

/** `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`; resets are Go durations from now. */
export function parseOpenAIRateHeaders(headers: Headers, now: number): RateInfo {
  const windows: RateWindowInfo[] = [];
  for (const kind of ['requests', 'tokens'] as const) {
    const limit = num(headers.get(`x-ratelimit-limit-${kind}`));
    const remaining = num(headers.get(`x-ratelimit-remaining-${kind}`));
    const reset = parseGoDurationMs(headers.get(`x-ratelimit-reset-${kind}`));
    if (limit === undefined && remaining === undefined && reset === undefined) continue;
    const w: RateWindowInfo = { kind };
    if (limit !== undefined) w.limit = limit;
    if (remaining !== undefined) w.remaining = remaining;
    if (reset !== undefined) w.resetAt = now + Math.ceil(reset);
    windows.push(w);
  }
  return { windows };
}

/**
 * An error answer as a typed error. Understands OpenAI's `{error:{message,type,code}}`, vLLM's top-level
 * `{object:"error", message, type, code}` and Ollama's `{error:"..."}`.
 */
function openAIError(name: string, status: number, headers: Headers, text: string, rate: RateInfo | undefined, now: number): ProviderError {
  const parsed = parseJson(text);
  const err = isRecord(parsed) ? (isRecord(parsed.error) ? parsed.error : parsed.object === 'error' ? parsed : undefined) : undefined;
  const message = clip(
    str(err?.message) ?? (isRecord(parsed) ? str(parsed.error) : undefined) ?? (text.trim() ? text : `HTTP ${status}`),
  );
  const code = err?.code;
  const type = str(err?.type);

  if ((typeof code === 'string' && QUOTA_CODES.has(code)) || (type !== undefined && QUOTA_CODES.has(type))) {
    return new QuotaExhaustedError(name, `quota exhausted (${status}, ${typeof code === 'string' ? code : type}): ${message}`, status);
  }
  if (status === 429) {
    const blamed = type === 'requests' || type === 'tokens' ? type : undefined;
    const retryAfterMs = firstDelay([
      retryAfterHeaderMs(headers, now),
      exhaustedWindowDelayMs(rate, now, blamed),
      delayFromMessageMs(message),
    ]);
    return new RateLimitedError(name, `rate limited (429): ${message}`, retryAfterMs, status);
  }
  if (status === 401 || status === 403) return new PermanentError(name, `API key refused (${status}): ${message}`, status);
  if (status === 408 || status === 409 || status >= 500) return new TransientError(name, `HTTP ${status}: ${message}`, status);
  return new PermanentError(name, `HTTP ${status}: ${message}`, status);
}

/** message.content as text: a string, or (some compatible servers) an array of text parts. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => (isRecord(p) ? (str(p.text) ?? '') : typeof p === 'string' ? p : '')).join('');
  return '';
}

function usageOf(usage: unknown): GeneratedText['usage'] {
  if (!isRecord(usage)) return undefined;
  const inputTokens = num(usage.prompt_tokens);
  const outputTokens = num(usage.completion_tokens);
  if (inputTokens === undefined || outputTokens === undefined) return undefined;
  return { inputTokens, outputTokens, totalTokens: num(usage.total_tokens) ?? inputTokens + outputTokens };
}
