// An imitation of OpenAI chat completions (POST /v1/chat/completions) with OpenAI's real shapes: the completion body,
// `x-ratelimit-*` headers (resets as Go durations), `retry-after` on 429s, and the error bodies OpenAI sends
// (`rate_limit_exceeded`, `insufficient_quota`, `invalid_api_key`, `server_error`). With `flavour: 'vllm'` errors come
// as vLLM's top-level `{object:"error", message, type, param, code}` and there are no rate headers (vLLM, Ollama).
import {
  type FailOptions,
  type FakeAiServer,
  type FakeReply,
  type HttpFailureKind,
  type PromptInfo,
  type RateRefusal,
  type RateSnapshot,
  type RecordedRequest,
  header,
  idMaker,
  isObject,
  startFakeAiServer,
} from './fake-control';

export interface OpenAIFakeOptions {
  /** When set, requests without `Authorization: Bearer <apiKey>` get OpenAI's real 401. */
  apiKey?: string;
  /** 'vllm': vLLM-style error bodies and no rate headers. Default 'openai'. */
  flavour?: 'openai' | 'vllm';
}

const DEFAULT_RETRY_AFTER_S = 20;

/** A duration as OpenAI writes it in x-ratelimit-reset-*: "12ms", "1s", "8.64s", "6m0s", "1h2m3s". */
export function goDuration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms));
  if (total < 1000) return `${total}ms`;
  if (total < 60_000) return `${trimNum(total / 1000)}s`;
  const h = Math.floor(total / 3_600_000);
  const m = Math.floor((total % 3_600_000) / 60_000);
  const s = trimNum((total % 60_000) / 1000);
  return `${h ? `${h}h` : ''}${m}m${s}s`;
}

function trimNum(n: number): string {
  return String(Number(n.toFixed(3)));
}

