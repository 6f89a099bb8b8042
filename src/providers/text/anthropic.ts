// Anthropic Messages API over plain HTTP: POST {base}/v1/messages. One request per call, no retries here
// (Temporal owns retries); failures become typed provider errors.
import { PermanentError, type ProviderError, QuotaExhaustedError, RateLimitedError, TransientError } from '../errors';
import { clip, hostOf, isRecord, jsonObject, parseJson, httpRequest, retryAfterHeaderMs, trimTrailingSlash } from '../http';
import { type CallContext, exhaustedWindowDelayMs, type RateInfo, type RateWindowInfo } from '../rate-info';
import { DEFAULT_TEXT_TIMEOUT_MS, firstDelay, num, str } from './classify';
import { buildPrompt, parseModelOutput } from './prompt';
import type { GeneratedText, GenerateTextInput, TextGenerator } from './types';

export const ANTHROPIC_DEFAULT_BASE_URL = 'https://api.anthropic.com';
export const ANTHROPIC_DEFAULT_MODEL = 'claude-sonnet-4-5';
export const ANTHROPIC_VERSION = '2023-06-01';

export interface AnthropicTextOptions {
  apiKey?: string;
  /** Default https://api.anthropic.com. */
  baseUrl?: string;
  /** Default claude-sonnet-4-5. */
  model?: string;
  timeoutMs?: number;
}

/**
 * Messages that mean money, not rate: the workspace's spend limit, an empty credit balance, "extra usage" needed.
 * Observed as 400 invalid_request_error ("You have reached your specified API usage limits. You will regain access on
 * ...") and as 429 rate_limit_error; documented as 429. Either way retrying will not help soon.
 */
const BILLING_MESSAGE = /usage limits?|spend(ing)? limit|credit balance|billing|purchase credits|extra usage|usage credits/i;

/** `anthropic-ratelimit-<name>-*` header families and what they count. */
const WINDOWS: [string, RateWindowInfo['kind']][] = [
  ['requests', 'requests'],
  ['tokens', 'tokens'],
  ['input-tokens', 'tokens'],
  ['output-tokens', 'tokens'],
];

export function createAnthropicTextGenerator(opts: AnthropicTextOptions = {}): TextGenerator {
  const name = 'anthropic';
  const model = opts.model ?? ANTHROPIC_DEFAULT_MODEL;
  const url = `${trimTrailingSlash(opts.baseUrl ?? ANTHROPIC_DEFAULT_BASE_URL)}/v1/messages`;

  return {
    name,
    model,
    async generate(input: GenerateTextInput, ctx?: CallContext): Promise<GeneratedText> {
      const prompt = buildPrompt(input);
      const body = {
        model,
        max_tokens: prompt.maxTokens,
        temperature: prompt.temperature,
        system: prompt.system,
        messages: [{ role: 'user', content: prompt.user }],
      };
      const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json', 'anthropic-version': ANTHROPIC_VERSION };
      if (opts.apiKey) headers['x-api-key'] = opts.apiKey;
      const call = { provider: name, what: hostOf(url), timeoutMs: opts.timeoutMs ?? DEFAULT_TEXT_TIMEOUT_MS, signal: ctx?.signal, report: ctx?.report, rateInfo: parseAnthropicRateHeaders };
      const reply = await httpRequest(url, { method: 'POST', headers, body: JSON.stringify(body) }, call);
      if (!reply.ok) throw anthropicError(reply.status, reply.headers, reply.text, reply.rate, Date.now());

      const json = jsonObject(reply, call);
      if (!Array.isArray(json.content)) throw new TransientError(name, 'answer without content', reply.status);
      const text = json.content.map((block) => (isRecord(block) && block.type === 'text' ? (str(block.text) ?? '') : '')).join('');
      if (json.stop_reason === 'refusal' && !text.trim()) throw new PermanentError(name, 'the model refused to answer (stop_reason refusal)');
      // stop_reason "max_tokens" keeps what arrived: parseModelOutput salvages JSON cut short.
      const out = parseModelOutput(text, input.topic, name);
      return { ...out, provider: name, model, usage: usageOf(json.usage) };
    },
  };
}

/** `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}`; resets are RFC 3339 times. */
export function parseAnthropicRateHeaders(headers: Headers): RateInfo {
  const windows: RateWindowInfo[] = [];
  for (const [family, kind] of WINDOWS) {
    const limit = num(headers.get(`anthropic-ratelimit-${family}-limit`));
    const remaining = num(headers.get(`anthropic-ratelimit-${family}-remaining`));
    const resetRaw = headers.get(`anthropic-ratelimit-${family}-reset`);
    const reset = resetRaw ? Date.parse(resetRaw) : NaN;
    if (limit === undefined && remaining === undefined && Number.isNaN(reset)) continue;
    const w: RateWindowInfo = { kind };
    if (limit !== undefined) w.limit = limit;
    if (remaining !== undefined) w.remaining = remaining;
    if (!Number.isNaN(reset)) w.resetAt = reset;
    windows.push(w);
  }
  return { windows };
}

/** `{type:"error", error:{type, message}}` as a typed error. */
function anthropicError(status: number, headers: Headers, text: string, rate: RateInfo | undefined, now: number): ProviderError {
  const name = 'anthropic';
  const parsed = parseJson(text);
  const err = isRecord(parsed) && isRecord(parsed.error) ? parsed.error : undefined;
  const type = str(err?.type);
  const message = clip(str(err?.message) ?? (text.trim() ? text : `HTTP ${status}`));
  const label = type ? `${status} ${type}` : String(status);

  if (type === 'billing_error' || ((status === 400 || status === 402 || status === 429) && BILLING_MESSAGE.test(message))) {
    return new QuotaExhaustedError(name, `spend limit or billing (${label}): ${message}`, status);
  }
  if (status === 429) {
    const retryAfterMs = firstDelay([retryAfterHeaderMs(headers, now), exhaustedWindowDelayMs(rate, now)]);
    return new RateLimitedError(name, `rate limited (${label}): ${message}`, retryAfterMs, status);
  }
  if (status === 401 || status === 403) return new PermanentError(name, `API key refused (${label}): ${message}`, status);
  // 500 api_error, 529 overloaded_error, gateway errors, timeouts on their side.
  if (status === 408 || status === 409 || status >= 500) return new TransientError(name, `HTTP ${label}: ${message}`, status);
  return new PermanentError(name, `HTTP ${label}: ${message}`, status);
}

function usageOf(usage: unknown): GeneratedText['usage'] {
  if (!isRecord(usage)) return undefined;
  const input = num(usage.input_tokens);
  const outputTokens = num(usage.output_tokens);
  if (input === undefined || outputTokens === undefined) return undefined;
  // Cached prompt tokens are input too (billed at a different rate).
  const inputTokens = input + (num(usage.cache_creation_input_tokens) ?? 0) + (num(usage.cache_read_input_tokens) ?? 0);
  return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens };
}
