// A TCP proxy on 127.0.0.1 in front of a real service (PostgreSQL, Temporal, ...), so a test or a bench can make that
// service unreachable for one client without touching the service itself (the shared PostgreSQL and Redis stay up).
//
//   const proxy = await startTcpProxy({ host: '127.0.0.1', port: 5432 });
//   // point the client at `127.0.0.1:${proxy.port}`
//   await proxy.refuse();     // new connections are refused (ECONNREFUSED); open ones keep working
//   proxy.terminate();        // every open connection is cut now (both sides see the socket close); returns how many
//   proxy.hold();             // open and new connections stay up but nothing is forwarded: the service seems hung
//   await proxy.restore();    // listen again on the same port and forward normally (held bytes are delivered)
//   proxy.stats               // counters that prove a fault landed
//   await proxy.close();
//
// Faults combine: a stopped server is `refuse()` then `terminate()`; a query cut mid-flight is `hold()`, wait until
// `stats.heldBytes` grows, then `terminate()`.
import net from 'node:net';

export interface TcpProxyStats {
  /** Connections accepted since start. */
  accepted: number;
  /** Connections open now. */
  open: number;
  /** Connections cut by terminate(). */
  terminated: number;
  /** Bytes received from clients while held. */
  heldBytes: number;
  /** Connections with client bytes waiting to be forwarded now (a query sent into a held connection). */
  heldConnections: number;
  /** Bytes forwarded client -> target and target -> client. */
  bytesUp: number;
  bytesDown: number;
}

export interface TcpProxy {
  /** The proxy's own port on 127.0.0.1 (the same across refuse/restore). */
  readonly port: number;
  /** `127.0.0.1:<port>`. */
  readonly address: string;
  /** A snapshot of the counters. */
  readonly stats: TcpProxyStats;
  /** Stops listening: new connections are refused by the kernel. Open connections are left alone. */
  refuse(): Promise<void>;
  /** Cuts every open connection at once (client and target sockets destroyed). Returns how many were cut. */
  terminate(): number;
  /** Stops forwarding in both directions without closing anything; new connections are accepted and held too. */
  hold(): void;
  /** Listens again if refused, stops holding and delivers what was held. */
  restore(): Promise<void>;
  /** Stops listening and cuts every connection. */
  close(): Promise<void>;
}

interface Pair {
  client: net.Socket;
  target: net.Socket;
  up: Buffer[];
  down: Buffer[];
  targetConnected: boolean;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  const stats = { accepted: 0, terminated: 0, heldBytes: 0, bytesUp: 0, bytesDown: 0 };
  let held = false;
  let server: net.Server | null = null;
  let port = 0;

  const drop = (p: Pair) => {
    if (!pairs.delete(p)) return;
    p.client.destroy();
    p.target.destroy();
  };

  const endClient = (p: Pair) => {
    p.client.end();
    p.client.once('finish', () => p.client.destroy());
  };

  const flushUp = (p: Pair) => {
    stats.bytesUp += p.up.reduce((n, b) => n + b.length, 0);
    for (const b of p.up.splice(0)) p.target.write(b);
  };

  const onConnection = (client: net.Socket) => {
    stats.accepted++;
    const targetSocket = net.connect(target.port, target.host);
    const p: Pair = { client, target: targetSocket, up: [], down: [], targetConnected: false };
    pairs.add(p);
    client.setNoDelay(true);
    targetSocket.setNoDelay(true);
    targetSocket.once('connect', () => {
      p.targetConnected = true;
      if (!held) flushUp(p);
    });
    client.on('data', (d: Buffer) => {
      if (held || !p.targetConnected) {
        if (held) stats.heldBytes += d.length;
        p.up.push(d);
        return;
      }
      stats.bytesUp += d.length;
      p.target.write(d);
    });
    targetSocket.on('data', (d: Buffer) => {
      if (held) {
        p.down.push(d);
        return;
      }
      stats.bytesDown += d.length;
      client.write(d);
    });
    // A side that goes away takes the pair with it, as with a real server. The target's last bytes (a FATAL error
    // message, say) reach the client first: end() flushes, destroy() would not.
    const targetGone = () => {
      if (held) return; // a held connection stays up until restore() or terminate()
      if (!pairs.delete(p)) return;
      endClient(p);
    };
    client.on('end', () => drop(p));
    client.on('close', () => drop(p));
    client.on('error', () => drop(p));
    targetSocket.on('end', targetGone);
    targetSocket.on('close', targetGone);
    targetSocket.on('error', targetGone);
  };

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const srv = net.createServer(onConnection);
      srv.once('error', reject);
      srv.listen(port, '127.0.0.1', () => {
        srv.off('error', reject);
        port = (srv.address() as net.AddressInfo).port;
        server = srv;
        resolve();
      });
    });

  // close() stops accepting at once; its callback would wait for every open connection, so do not wait for it.
  const stopListening = async () => {
    server?.close();
    server = null;
  };

  await listen();

  return {
    get port() {
      return port;
    },
    get address() {
      return `127.0.0.1:${port}`;
    },
    get stats(): TcpProxyStats {
      let heldConnections = 0;
      for (const p of pairs) if (held && p.up.length) heldConnections++;
      return { ...stats, open: pairs.size, heldConnections };
    },
    refuse: stopListening,
    terminate() {
      const n = pairs.size;
      for (const p of [...pairs]) drop(p);
      stats.terminated += n;
      return n;
    },
    hold() {
      held = true;
    },
    async restore() {
      held = false;
      for (const p of [...pairs]) {
        stats.bytesDown += p.down.reduce((n, b) => n + b.length, 0);
        for (const b of p.down.splice(0)) p.client.write(b);
        if (p.target.destroyed || p.target.readableEnded) {
          // The target went away while held: the client gets what it sent, then the end.
          p.up.length = 0;
          pairs.delete(p);
          endClient(p);
          continue;
        }
        if (p.targetConnected) {
          stats.bytesUp += p.up.reduce((n, b) => n + b.length, 0);
          for (const b of p.up.splice(0)) p.target.write(b);
        }
      }
      if (!server) await listen();
    },
    async close() {
      await stopListening();
      for (const p of [...pairs]) drop(p);
    },
  };
}
