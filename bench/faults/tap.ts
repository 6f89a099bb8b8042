// An HTTP tap on 127.0.0.1 in front of an imitation server: Herald talks to the tap, the tap forwards to the fake. It
// records every call with the caller's source port (so a call can be tied to the worker process that made it), when it
// started and how it ended, and it injects the network faults a fake cannot: a hung connection (the request is held,
// never forwarded, until the caller gives up) and accept-then-drop (the fake answers 2xx, the post is stored, and the
// tap destroys the caller's socket instead of relaying the answer). Provider errors (5xx, 429) are the fakes' own: the
// tap arms the fake's switch just before forwarding a request, so the body and headers are the provider's real ones,
// and records what status was really served.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type TapOutcome = 'open' | 'answered' | 'dropped_by_tap' | 'dropped_by_fake' | 'abandoned' | 'hung_abandoned';

export interface TapCall {
  id: number;
  tap: string;
  at: number;
  method: string;
  /** Path with the query. */
  path: string;
  /** The request body as text (first 64 KiB). */
  body: string;
  /** The caller's source port on 127.0.0.1. */
  remotePort: number;
  status: number | null;
  /** The start of the answer's body (first 1 KiB), when one was received from the fake. */
  reply: string;
  endAt: number | null;
  outcome: TapOutcome;
  /** A fault the tap injected or armed for this call. */
  injected: 'hang' | 'drop' | '5xx' | '429' | null;
}

/** What to do with one call, decided when it arrives. */
export type TapDecision = { kind: 'forward' } | { kind: 'hang' } | { kind: 'drop' } | { kind: 'arm'; fault: '5xx' | '429' };

export interface TapOptions {
  name: string;
  /** Where a call goes (a base URL), by its path: one tap may front two fakes (OpenAI text and images). */
  target: (path: string) => string;
  /** Arms the fake's own 5xx / 429 switch for its next request. */
  arm?: (fault: '5xx' | '429', path: string) => void;
}

export interface Tap {
  name: string;
  url: string;
  calls: TapCall[];
  /** Every answer waits this long before it is forwarded (0: none). Keeps calls in flight long enough to be hit. */
  latencyMs: number;
  /** Decides each call's fate; by default forward. */
  decide: (call: TapCall) => TapDecision;
  openCalls(): TapCall[];
  close(): Promise<void>;
}

export async function startTap(opts: TapOptions): Promise<Tap> {
  const calls: TapCall[] = [];
  const held = new Set<http.ServerResponse>();
  let seq = 0;
  const agent = new http.Agent({ keepAlive: false });

  const tap: Tap = {
    name: opts.name,
    url: '',
    calls,
    latencyMs: 0,
    decide: () => ({ kind: 'forward' }),
    openCalls: () => calls.filter((c) => c.outcome === 'open'),
    close: async () => {
      for (const res of held) res.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      agent.destroy();
    },
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      chunks.push(c);
      size += c.length;
    });
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const call: TapCall = {
        id: ++seq,
        tap: opts.name,
        at: Date.now(),
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        body: raw.subarray(0, 65_536).toString('utf8'),
        remotePort: req.socket.remotePort ?? 0,
        status: null,
        reply: '',
        endAt: null,
        outcome: 'open',
        injected: null,
      };
      calls.push(call);
      const finish = (outcome: TapOutcome, status: number | null = null) => {
        if (call.outcome !== 'open') return;
        call.outcome = outcome;
        call.status = status;
        call.endAt = Date.now();
      };
      const decision = tap.decide(call);

      if (decision.kind === 'hang') {
        // Never forwarded, never answered: the caller must give up by itself.
        call.injected = 'hang';
        held.add(res);
        res.on('close', () => {
          held.delete(res);
          finish('hung_abandoned');
        });
        return;
      }
      if (decision.kind === 'arm') {
        call.injected = decision.fault;
        opts.arm?.(decision.fault, call.path);
      }
      const drop = decision.kind === 'drop';
      if (drop) call.injected = 'drop';

      const go = () => {
        if (res.destroyed || req.socket.destroyed) return finish('abandoned');
        const base = new URL(opts.target(call.path));
        const headers = { ...req.headers, host: base.host, 'content-length': String(size) };
        delete headers['transfer-encoding'];
        delete headers.connection;
        const up = http.request(
          { host: base.hostname, port: Number(base.port), method: call.method, path: call.path, headers, agent },
          (upRes) => {
            const body: Buffer[] = [];
            upRes.on('data', (c: Buffer) => body.push(c));
            upRes.on('end', () => {
              const status = upRes.statusCode ?? 0;
              call.reply = Buffer.concat(body).subarray(0, 1024).toString('utf8');
              if (drop && status >= 200 && status < 300) {
                // The fake stored it and answered; the caller never hears.
                finish('dropped_by_tap', status);
                req.socket.destroy();
                return;
              }
              if (drop) call.injected = null; // a refused call is not an unknown outcome: let it through
              finish('answered', status);
              if (res.destroyed) return;
              const out = { ...upRes.headers };
              delete out['transfer-encoding'];
              delete out.connection;
              res.writeHead(status, out);
              res.end(Buffer.concat(body));
            });
            upRes.on('error', () => {
              finish('dropped_by_fake');
              req.socket.destroy();
            });
          },
        );
        up.on('error', () => {
          finish('dropped_by_fake');
          req.socket.destroy();
        });
        res.on('close', () => {
          if (call.outcome === 'open') {
            finish('abandoned');
            up.destroy();
          }
        });
        up.end(raw);
      };
      if (tap.latencyMs > 0) setTimeout(go, tap.latencyMs);
      else go();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  tap.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return tap;
}
