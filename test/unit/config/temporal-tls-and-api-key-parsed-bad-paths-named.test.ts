// TEMPORAL_TLS*, TEMPORAL_API_KEY: what each combination gives every Temporal connection, and what stops start-up.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig, temporalConnectionOptions } from '../../../src/config';

const dir = mkdtempSync(path.join(tmpdir(), 'herald-tls-'));
const pem = (name: string, label: string) => {
  const file = path.join(dir, name);
  writeFileSync(file, `-----BEGIN ${label}-----\n${Buffer.from(name).toString('base64')}\n-----END ${label}-----\n`);
  return file;
};
const cert = pem('client.pem', 'CERTIFICATE');
const key = pem('client.key', 'PRIVATE KEY');
const ca = pem('ca.pem', 'CERTIFICATE');
const notPem = path.join(dir, 'notes.txt');
writeFileSync(notPem, 'hello\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function problem(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('Temporal TLS and API key', () => {
  it('none of them: plain gRPC, no API key (the dev server)', () => {
    expect(temporalConnectionOptions(loadConfig({ TEMPORAL_ADDRESS: '10.0.0.5:7233' }))).toEqual({ address: '10.0.0.5:7233', tls: false });
  });

  it('TEMPORAL_TLS=true alone: TLS against the system roots', () => {
    expect(temporalConnectionOptions(loadConfig({ TEMPORAL_TLS: 'true' }))).toEqual({ address: '127.0.0.1:7233', tls: {} });
  });

  it('certificate and key (mTLS) with a CA and a server name: the files are read, PEM as given', () => {
    const opts = temporalConnectionOptions(
      loadConfig({ TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_TLS_CERT: cert, TEMPORAL_TLS_KEY: key, TEMPORAL_TLS_CA: ca, TEMPORAL_TLS_SERVER_NAME: 'temporal.internal' }),
    );
    expect(opts.tls).not.toBe(false);
    const tls = opts.tls as Exclude<typeof opts.tls, false>;
    expect(tls.clientCertPair?.crt.toString()).toContain(Buffer.from('client.pem').toString('base64'));
    expect(tls.clientCertPair?.key.toString()).toContain('BEGIN PRIVATE KEY');
    expect(tls.serverRootCACertificate?.toString()).toContain(Buffer.from('ca.pem').toString('base64'));
    expect(tls.serverNameOverride).toBe('temporal.internal');
    expect(opts.apiKey).toBeUndefined();
  });

  it('an API key turns TLS on (Temporal Cloud takes keys over TLS only) and reaches the connection options', () => {
    const config = loadConfig({ TEMPORAL_ADDRESS: 'us-east-1.aws.api.temporal.io:7233', TEMPORAL_NAMESPACE: 'herald.a1b2c', TEMPORAL_API_KEY: 'secret-key' });
    expect(temporalConnectionOptions(config)).toEqual({ address: 'us-east-1.aws.api.temporal.io:7233', tls: {}, apiKey: 'secret-key' });
    expect(config.temporal.namespace).toBe('herald.a1b2c');
  });

  it('TEMPORAL_TLS=false keeps an API key on plain gRPC (a proxy that terminates TLS)', () => {
    expect(temporalConnectionOptions(loadConfig({ TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'k' }))).toEqual({ address: '127.0.0.1:7233', tls: false, apiKey: 'k' });
  });

  it.each([
    [{ TEMPORAL_TLS: 'yes' }, /TEMPORAL_TLS must be true or false/],
    [{ TEMPORAL_TLS_CERT: path.join(dir, 'missing.pem'), TEMPORAL_TLS_KEY: key }, new RegExp(`TEMPORAL_TLS_CERT: cannot read ${path.join(dir, 'missing.pem').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(ENOENT\\)`)],
    [{ TEMPORAL_TLS_CERT: cert, TEMPORAL_TLS_KEY: dir }, /TEMPORAL_TLS_KEY: cannot read .*herald-tls-.* \(EISDIR\)/],
    [{ TEMPORAL_TLS_CA: notPem }, /TEMPORAL_TLS_CA: .*notes\.txt is not a PEM file/],
    [{ TEMPORAL_TLS_CERT: cert }, /TEMPORAL_TLS_KEY: must be set together with TEMPORAL_TLS_CERT/],
    [{ TEMPORAL_TLS_KEY: key }, /TEMPORAL_TLS_CERT: must be set together with TEMPORAL_TLS_KEY/],
    [{ TEMPORAL_TLS: 'false', TEMPORAL_TLS_CA: ca }, /TEMPORAL_TLS: false, yet/],
  ])('a bad TLS setting stops start-up naming the variable and the path: %j', (env, message) => {
    expect(problem(env)).toMatch(message);
  });
});
