// A TCP proxy on 127.0.0.1 in front of a server (PostgreSQL here) that can make it unavailable the way a real outage
// does: refuse() stops listening (new connections get ECONNREFUSED) and terminate() destroys every open connection
// (clients see the socket reset mid-session); restore() listens again on the same port. It counts what it did, so the
// bench can prove the outage landed: connections terminated while open, connection attempts refused.
import net from 'node:net';

export interface TcpProxy {
  port: number;
  /** Connections currently open through the proxy. */
  readonly open: number;
  /** Counters since start. */
  stats: { accepted: number; terminated: number };
  /** Stops accepting: new connections are refused (ECONNREFUSED). */
  refuse(): void;
  /** Destroys every open connection (both sides reset). Returns how many were open. */
  terminate(): number;
  /** Accepts again on the same port. */
  restore(): Promise<void>;
  close(): void;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  const stats = { accepted: 0, terminated: 0 };
  let refusing = false;

  const onConnection = (client: net.Socket) => {
    stats.accepted++;
    const upstream = net.connect(target.port, target.host);
    const pair = { client, upstream };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  };

  let server = net.createServer(onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = net.createServer(onConnection);
      const tryListen = (left: number) => {
        server.once('error', (err: NodeJS.ErrnoException) => {
          if (err.code === 'EADDRINUSE' && left > 0) setTimeout(() => tryListen(left - 1), 100);
          else reject(err);
        });
        server.listen(port, '127.0.0.1', () => resolve());
      };
      tryListen(50);
    });

  const terminate = (): number => {
    const n = pairs.size;
    for (const p of [...pairs]) {
      stats.terminated++;
      p.client.resetAndDestroy();
      p.upstream.destroy();
      pairs.delete(p);
    }
    return n;
  };

  return {
    port,
    get open() {
      return pairs.size;
    },
    stats,
    refuse() {
      if (refusing) return;
      refusing = true;
      // close() stops listening at once; its callback would wait for the open connections (terminate() ends those).
      server.close();
    },
    terminate,
    async restore() {
      if (!refusing) return;
      await listen();
      refusing = false;
    },
    close() {
      terminate();
      if (!refusing) server.close();
      refusing = true;
    },
  };
}
