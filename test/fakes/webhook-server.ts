// An imitation of incoming-webhook receivers, by path prefix:
//   /slack...   Slack: 200 "ok"; 400 "invalid_payload" / "no_text" for bad bodies
//   /discord... Discord: 204; 400 {message, code} for empty or over-long content; 429 with retry_after when told
//   /hook...    a generic webhook: 200 {"id": "..."}
// `received` holds every request it accepted (answered 2xx); `rejected` holds those it refused (failNext, bad body).
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  /** When the request arrived (epoch ms). */
  at: number;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

interface Failure {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  remaining: number;
}

export interface FakeWebhookServer {
  /** Base URL such as http://127.0.0.1:40123 (append /slack/..., /discord/..., /hook/...). */
  url: string;
  received: RecordedRequest[];
  rejected: (RecordedRequest & { status: number })[];
  /**
   * The next `times` requests (default 1) get this answer instead. Status 0 drops the connection without an answer.
   * A 429 on /discord without a body gets Discord's rate-limit body and headers.
   */
  failNext(status: number, body?: unknown, headers?: Record<string, string>, times?: number): void;
  /** The next `times` requests (default 1) get no answer at all (for timeout tests, or to hold a call in flight). */
  hangNext(times?: number): void;
  close(): Promise<void>;
}

const DISCORD_RATE_LIMIT_BODY = { message: 'You are being rate limited.', retry_after: 1.5, global: false };

const SLACK_ERROR_BODIES: Record<number, string> = {
  400: 'invalid_payload',
  403: 'action_prohibited',
  404: 'no_service',
  410: 'channel_is_archived',
  429: 'rate_limited',
  500: 'rollup_error',
};

const DISCORD_ERROR_BODIES: Record<number, unknown> = {
  400: { message: 'Cannot send an empty message', code: 50006 },
  401: { message: '401: Unauthorized', code: 0 },
  403: { message: 'Missing Permissions', code: 50013 },
  404: { message: 'Unknown Webhook', code: 10015 },
  429: DISCORD_RATE_LIMIT_BODY,
  500: { message: '500: Internal Server Error', code: 0 },
};

type Flavour = 'slack' | 'discord' | 'hook';

function flavourOf(path: string): Flavour | undefined {
  if (path.startsWith('/slack')) return 'slack';
  if (path.startsWith('/discord')) return 'discord';
  if (path.startsWith('/hook')) return 'hook';
  return undefined;
}

export async function startFakeWebhookServer(): Promise<FakeWebhookServer> {
  const received: RecordedRequest[] = [];
  const rejected: (RecordedRequest & { status: number })[] = [];
  const failures: Failure[] = [];
  let hang = 0;
  let nextId = 1;

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    if (body === undefined || body === null || status === 204) {
      res.writeHead(status, headers);
      res.end();
      return;
    }
    const isText = typeof body === 'string';
    res.writeHead(status, {
      'Content-Type': isText ? 'text/plain; charset=utf-8' : 'application/json',
      ...headers,
    });
    res.end(isText ? body : JSON.stringify(body));
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown = raw;
      if (/application\/json/i.test(req.headers['content-type'] ?? '')) {
        try {
          body = JSON.parse(raw);
        } catch {
          body = raw;
        }
      }
      const record: RecordedRequest = { at: Date.now(), path, headers: req.headers, body };
      const flavour = flavourOf(path);
      const reject = (status: number, out: unknown, headers?: Record<string, string>): void => {
        rejected.push({ ...record, status });
        send(res, status, out, headers);
      };

      if (hang > 0) {
        hang -= 1;
        rejected.push({ ...record, status: 0 });
        return; // never answers; close() ends the socket
      }
      const failure = failures[0];
      if (failure) {
        failure.remaining -= 1;
        if (failure.remaining <= 0) failures.shift();
        if (failure.status === 0) {
          rejected.push({ ...record, status: 0 });
          req.socket.destroy();
          return;
        }
        let out = failure.body;
        let headers = failure.headers ?? {};
        if (out === undefined && flavour === 'slack') out = SLACK_ERROR_BODIES[failure.status] ?? 'error';
        if (out === undefined && flavour === 'discord') out = DISCORD_ERROR_BODIES[failure.status] ?? { message: 'error', code: 0 };
        if (failure.status === 429 && flavour === 'discord' && failure.headers === undefined) {
          const retryAfter = (out as { retry_after?: number } | undefined)?.retry_after ?? 1.5;
          headers = {
            'Retry-After': String(Math.ceil(retryAfter)),
            'X-RateLimit-Limit': '5',
            'X-RateLimit-Remaining': '0',
            'X-RateLimit-Reset-After': String(retryAfter),
            'X-RateLimit-Scope': 'shared',
          };
        }
        if (failure.status === 429 && flavour === 'slack' && failure.headers === undefined) headers = { 'Retry-After': '30' };
        reject(failure.status, out, headers);
        return;
      }

      if (req.method !== 'POST') return reject(405, { message: '405: Method Not Allowed', code: 0 });
      if (flavour === undefined) return reject(404, 'not found');
      const json = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : undefined;

      if (flavour === 'slack') {
        if (!json) return reject(400, 'invalid_payload');
        if (typeof json.text !== 'string' || json.text === '') {
          if (!Array.isArray(json.blocks)) return reject(400, 'no_text');
        }
        received.push(record);
        return send(res, 200, 'ok', { 'Content-Type': 'text/html' });
      }
      if (flavour === 'discord') {
        if (!json) return reject(400, { message: 'Cannot send an empty message', code: 50006 });
        const content = typeof json.content === 'string' ? json.content : '';
        if (content === '' && !Array.isArray(json.embeds)) {
          return reject(400, { message: 'Cannot send an empty message', code: 50006 });
        }
        if ([...content].length > 2000) {
          return reject(400, {
            message: 'Invalid Form Body',
            code: 50035,
            errors: { content: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 2000 or fewer in length.' }] } },
          });
        }
        received.push(record);
        return send(res, 204, undefined, {
          'X-RateLimit-Limit': '5',
          'X-RateLimit-Remaining': '4',
          'X-RateLimit-Reset-After': '2',
        });
      }
      received.push(record);
      return send(res, 200, { id: `hook-msg-${nextId++}` });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    received,
    rejected,
    failNext(status, body, headers, times = 1) {
      failures.push({ status, body, headers, remaining: Math.max(1, times) });
    },
    hangNext(times = 1) {
      hang += Math.max(1, times);
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
