// The worker's own HTTP endpoint (WORKER_METRICS_PORT): GET /metrics in the Prometheus text format (Herald's registry,
// then the Temporal SDK's metrics read from Core's exporter on loopback, so one scrape target has both) and GET /health.
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { AggregatorRegistry, type Registry } from 'prom-client';

export interface MetricsServerOptions {
  port: number;
  host: string;
  registry: Registry;
  /** Core's Prometheus exporter (http://127.0.0.1:<port>/metrics), appended to every scrape; unset: Herald's only. */
  temporalMetricsUrl?: string;
  /** Another process's Herald metrics (getMetricsAsJSON), summed with the registry's: the bulk lane's process (WORKER_LANES=split). */
  moreMetrics?: () => Promise<object[] | null>;
  /** The worker's state for /health: 200 while it polls, 503 otherwise. */
  health(): { ok: boolean; details: Record<string, unknown> };
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

const CORE_SCRAPE_TIMEOUT_MS = 2_000;

async function temporalMetrics(url: string): Promise<string> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(CORE_SCRAPE_TIMEOUT_MS) });
    return res.ok ? await res.text() : `# Temporal SDK metrics unavailable: HTTP ${res.status}\n`;
  } catch (err) {
    // Herald's own metrics still matter when Core's exporter does not answer.
    return `# Temporal SDK metrics unavailable: ${(err as Error).name}\n`;
  }
}

/** The registry's text, or with `moreMetrics` both summed (counters and histograms add; gauges too: a sum over the processes). */
async function heraldMetrics(opts: MetricsServerOptions): Promise<string> {
  const more = opts.moreMetrics ? await opts.moreMetrics() : null;
  if (!more?.length) return opts.registry.metrics();
  return AggregatorRegistry.aggregate([await opts.registry.getMetricsAsJSON(), more]).metrics();
}

export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/metrics') {
      void Promise.all([heraldMetrics(opts), opts.temporalMetricsUrl ? temporalMetrics(opts.temporalMetricsUrl) : '']).then(
        ([own, temporal]) => res.writeHead(200, { 'content-type': opts.registry.contentType }).end(`${own}\n${temporal}`),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err.message}\n`),
      );
    } else if (path === '/health') {
      const { ok, details } = opts.health();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: ok ? 'ok' : 'unavailable', ...details }));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: /metrics and /health only\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A port free on 127.0.0.1 right now (for Core's exporter, which takes an address and reports no port of its own). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createTcpServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
