// An imitation webhook receiver on 127.0.0.1 for Herald's outgoing webhooks. It answers with a status chosen by the
// test (500 until a moment, then 200; always 410; holding requests unanswered) and records every request with its
// headers, raw body, and what became of it: answered with a status, or dropped before an answer (the sender went away).
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  at: number;
  path: string;
  headers: IncomingHttpHeaders;
  /** Exactly the bytes received, as text: what a signature is checked against. */
  raw: string;
  /** The status it was answered with; null while held or when the connection closed first. */
  status: number | null;
  /** True when the sender closed the connection before an answer was written. */
  dropped: boolean;
}

export interface WebhookReceiver {
  /** Such as http://127.0.0.1:40123 */
  url: string;
  port: number;
  requests: ReceivedWebhook[];
  /** Every request gets `status` until `untilMs` (epoch ms), then 200. */
  failUntil(untilMs: number, status?: number): void;
  /** Every request gets `status` from now on. */
  answer(status: number): void;
  /** Requests arriving from now on are held without an answer until release() (or until the sender gives up). */
  hold(): void;
  /** Answers held requests with 200 and stops holding. */
  release(): void;
  /** Requests answered 2xx, by webhook-id. */
  acceptedById(): Map<string, number>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  let failStatus = 500;
  let failUntilMs = 0;
  let fixed: number | null = null;
  let holding = false;
  const held: (() => void)[] = [];
  const requests: ReceivedWebhook[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rec: ReceivedWebhook = { at: Date.now(), path: req.url ?? '/', headers: req.headers, raw: Buffer.concat(chunks).toString('utf8'), status: null, dropped: false };
      requests.push(rec);
      const reply = (status: number) => {
        if (res.destroyed) return;
        res.on('finish', () => (rec.status = status));
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: status < 300 }));
      };
      res.on('close', () => {
        if (!res.writableFinished) rec.dropped = true;
      });
      if (holding) {
        held.push(() => reply(200));
        return;
      }
      reply(fixed ?? (Date.now() < failUntilMs ? failStatus : 200));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    failUntil(untilMs, status = 500) {
      failUntilMs = untilMs;
      failStatus = status;
      fixed = null;
    },
    answer(status) {
      fixed = status;
    },
    hold() {
      holding = true;
    },
    release() {
      holding = false;
      for (const r of held.splice(0)) r();
    },
    acceptedById() {
      const out = new Map<string, number>();
      for (const r of requests) {
        if (r.status !== null && r.status >= 200 && r.status < 300) {
          const id = String(r.headers['webhook-id']);
          out.set(id, (out.get(id) ?? 0) + 1);
        }
      }
      return out;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
