// Google Gemini over plain HTTP: POST {base}/v1beta/models/{model}:generateContent. One request per call, no retries
// here (Temporal owns retries). Gemini sends no rate-limit headers; its 429 body says which quota ran out and when to
// come back, and that is what gets reported.
import { PermanentError, type ProviderError, QuotaExhaustedError, RateLimitedError, TransientError } from '../errors';
import { clip, hostOf, isRecord, jsonObject, parseJson, reportRate, httpRequest, retryAfterHeaderMs, trimTrailingSlash } from '../http';
import { type CallContext, parseGoDurationMs, type RateInfo } from '../rate-info';
import { DEFAULT_TEXT_TIMEOUT_MS, delayFromMessageMs, firstDelay, num, str } from './classify';
import { buildPrompt, parseModelOutput } from './prompt';
import type { GeneratedText, GenerateTextInput, TextGenerator } from './types';

export const GEMINI_DEFAULT_BASE_URL = 'https://generativelanguage.googleapis.com';
export const GEMINI_DEFAULT_MODEL = 'gemini-2.0-flash';

export interface GeminiTextOptions {
  apiKey?: string;
  /** Default https://generativelanguage.googleapis.com. */
  baseUrl?: string;
  /** Default gemini-2.0-flash ("models/gemini-2.0-flash" works too). */
  model?: string;
  timeoutMs?: number;
}

