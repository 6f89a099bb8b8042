// An imitation of the Gemini API (POST /v1beta/models/{model}:generateContent) with Google's real shapes: candidates
// and usageMetadata; no rate-limit headers; errors as `{error:{code, message, status, details[]}}`. A 429 is
// RESOURCE_EXHAUSTED with a QuotaFailure naming the quota (per minute, or per day for 'quota_per_day') and a RetryInfo
// `retryDelay` such as "53s"; a bad key is 400 INVALID_ARGUMENT with reason API_KEY_INVALID (Gemini does not answer 401).
import {
  type FailOptions,
  type FakeAiServer,
  type FakeReply,
  type HttpFailureKind,
  type PromptInfo,
  type RateRefusal,
  type RecordedRequest,
  header,
  idMaker,
  isObject,
  startFakeAiServer,
} from './fake-control';

export interface GeminiFakeOptions {
  /** When set, any other key gets the real 400 API_KEY_INVALID. A missing key is always refused (403), as Google does. */
  apiKey?: string;
}

const DEFAULT_RETRY_DELAY_S = 53;
const RPM_METRIC = 'generativelanguage.googleapis.com/generate_content_free_tier_requests';
const TPM_METRIC = 'generativelanguage.googleapis.com/generate_content_free_tier_input_token_count';

