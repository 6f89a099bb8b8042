// Webhook signing checked by the Standard Webhooks reference library (an independent verifier), and the address rule:
// only public unicast targets, every resolved address checked, and the connection made to the address that was checked.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { nonPublicRange, resolveWebhookTarget, WebhookUrlError, type Resolve } from '../../../src/webhooks/address';
import { sendWebhook } from '../../../src/webhooks/send';
import { newSigningSecret, webhookHeaders } from '../../../src/webhooks/signing';
import { startWebhookReceiver, type WebhookReceiver } from '../../fakes/webhook-receiver';

describe('signing', () => {
  it('makes whsec_ secrets of 32 random bytes whose signatures the standardwebhooks library accepts', () => {
    const secret = newSigningSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    expect(newSigningSecret()).not.toBe(secret);
    const body = JSON.stringify({ type: 'pipeline.published', timestamp: '2026-12-03T06:00:00.000Z', data: { pipelineId: 'p_1', text: 'naïve ✓ 日本' } });
    const headers = webhookHeaders(secret, 'evt_pipeline:p_1:published', body, new Date());
    expect(headers['webhook-timestamp']).toMatch(/^\d{10}$/);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    const verified = new Webhook(secret).verify(body, headers);
    expect(verified).toEqual(JSON.parse(body));
  });

  it('is refused by the verifier for another secret, a changed body, id or timestamp', () => {
    const secret = newSigningSecret();
    const body = '{"type":"webhook.test","timestamp":"2026-12-03T06:00:00.000Z","data":{}}';
    const headers = webhookHeaders(secret, 'evt_1', body, new Date());
    expect(() => new Webhook(newSigningSecret()).verify(body, headers)).toThrow();
    expect(() => new Webhook(secret).verify(body.replace('test', 'tesT'), headers)).toThrow();
    expect(() => new Webhook(secret).verify(body, { ...headers, 'webhook-id': 'evt_2' })).toThrow();
    expect(() => new Webhook(secret).verify(body, { ...headers, 'webhook-timestamp': String(Number(headers['webhook-timestamp']) - 1) })).toThrow();
  });
});

describe('which addresses are public', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['224.0.0.251', 'multicast'],
    ['0.0.0.0', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['192.0.2.10', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'linkLocal'],
    ['fd12:3456::1', 'uniqueLocal'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'ipv4Mapped'],
    ['::ffff:8.8.8.8', 'ipv4Mapped'],
    ['64:ff9b::a00:1', 'rfc6052'],
  ])('%s is refused as %s', (address, range) => {
    expect(nonPublicRange(address)).toBe(range);
  });

  it.each(['8.8.8.8', '1.1.1.1', '93.184.216.34', '2606:4700:4700::1111', '2a00:1450:4001:80e::200e'])('%s is public', (address) => {
    expect(nonPublicRange(address)).toBeNull();
  });
});

describe('resolveWebhookTarget', () => {
  const noDns: Resolve = async () => {
    throw new Error('no DNS in this test');
  };
  const refused = async (url: string, resolve: Resolve = noDns) => {
    try {
      await resolveWebhookTarget(url, { allowPrivate: false, resolve });
    } catch (err) {
      expect(err).toBeInstanceOf(WebhookUrlError);
      return err as WebhookUrlError;
    }
    throw new Error(`${url} was not refused`);
  };

  it('refuses schemes other than http(s) and URLs with credentials', async () => {
    expect((await refused('ftp://example.com/x')).reason).toBe('scheme');
    expect((await refused('file:///etc/passwd')).reason).toBe('scheme');
    expect((await refused('https://user:pw@example.com/')).reason).toBe('url');
    expect((await refused('not a url')).reason).toBe('url');
  });

  it('refuses literal private addresses in any spelling the URL parser normalises', async () => {
    for (const url of ['http://127.0.0.1:8080/', 'http://127.1/', 'http://0x7f000001/', 'http://[::1]/', 'http://[::ffff:7f00:1]/', 'http://169.254.169.254/latest/meta-data']) {
      const err = await refused(url);
      expect(err.reason).toBe('private_address');
    }
  });

  it('refuses a host when any address it resolves to is private, naming the host and the address', async () => {
    const err = await refused('https://hooks.example.com/in', async () => [
      { address: '93.184.216.34', family: 4 },
      { address: '10.1.2.3', family: 4 },
    ]);
    expect(err.reason).toBe('private_address');
    expect(err.message).toContain('hooks.example.com resolves to 10.1.2.3');
    expect(err.message).toContain('private');
  });

  it('says when a host does not resolve', async () => {
    expect((await refused('https://nowhere.invalid/')).reason).toBe('unresolvable');
  });

  it('accepts public targets and, with allowPrivate, private ones', async () => {
    const pub = await resolveWebhookTarget('https://hooks.example.com/in', { allowPrivate: false, resolve: async () => [{ address: '93.184.216.34', family: 4 }] });
    expect(pub.address).toBe('93.184.216.34');
    const local = await resolveWebhookTarget('http://127.0.0.1:9/', { allowPrivate: true, resolve: noDns });
    expect(local.address).toBe('127.0.0.1');
  });
});

describe('sendWebhook', () => {
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    receiver = await startWebhookReceiver();
  });
  afterAll(() => receiver.close());

  it('connects to the address it checked: the host is resolved once, and a later answer is never used', async () => {
    const answers = [[{ address: '127.0.0.1', family: 4 }], [{ address: '192.0.2.1', family: 4 }]];
    const asked: string[] = [];
    const resolve: Resolve = async (host) => {
      asked.push(host);
      return answers[Math.min(asked.length - 1, 1)];
    };
    const before = receiver.requests.length;
    const answer = await sendWebhook(`http://receiver.example.test:${receiver.port}/pinned`, { 'webhook-id': 'evt_pin' }, '{}', { allowPrivate: true, resolve, timeoutMs: 5_000 });
    expect(answer).toMatchObject({ status: 200, address: '127.0.0.1' });
    expect(asked).toEqual(['receiver.example.test']);
    expect(receiver.requests.slice(before).map((r) => [r.path, r.headers.host])).toEqual([['/pinned', `receiver.example.test:${receiver.port}`]]);
  });

  it('never connects when the host resolves to a private address and private targets are not allowed', async () => {
    const before = receiver.requests.length;
    await expect(
      sendWebhook(`http://rebound.example.test:${receiver.port}/x`, {}, '{}', { allowPrivate: false, resolve: async () => [{ address: '127.0.0.1', family: 4 }], timeoutMs: 5_000 }),
    ).rejects.toMatchObject({ reason: 'private_address' });
    expect(receiver.requests.length).toBe(before);
  });

  it("keeps a storable excerpt of a receiver's answer: its NUL characters are dropped", async () => {
    const server = createServer((_req, res) => res.writeHead(500).end('bad\u0000answer'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const answer = await sendWebhook(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, {}, '{}', { allowPrivate: true, resolve: async () => [], timeoutMs: 5_000 });
      expect(answer).toMatchObject({ status: 500, excerpt: 'badanswer' });
    } finally {
      server.close();
    }
  });

  it('gives up on a receiver that does not answer within the timeout', async () => {
    receiver.hold();
    const started = Date.now();
    await expect(sendWebhook(`${receiver.url}/slow`, {}, '{}', { allowPrivate: true, resolve: async () => [], timeoutMs: 500 })).rejects.toThrow(/no answer within 0.5 s/);
    expect(Date.now() - started).toBeLessThan(3_000);
    receiver.release();
  });
});