export async function startOpenAIFake(opts: OpenAIFakeOptions = {}): Promise<FakeAiServer> {
  const vllm = opts.flavour === 'vllm';
  const requestId = idMaker('req_');
  const completionId = idMaker('chatcmpl-');

  const rateHeaders = (rate: RateSnapshot, overrides: { requestsRemaining?: number; resetRequestsMs?: number } = {}): Record<string, string> =>
    vllm
      ? {}
      : {
          'x-ratelimit-limit-requests': String(rate.requests.limit),
          'x-ratelimit-limit-tokens': String(rate.tokens.limit),
          'x-ratelimit-remaining-requests': String(overrides.requestsRemaining ?? rate.requests.remaining),
          'x-ratelimit-remaining-tokens': String(rate.tokens.remaining),
          'x-ratelimit-reset-requests': goDuration(overrides.resetRequestsMs ?? rate.requests.resetMs),
          'x-ratelimit-reset-tokens': goDuration(rate.tokens.resetMs),
        };

  const common = (): Record<string, string> => ({
    'x-request-id': requestId(),
    'openai-processing-ms': '412',
    'openai-version': '2020-10-01',
    ...(vllm ? {} : { 'openai-organization': 'org-fake' }),
  });

  /** An error in OpenAI's shape, or vLLM's. */
  const error = (status: number, message: string, type: string, code: string | null, headers: Record<string, string> = {}): FakeReply => ({
    status,
    headers: { ...common(), ...headers },
    body: vllm ? { object: 'error', message, type: vllmType(status), param: null, code: status } : { error: { message, type, param: null, code } },
  });

  const badKey = (req: RecordedRequest): FakeReply => {
    const auth = header(req, 'authorization');
    if (vllm) return { status: 401, headers: common(), body: { error: 'Unauthorized' } };
    if (!auth) {
      return error(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.",
        'invalid_request_error',
        null,
      );
    }
    const key = auth.replace(/^Bearer\s+/i, '');
    const masked = key.length > 8 ? `${key.slice(0, 3)}${'*'.repeat(Math.min(16, key.length - 7))}${key.slice(-4)}` : '***';
    return error(
      401,
      `Incorrect API key provided: ${masked}. You can find your API key at https://platform.openai.com/account/api-keys.`,
      'invalid_request_error',
      'invalid_api_key',
    );
  };

  const rateLimitMessage = (model: string, kind: 'requests' | 'tokens', limit: number, used: number, requested: number, retryMs: number): string =>
    `Rate limit reached for ${model} in organization org-fake on ${kind} per min (${kind === 'requests' ? 'RPM' : 'TPM'}): ` +
    `Limit ${limit}, Used ${used}, Requested ${requested}. Please try again in ${goDuration(retryMs)}. ` +
    'Visit https://platform.openai.com/account/rate-limits to learn more.';

  return startFakeAiServer({
    nominal: { requests: 5000, windowMs: 60_000, tokens: 2_000_000 },

    check(req): FakeReply | PromptInfo {
      const path = req.path.split('?')[0];
      if (req.method !== 'POST' || path !== '/v1/chat/completions') {
        return error(404, `Invalid URL (${req.method} ${path})`, 'invalid_request_error', null);
      }
      if (opts.apiKey !== undefined && header(req, 'authorization') !== `Bearer ${opts.apiKey}`) return badKey(req);
      const body = req.body;
      if (!isObject(body)) {
        return error(400, "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)", 'invalid_request_error', null);
      }
      if (typeof body.model !== 'string' || body.model === '') {
        return error(400, 'you must provide a model parameter', 'invalid_request_error', null);
      }
      const messages = Array.isArray(body.messages) ? body.messages.filter(isObject) : [];
      if (!messages.length) return error(400, "[] is too short - 'messages'", 'invalid_request_error', 'empty_array');
      const text = (role: string) =>
        messages
          .filter((m) => m.role === role)
          .map((m) => (typeof m.content === 'string' ? m.content : ''))
          .join('\n');
      const maxTokens = typeof body.max_tokens === 'number' ? body.max_tokens : typeof body.max_completion_tokens === 'number' ? body.max_completion_tokens : 4096;
      return { model: body.model, system: text('system') + text('developer'), user: text('user'), maxTokens };
    },

    success(_req, prompt, content, usage, rate): FakeReply {
      return {
        status: 200,
        headers: { ...common(), ...rateHeaders(rate) },
        body: {
          id: completionId(),
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: prompt.model,
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content, refusal: null, annotations: [] },
              logprobs: null,
              finish_reason: usage.truncated ? 'length' : 'stop',
            },
          ],
          usage: {
            prompt_tokens: usage.inputTokens,
            completion_tokens: usage.outputTokens,
            total_tokens: usage.inputTokens + usage.outputTokens,
            prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
            completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
          },
          service_tier: 'default',
          system_fingerprint: 'fp_fake0001',
        },
      };
    },

    rateLimited(_req, prompt, refusal: RateRefusal): FakeReply {
      const seconds = Math.max(1, Math.ceil(refusal.retryAfterMs / 1000));
      const headers = { ...rateHeaders(refusal.snapshot), 'retry-after': String(seconds) };
      const message = rateLimitMessage(prompt.model, refusal.kind, refusal.limit, refusal.used, refusal.requested, refusal.retryAfterMs);
      return error(429, message, refusal.kind, 'rate_limit_exceeded', headers);
    },

    failure(kind: HttpFailureKind, req, fail: FailOptions, rate): FakeReply {
      const model = isObject(req.body) && typeof req.body.model === 'string' ? req.body.model : 'gpt-4o-mini';
      const withStatus = (r: FakeReply): FakeReply => (fail.status ? { ...r, status: fail.status } : r);
      switch (kind) {
        case 'rate_limit': {
          const seconds = fail.retryAfterSeconds ?? (fail.retryAfterMs !== undefined ? Math.ceil(fail.retryAfterMs / 1000) : DEFAULT_RETRY_AFTER_S);
          const retryMs = fail.retryAfterMs ?? seconds * 1000;
          const headers: Record<string, string> = {
            ...rateHeaders(rate, { requestsRemaining: 0, resetRequestsMs: retryMs }),
            'retry-after': String(seconds),
          };
          if (fail.retryAfterMs !== undefined) headers['retry-after-ms'] = String(fail.retryAfterMs);
          const limit = rate.requests.limit;
          return withStatus(error(429, rateLimitMessage(model, 'requests', limit, limit, 1, retryMs), 'requests', 'rate_limit_exceeded', headers));
        }
        case 'insufficient_quota':
        case 'quota_per_day':
        case 'spend_limit':
          return withStatus(
            error(
              429,
              'You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
              'insufficient_quota',
              'insufficient_quota',
              rateHeaders(rate),
            ),
          );
        case 'server_error':
          return withStatus(error(500, 'The server had an error while processing your request. Sorry about that!', 'server_error', null));
        case 'overloaded':
          return withStatus(error(503, 'The engine is currently overloaded, please try again later', 'server_error', null));
        case 'bad_key':
          return withStatus(badKey({ ...req, headers: { ...req.headers, authorization: req.headers.authorization ?? 'Bearer sk-fake-bad-key-0000' } }));
      }
    },

    malformed(): string {
      return '{"id":"chatcmpl-fake","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"{\\"title\\": \\"Cut';
    },
  });
}

function vllmType(status: number): string {
  if (status === 400) return 'BadRequestError';
  if (status === 404) return 'NotFoundError';
  if (status === 429) return 'RateLimitError';
  if (status >= 500) return 'InternalServerError';
  return 'Error';
}
