// One webhook POST to the address that was checked, and to no other. The host name is resolved once
// (resolveWebhookTarget), the addresses checked, and the socket is opened through a `lookup` that answers only that
// address: a DNS answer that changes between the check and the connection (DNS rebinding) cannot redirect the request.
// TLS still verifies the certificate against the host name (SNI and servername stay the URL's host).
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { storableText } from '../domain/storable-text';
import { hostOf, resolveWebhookTarget, type Resolve } from './address';

/** How much of a receiver's answer is read (and kept for the delivery log): the status is what counts. */
const MAX_ANSWER_BYTES = 4096;

export interface WebhookAnswer {
  status: number;
  /** The first bytes of the answer, for the delivery log (a receiver's NULs and broken UTF-8 cleaned out). */
  excerpt: string;
  /** The address the request went to. */
  address: string;
}

export interface SendOptions {
  allowPrivate: boolean;
  resolve: Resolve;
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * POSTs `body` with `headers`. Resolves with the receiver's status (whatever it is); rejects with a WebhookUrlError
 * when the target is refused, or an Error saying why no answer came (timeout, refused, reset).
 */
export async function sendWebhook(urlText: string, headers: Record<string, string>, body: string, opts: SendOptions): Promise<WebhookAnswer> {
  const target = await resolveWebhookTarget(urlText, { allowPrivate: opts.allowPrivate, resolve: opts.resolve });
  const pinned: LookupFunction = (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  };
  const lib = target.url.protocol === 'https:' ? https : http;
  return new Promise<WebhookAnswer>((resolve, reject) => {
    const req = lib.request(
      target.url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'Herald-Webhooks/1' },
        lookup: pinned,
        servername: hostOf(target.url),
        timeout: opts.timeoutMs,
        signal: opts.signal,
        // A fresh connection per delivery: a kept-alive socket could outlive the address check.
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < MAX_ANSWER_BYTES) chunks.push(c);
          size += c.length;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, excerpt: storableText(Buffer.concat(chunks).toString('utf8').slice(0, 300)), address: target.address }));
        res.on('error', () => resolve({ status: res.statusCode ?? 0, excerpt: '', address: target.address }));
      },
    );
    // One deadline for the whole exchange, not only for idle sockets.
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${opts.timeoutMs / 1000} s`)), opts.timeoutMs);
    req.on('timeout', () => req.destroy(new Error(`no answer within ${opts.timeoutMs / 1000} s`)));
    req.on('error', (err: NodeJS.ErrnoException) => reject(new Error(err.code && !err.message.includes(err.code) ? `${err.code}: ${err.message}` : err.message)));
    req.on('close', () => clearTimeout(timer));
    req.end(body);
  });
}
