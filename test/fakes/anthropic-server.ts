// An imitation of the Anthropic Messages API (POST /v1/messages) with Anthropic's real shapes: the message body,
// `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}` headers (RFC 3339
// resets), `retry-after` on 429s, and `{type:"error", error:{type, message}, request_id}` bodies: rate_limit_error,
// api_error (500), overloaded_error (529), authentication_error (401). The spend limit is answered as observed in
// the wild (400 invalid_request_error "You have reached your specified API usage limits..."); pass
// `{ status: 429 }` to failNext for the documented 429 form.
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

export interface AnthropicFakeOptions {
  /** When set, any other x-api-key gets the real 401. A missing x-api-key is always refused, as Anthropic does. */
  apiKey?: string;
}

const DEFAULT_RETRY_AFTER_S = 30;

/** An RFC 3339 time, whole seconds rounded up, as Anthropic's reset headers carry. */
export function rfc3339(ms: number): string {
  return new Date(Math.ceil(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export async function startAnthropicFake(opts: AnthropicFakeOptions = {}): Promise<FakeAiServer> {
  const requestId = idMaker('req_011C');
  const messageId = idMaker('msg_01');

  const rateHeaders = (rate: RateSnapshot, requestsRemaining?: number, requestsResetMs?: number): Record<string, string> => {
    const now = Date.now();
    const h: Record<string, string> = {};
    const put = (family: string, w: RateSnapshot['requests']) => {
      h[`anthropic-ratelimit-${family}-limit`] = String(w.limit);
      h[`anthropic-ratelimit-${family}-remaining`] = String(w.remaining);
      h[`anthropic-ratelimit-${family}-reset`] = rfc3339(now + w.resetMs);
    };
    put('requests', {
      limit: rate.requests.limit,
      remaining: requestsRemaining ?? rate.requests.remaining,
      resetMs: requestsResetMs ?? rate.requests.resetMs,
    });
    put('tokens', rate.tokens);
    put('input-tokens', rate.inputTokens);
    put('output-tokens', rate.outputTokens);
    return h;
  };

  const error = (status: number, type: string, message: string, headers: Record<string, string> = {}): FakeReply => {
    const id = requestId();
    return {
      status,
      headers: { 'request-id': id, 'anthropic-organization-id': 'fake-org-0000', 'x-should-retry': String(status === 429 || status >= 500), ...headers },
      body: { type: 'error', error: { type, message }, request_id: id },
    };
  };

  const rateLimitMessage = (limit: number, what: string, windowMs: number): string =>
    `This request would exceed the rate limit for your organization (fake-org-0000) of ${limit} ${what} per ` +
    `${windowMs === 60_000 ? 'minute' : `${windowMs} ms`}. For details, refer to: https://docs.claude.com/en/api/rate-limits. ` +
    'You can see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, ' +
    'or try again later. You may also contact sales at https://www.anthropic.com/contact-sales to discuss your options for a rate limit increase.';

  return startFakeAiServer({
    nominal: { requests: 50, windowMs: 60_000, tokens: 400_000 },

    check(req: RecordedRequest): FakeReply | PromptInfo {
      const path = req.path.split('?')[0];
      if (req.method !== 'POST' || path !== '/v1/messages') return error(404, 'not_found_error', 'Not Found');
      const key = header(req, 'x-api-key');
      if (!key) return error(401, 'authentication_error', 'x-api-key header is required');
      if (opts.apiKey !== undefined && key !== opts.apiKey) return error(401, 'authentication_error', 'invalid x-api-key');
      if (!header(req, 'anthropic-version')) return error(400, 'invalid_request_error', 'anthropic-version: header is required');
      const body = req.body;
      if (!isObject(body)) return error(400, 'invalid_request_error', 'There was an error parsing the body of your request.');
      if (typeof body.model !== 'string') return error(400, 'invalid_request_error', 'model: Field required');
      if (typeof body.max_tokens !== 'number') return error(400, 'invalid_request_error', 'max_tokens: Field required');
      const messages = Array.isArray(body.messages) ? body.messages.filter(isObject) : undefined;
      if (!messages) return error(400, 'invalid_request_error', 'messages: Field required');
      if (messages.some((m) => m.role === 'system')) {
        return error(400, 'invalid_request_error', 'messages: Unexpected role "system". The Messages API accepts a top-level `system` parameter, not "system" as an input message role.');
      }
      const textOf = (c: unknown): string =>
        typeof c === 'string' ? c : Array.isArray(c) ? c.map((b) => (isObject(b) && typeof b.text === 'string' ? b.text : '')).join('\n') : '';
      return {
        model: body.model,
        system: textOf(body.system),
        user: messages
          .filter((m) => m.role === 'user')
          .map((m) => textOf(m.content))
          .join('\n'),
        maxTokens: body.max_tokens,
      };
    },

    success(_req, prompt, content, usage, rate): FakeReply {
      return {
        status: 200,
        headers: { 'request-id': requestId(), 'anthropic-organization-id': 'fake-org-0000', ...rateHeaders(rate) },
        body: {
          id: messageId(),
          type: 'message',
          role: 'assistant',
          model: prompt.model,
          content: [{ type: 'text', text: content }],
          stop_reason: usage.truncated ? 'max_tokens' : 'end_turn',
          stop_sequence: null,
          usage: {
            input_tokens: usage.inputTokens,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
            output_tokens: usage.outputTokens,
            service_tier: 'standard',
          },
        },
      };
    },

    rateLimited(_req, _prompt, refusal: RateRefusal): FakeReply {
      const seconds = Math.max(1, Math.ceil(refusal.retryAfterMs / 1000));
      const what = refusal.kind === 'requests' ? 'requests' : 'tokens';
      return error(429, 'rate_limit_error', rateLimitMessage(refusal.limit, what, refusal.snapshot.windowMs), {
        ...rateHeaders(refusal.snapshot),
        'retry-after': String(seconds),
      });
    },

    failure(kind: HttpFailureKind, _req, fail: FailOptions, rate): FakeReply {
      const withStatus = (r: FakeReply): FakeReply => (fail.status ? { ...r, status: fail.status } : r);
      switch (kind) {
        case 'rate_limit': {
          const seconds = fail.retryAfterSeconds ?? (fail.retryAfterMs !== undefined ? Math.ceil(fail.retryAfterMs / 1000) : DEFAULT_RETRY_AFTER_S);
          return withStatus(
            error(429, 'rate_limit_error', rateLimitMessage(rate.requests.limit, 'requests', 60_000), {
              ...rateHeaders(rate, 0, seconds * 1000),
              'retry-after': String(seconds),
            }),
          );
        }
        case 'spend_limit':
        case 'insufficient_quota':
        case 'quota_per_day': {
          const d = new Date();
          const next = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)).toISOString().slice(0, 10);
          return withStatus(
            error(400, 'invalid_request_error', `You have reached your specified API usage limits. You will regain access on ${next} at 00:00 UTC.`),
          );
        }
        case 'server_error':
          return withStatus(error(500, 'api_error', 'Internal server error'));
        case 'overloaded':
          return withStatus(error(529, 'overloaded_error', 'Overloaded'));
        case 'bad_key':
          return withStatus(error(401, 'authentication_error', 'invalid x-api-key'));
      }
    },

    malformed(): string {
      return '{"id":"msg_01fake","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"{\\"title\\": \\"Cut';
    },
  });
}
