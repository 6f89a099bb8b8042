// Herald against a Temporal that takes only mutual TLS: a TLS front (a CA of the test's own, a server certificate for
// "localhost", client certificates required) before the run's Temporal. The API and a worker run as processes of their
// own configured with TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY, TEMPORAL_TLS_CA and TEMPORAL_TLS_SERVER_NAME, and a pipeline
// is published through it; every connection the front accepted presented the client certificate. A worker without a
// client certificate is refused and exits.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { startApiProcess, until, type ApiProc } from '../helpers/api-process';
import { temporalAddress, testDatabaseUrl } from '../helpers/env';
import { dryRunRequest, TEST_ENCRYPTION_KEY } from '../helpers/harness';
import { spawnWorkerProcess, stopWorkerProcesses, waitReady, type WorkerProc } from '../helpers/worker-process';

jest.setTimeout(300_000);

const dir = mkdtempSync(path.join(tmpdir(), 'herald-mtls-'));
const suffix = randomBytes(4).toString('hex');
const tenant = `mtls_${suffix}`;
const apiKey = `key-mtls-${suffix}`;
const file = (name: string) => path.join(dir, name);

/** A CA, a server certificate for localhost and a client certificate, with the openssl command line. */
function makeCertificates(): void {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=herald-test-ca');
  for (const [name, cn, ext] of [
    ['server', 'localhost', 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n'],
    ['client', 'herald-client', 'extendedKeyUsage=clientAuth\n'],
  ]) {
    writeFileSync(file(`${name}.ext`), ext);
    openssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
  }
}

interface TlsFront {
  address: string;
  /** Common names of the client certificates of the connections it accepted, one entry a connection. */
  accepted: string[];
  /** Handshakes it refused (no client certificate, or one the CA did not sign). */
  refused: number;
  close(): Promise<void>;
}

/** Terminates mutual TLS (HTTP/2 by ALPN, as gRPC needs) and passes the bytes on to the run's Temporal. */
async function startTlsFront(): Promise<TlsFront> {
  const [host, port] = temporalAddress().split(':');
  const sockets = new Set<net.Socket>();
  const front: TlsFront = { address: '', accepted: [], refused: 0, close: async () => undefined };
  const server = tls.createServer(
    { key: readFileSync(file('server.key')), cert: readFileSync(file('server.pem')), ca: readFileSync(file('ca.pem')), requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'] },
    (client) => {
      front.accepted.push(String(client.getPeerCertificate().subject?.CN));
      const upstream = net.connect(Number(port), host);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    },
  );
  server.on('tlsClientError', () => (front.refused += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  front.address = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  front.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return front;
}

let front: TlsFront;
let api: ApiProc | undefined;
const workers: WorkerProc[] = [];

function env(tlsEnv: Record<string, string>): Record<string, string> {
  const e: Record<string, string> = {
    ...(process.env as Record<string, string>),
    DATABASE_URL: testDatabaseUrl(),
    TEMPORAL_ADDRESS: front.address,
    TEMPORAL_TASK_QUEUE: `herald-mtls-${suffix}`,
    TOKEN_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY.toString('base64'),
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
    TEXT_PROVIDERS: 'offline',
    IMAGE_SOURCES: 'card',
    ...tlsEnv,
  };
  delete e.REDIS_URL;
  return e;
}

const mtls = () => ({ TEMPORAL_TLS_CERT: file('client.pem'), TEMPORAL_TLS_KEY: file('client.key'), TEMPORAL_TLS_CA: file('ca.pem'), TEMPORAL_TLS_SERVER_NAME: 'localhost' });

beforeAll(async () => {
  makeCertificates();
  front = await startTlsFront();
});

afterAll(async () => {
  await stopWorkerProcesses(workers, dir);
  await api?.stop();
  await front?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('API and worker processes reach Temporal only through mutual TLS, and a pipeline publishes', async () => {
  const worker = spawnWorkerProcess(1, env(mtls()));
  workers.push(worker);
  api = await startApiProcess({ ...env(mtls()), API_KEYS: `${tenant}:${apiKey}` }, apiKey);
  await waitReady([worker], 240_000);

  const ready = await until('the API to see Temporal and the worker', 60_000, async () => {
    const res = await fetch(`${api!.url}/ready`);
    return res.status === 200 ? ((await res.json()) as { status: string }) : undefined;
  });
  expect(ready.status).toBe('ready');

  const created = await api.call('POST', '/v1/pipelines', dryRunRequest());
  expect(created.status).toBe(202);
  const done = await until('the pipeline to finish', 120_000, async () => {
    const s = (await api!.call('GET', `/v1/pipelines/${created.body.id}`)).body;
    return ['published', 'failed', 'partially_published'].includes(s.status) ? s : undefined;
  }, 500);
  expect(done.status).toBe('published');

  // The worker's connection, its client's (the token-refresh Schedule) and the API's: each with the client certificate.
  expect(front.accepted.length).toBeGreaterThanOrEqual(3);
  expect(new Set(front.accepted)).toEqual(new Set(['herald-client']));
  expect(front.refused).toBe(0);
});

test('a worker with the CA but no client certificate is refused by the server and exits with an error', async () => {
  const refusedBefore = front.refused;
  const worker = spawnWorkerProcess(2, env({ TEMPORAL_TLS_CA: file('ca.pem'), TEMPORAL_TLS_SERVER_NAME: 'localhost' }));
  workers.push(worker);
  await until('the worker without a certificate to exit', 120_000, () => (worker.child.exitCode !== null ? true : undefined), 200);
  expect(worker.child.exitCode).not.toBe(0);
  expect(worker.readyAt).toBeNull();
  expect(front.refused).toBeGreaterThan(refusedBefore);
});