export async function startGeminiFake(opts: GeminiFakeOptions = {}): Promise<FakeAiServer> {
  const responseId = idMaker('gem');

  const error = (code: number, status: string, message: string, details?: unknown[]): FakeReply => ({
    status: code,
    headers: { vary: 'Origin, X-Origin, Referer', server: 'scaffolding on HTTPServer2' },
    body: { error: { code, message, status, ...(details ? { details } : {}) } },
  });

  const keyInvalid = (): FakeReply =>
    error(400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', [
      {
        '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
        reason: 'API_KEY_INVALID',
        domain: 'googleapis.com',
        metadata: { service: 'generativelanguage.googleapis.com' },
      },
      { '@type': 'type.googleapis.com/google.rpc.LocalizedMessage', locale: 'en-US', message: 'API key not valid. Please pass a valid API key.' },
    ]);

  const exhausted = (model: string, quota: { metric: string; id: string; value: number }, retryMs: number): FakeReply => {
    const seconds = Math.max(1, Math.ceil(retryMs / 1000));
    return error(
      429,
      'RESOURCE_EXHAUSTED',
      'You exceeded your current quota, please check your plan and billing details. For more information on this error, ' +
        'head to: https://ai.google.dev/gemini-api/docs/rate-limits. To monitor your current usage, head to: https://ai.dev/usage?tab=rate-limit. \n' +
        `* Quota exceeded for metric: ${quota.metric}, limit: ${quota.value}, model: ${model}\nPlease retry in ${(retryMs / 1000).toFixed(3)}s.`,
      [
        {
          '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
          violations: [{ quotaMetric: quota.metric, quotaId: quota.id, quotaDimensions: { location: 'global', model }, quotaValue: String(quota.value) }],
        },
        { '@type': 'type.googleapis.com/google.rpc.Help', links: [{ description: 'Learn more about Gemini API quotas', url: 'https://ai.google.dev/gemini-api/docs/rate-limits' }] },
        { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${seconds}s` },
      ],
    );
  };

  const modelOf = (req: RecordedRequest): string => /\/models\/([^/:?]+)/.exec(req.path)?.[1] ?? 'gemini-2.0-flash';

  return startFakeAiServer({
    nominal: { requests: 2000, windowMs: 60_000, tokens: 4_000_000 },

    check(req): FakeReply | PromptInfo {
      const [path, query = ''] = req.path.split('?');
      const m = /^\/v1beta\/models\/([^/:]+):generateContent$/.exec(path);
      if (req.method !== 'POST' || !m) return error(404, 'NOT_FOUND', `The requested URL ${path} was not found on this server.`);
      const key = header(req, 'x-goog-api-key') ?? new URLSearchParams(query).get('key') ?? undefined;
      if (!key) {
        return error(
          403,
          'PERMISSION_DENIED',
          "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
        );
      }
      if (opts.apiKey !== undefined && key !== opts.apiKey) return keyInvalid();
      const body = req.body;
      if (!isObject(body)) return error(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.');
      const contents = Array.isArray(body.contents) ? body.contents.filter(isObject) : [];
      if (!contents.length) return error(400, 'INVALID_ARGUMENT', '* GenerateContentRequest.contents: contents is not specified\n');
      const partsText = (c: unknown): string =>
        isObject(c) && Array.isArray(c.parts) ? c.parts.map((p) => (isObject(p) && typeof p.text === 'string' ? p.text : '')).join('\n') : '';
      const config = isObject(body.generationConfig) ? body.generationConfig : {};
      return {
        model: decodeURIComponent(m[1]),
        system: partsText(body.systemInstruction),
        user: contents
          .filter((c) => c.role === undefined || c.role === 'user')
          .map(partsText)
          .join('\n'),
        maxTokens: typeof config.maxOutputTokens === 'number' ? config.maxOutputTokens : 8192,
      };
    },

    success(_req, prompt, content, usage): FakeReply {
      return {
        status: 200,
        headers: { vary: 'Origin, X-Origin, Referer', server: 'scaffolding on HTTPServer2' },
        body: {
          candidates: [
            {
              content: { parts: [{ text: content }], role: 'model' },
              finishReason: usage.truncated ? 'MAX_TOKENS' : 'STOP',
              avgLogprobs: -0.1234,
            },
          ],
          usageMetadata: {
            promptTokenCount: usage.inputTokens,
            candidatesTokenCount: usage.outputTokens,
            totalTokenCount: usage.inputTokens + usage.outputTokens,
            promptTokensDetails: [{ modality: 'TEXT', tokenCount: usage.inputTokens }],
            candidatesTokensDetails: [{ modality: 'TEXT', tokenCount: usage.outputTokens }],
          },
          modelVersion: prompt.model,
          responseId: responseId(),
        },
      };
    },

    rateLimited(_req, prompt, refusal: RateRefusal): FakeReply {
      const quota =
        refusal.kind === 'requests'
          ? { metric: RPM_METRIC, id: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier', value: refusal.limit }
          : { metric: TPM_METRIC, id: 'GenerateContentInputTokensPerModelPerMinute-FreeTier', value: refusal.limit };
      return exhausted(prompt.model, quota, refusal.retryAfterMs);
    },

    failure(kind: HttpFailureKind, req, fail: FailOptions, rate): FakeReply {
      const model = modelOf(req);
      const withStatus = (r: FakeReply): FakeReply => (fail.status ? { ...r, status: fail.status } : r);
      switch (kind) {
        case 'rate_limit': {
          const ms = fail.retryAfterMs ?? (fail.retryAfterSeconds ?? DEFAULT_RETRY_DELAY_S) * 1000;
          return withStatus(exhausted(model, { metric: RPM_METRIC, id: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier', value: rate.requests.limit }, ms));
        }
        case 'quota_per_day':
        case 'insufficient_quota':
        case 'spend_limit':
          // The real per-day answer carries a RetryInfo too; it must not be taken as "come back in 43 s".
          return withStatus(exhausted(model, { metric: RPM_METRIC, id: 'GenerateRequestsPerDayPerProjectPerModel-FreeTier', value: 200 }, 43_000));
        case 'server_error':
          return withStatus(
            error(500, 'INTERNAL', 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting'),
          );
        case 'overloaded':
          return withStatus(error(503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.'));
        case 'bad_key':
          return withStatus(keyInvalid());
      }
    },

    malformed(): string {
      return '{\n  "candidates": [\n    {\n      "content": {\n        "parts": [\n          {\n            "text": "{\\"title\\": \\"Cut';
    },
  });
}