/** Finish reasons that mean Google withheld the answer: the same prompt will be withheld again. */
const BLOCKED = new Set(['SAFETY', 'RECITATION', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII', 'IMAGE_SAFETY', 'LANGUAGE']);

interface QuotaViolation {
  quotaId?: string;
  quotaMetric?: string;
  quotaValue?: string;
}

export function createGeminiTextGenerator(opts: GeminiTextOptions = {}): TextGenerator {
  const name = 'gemini';
  const model = (opts.model ?? GEMINI_DEFAULT_MODEL).replace(/^models\//, '');
  const url = `${trimTrailingSlash(opts.baseUrl ?? GEMINI_DEFAULT_BASE_URL)}/v1beta/models/${encodeURIComponent(model)}:generateContent`;

  return {
    name,
    model,
    async generate(input: GenerateTextInput, ctx?: CallContext): Promise<GeneratedText> {
      const prompt = buildPrompt(input);
      const body = {
        systemInstruction: { parts: [{ text: prompt.system }] },
        contents: [{ role: 'user', parts: [{ text: prompt.user }] }],
        generationConfig: { maxOutputTokens: prompt.maxTokens, temperature: prompt.temperature },
      };
      const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
      if (opts.apiKey) headers['x-goog-api-key'] = opts.apiKey;
      // No rate headers on Gemini's answers: a 429 says what ran out in its body.
      const call = { provider: name, what: hostOf(url), timeoutMs: opts.timeoutMs ?? DEFAULT_TEXT_TIMEOUT_MS, signal: ctx?.signal, report: ctx?.report };
      const reply = await httpRequest(url, { method: 'POST', headers, body: JSON.stringify(body) }, call);
      if (!reply.ok) {
        const { error, rate } = geminiError(reply.status, reply.headers, reply.text, Date.now());
        reportRate(call, rate);
        throw error;
      }
      reportRate(call, { windows: [] });

      const json = jsonObject(reply, call);
      const feedback = isRecord(json.promptFeedback) ? json.promptFeedback : undefined;
      const blockReason = str(feedback?.blockReason);
      if (blockReason) throw new PermanentError(name, `the prompt was blocked (${blockReason})`);
      const candidate = Array.isArray(json.candidates) ? json.candidates[0] : undefined;
      if (!isRecord(candidate)) throw new TransientError(name, 'answer without candidates', reply.status);
      const parts = isRecord(candidate.content) && Array.isArray(candidate.content.parts) ? candidate.content.parts : [];
      // Thinking models may return their thoughts as parts marked `thought: true`: not content.
      const text = parts.map((p) => (isRecord(p) && p.thought !== true ? (str(p.text) ?? '') : '')).join('');
      const finish = str(candidate.finishReason);
      if (!text.trim() && finish && BLOCKED.has(finish)) throw new PermanentError(name, `the answer was withheld (finishReason ${finish})`);
      // finishReason MAX_TOKENS keeps what arrived: parseModelOutput salvages JSON cut short.
      const out = parseModelOutput(text, input.topic, name);
      return { ...out, provider: name, model, usage: usageOf(json.usageMetadata) };
    },
  };
}

/**
 * `{error:{code, message, status, details[]}}` as a typed error, and what it says about limits. A 429 whose
 * QuotaFailure names a per-day quota (or a quota of 0: the model is not in the plan) is QuotaExhaustedError, even
 * though the body also carries a RetryInfo; other 429s wait RetryInfo.retryDelay.
 */
function geminiError(status: number, headers: Headers, text: string, now: number): { error: ProviderError; rate: RateInfo } {
  const name = 'gemini';
  const parsed = parseJson(text);
  const err = isRecord(parsed) && isRecord(parsed.error) ? parsed.error : undefined;
  const googleStatus = str(err?.status);
  const message = clip(str(err?.message) ?? (text.trim() ? text : `HTTP ${status}`));
  const label = googleStatus ? `${status} ${googleStatus}` : String(status);
  const details = Array.isArray(err?.details) ? err.details.filter(isRecord) : [];
  const typed = (suffix: string) => details.filter((d) => str(d['@type'])?.endsWith(suffix));

  if (status === 429 || googleStatus === 'RESOURCE_EXHAUSTED') {
    const violations: QuotaViolation[] = typed('google.rpc.QuotaFailure').flatMap((d) =>
      Array.isArray(d.violations) ? d.violations.filter(isRecord).map((v) => ({ quotaId: str(v.quotaId), quotaMetric: str(v.quotaMetric), quotaValue: str(v.quotaValue) })) : [],
    );
    const retryDelay = typed('google.rpc.RetryInfo').map((d) => parseGoDurationMs(str(d.retryDelay)))[0];
    const daily = violations.find((v) => /PerDay/i.test(`${v.quotaId ?? ''} ${v.quotaMetric ?? ''}`) || v.quotaValue === '0');
    const kind = violations.some((v) => /token/i.test(`${v.quotaId ?? ''} ${v.quotaMetric ?? ''}`)) ? 'tokens' : 'requests';
    const limit = num(violations[0]?.quotaValue);
    if (daily) {
      const which = daily.quotaId ?? daily.quotaMetric ?? 'quota';
      const rate: RateInfo = { windows: [{ kind, remaining: 0, ...(limit !== undefined ? { limit } : {}) }] };
      return { error: new QuotaExhaustedError(name, `daily quota exhausted (${label}, ${which}): ${message}`, status), rate };
    }
    const retryAfterMs = firstDelay([retryDelay, retryAfterHeaderMs(headers, now), delayFromMessageMs(message)]);
    const rate: RateInfo = { windows: [{ kind, remaining: 0, resetAt: now + retryAfterMs, ...(limit !== undefined ? { limit } : {}) }] };
    return { error: new RateLimitedError(name, `rate limited (${label}): ${message}`, retryAfterMs, status), rate };
  }

  const rate: RateInfo = { windows: [] };
  const keyInvalid = details.some((d) => d.reason === 'API_KEY_INVALID');
  // A bad key is 400 INVALID_ARGUMENT with reason API_KEY_INVALID (not 401); 401/403 are auth too.
  if (keyInvalid || status === 401 || status === 403) return { error: new PermanentError(name, `API key refused (${label}): ${message}`, status), rate };
  if (status === 408 || status === 409 || status >= 500) return { error: new TransientError(name, `HTTP ${label}: ${message}`, status), rate };
  return { error: new PermanentError(name, `HTTP ${label}: ${message}`, status), rate };
}

function usageOf(meta: unknown): GeneratedText['usage'] {
  if (!isRecord(meta)) return undefined;
  const inputTokens = num(meta.promptTokenCount);
  const candidates = num(meta.candidatesTokenCount);
  if (inputTokens === undefined || candidates === undefined) return undefined;
  // Thinking tokens are billed as output.
  const outputTokens = candidates + (num(meta.thoughtsTokenCount) ?? 0);
  return { inputTokens, outputTokens, totalTokens: num(meta.totalTokenCount) ?? inputTokens + outputTokens };
}
