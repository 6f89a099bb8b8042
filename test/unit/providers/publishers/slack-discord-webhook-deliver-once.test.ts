import type { Platform } from '../../../../src/domain/types';
import { PermanentError, ProviderError, RateLimitedError, TransientError } from '../../../../src/providers/errors';
import { createDiscordPublisher } from '../../../../src/providers/publishers/discord';
import { createPublishers } from '../../../../src/providers/publishers/index';
import { createSlackPublisher } from '../../../../src/providers/publishers/slack';
import type { PublishInput } from '../../../../src/providers/publishers/types';
import { startFakeWebhookServer, type FakeWebhookServer } from '../../../fakes/webhook-server';

let server: FakeWebhookServer;
const publishers = createPublishers();

const SECRET_PATH: Record<'slack' | 'discord' | 'webhook', string> = {
  slack: '/slack/services/T000/B000/SECRETslack123',
  discord: '/discord/api/webhooks/42/SECRETdiscord456',
  webhook: '/hook/in/SECRETwebhook789',
};

function input(platform: 'slack' | 'discord' | 'webhook', over: Partial<PublishInput> = {}): PublishInput {
  return {
    platform,
    format: 'post',
    parts: ['Durable workflows beat cron jobs. 🚀'],
    title: 'Why durable workflows',
    images: [{ id: 'img1', url: 'https://herald.example/v1/media/img1', alt: 'A diagram', contentType: 'image/png' }],
    idempotencyKey: `pub-${platform}-1`,
    credentials: { url: `${server.url}${SECRET_PATH[platform]}` },
    ...over,
  };
}

async function failure(platform: 'slack' | 'discord' | 'webhook', over: Partial<PublishInput> = {}): Promise<ProviderError> {
  const err = await publishers[platform as Platform].publish(input(platform, over)).then(
    () => {
      throw new Error('expected publish to fail');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  const e = err as ProviderError;
  // The URL is the credential: it must not leak through the message.
  expect(e.message).not.toContain(server.url);
  expect(e.message).not.toContain('SECRET');
  expect(e.message).not.toContain('127.0.0.1');
  expect(JSON.stringify({ ...e, message: e.message, stack: e.stack })).not.toContain('SECRET');
  return e;
}

beforeEach(async () => {
  server = await startFakeWebhookServer();
});
afterEach(async () => {
  await server.close();
});

describe('delivery', () => {
  it('Slack: posts {text} once and returns the idempotency key', async () => {
    const result = await publishers.slack.publish(input('slack'));
    expect(result).toEqual({ externalId: 'pub-slack-1', url: null });
    expect(server.received).toHaveLength(1);
    expect(server.received[0].path).toBe(SECRET_PATH.slack);
    expect(server.received[0].headers['content-type']).toBe('application/json');
    expect(server.received[0].body).toEqual({ text: 'Durable workflows beat cron jobs. 🚀' });
  });

  it('Discord: posts {content} once and returns the idempotency key', async () => {
    const result = await publishers.discord.publish(input('discord', { parts: ['one', 'two'] }));
    expect(result).toEqual({ externalId: 'pub-discord-1', url: null });
    expect(server.received).toHaveLength(1);
    expect(server.received[0].body).toEqual({ content: 'one\n\ntwo', allowed_mentions: { parse: [] } });
  });

  it('webhook: posts the whole piece once with Idempotency-Key and returns the id it answers', async () => {
    const result = await publishers.webhook.publish(input('webhook', { parts: ['one', 'two'], format: 'thread' }));
    expect(result).toEqual({ externalId: 'hook-msg-1', url: null });
    expect(server.received).toHaveLength(1);
    const [req] = server.received;
    expect(req.headers['idempotency-key']).toBe('pub-webhook-1');
    expect(req.body).toEqual({
      idempotencyKey: 'pub-webhook-1',
      platform: 'webhook',
      title: 'Why durable workflows',
      parts: ['one', 'two'],
      text: 'one\n\ntwo',
      images: [{ id: 'img1', url: 'https://herald.example/v1/media/img1', alt: 'A diagram', contentType: 'image/png' }],
    });
  });

  it('webhook: falls back to the idempotency key when the answer has no id', async () => {
    server.failNext(202, 'accepted');
    const result = await publishers.webhook.publish(input('webhook'));
    expect(result).toEqual({ externalId: 'pub-webhook-1', url: null });
  });

  it('what publish sends is what preview shows (apart from the redacted URL)', async () => {
    for (const platform of ['slack', 'discord', 'webhook'] as const) {
      const preview = publishers[platform].preview(input(platform));
      await publishers[platform].publish(input(platform));
      const sent = server.received.filter((r) => r.path === SECRET_PATH[platform]);
      expect(sent.map((r) => r.body)).toEqual(preview.map((p) => p.body));
      expect(preview[0].url).toBe(`${server.url}/[redacted]`);
    }
  });
});

describe('failures', () => {
  it('Discord 429 becomes RateLimitedError with retry_after from the body', async () => {
    server.failNext(429);
    const err = await failure('discord');
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfterMs).toBe(1500);
    expect(err.status).toBe(429);
    expect(err.message).toContain('discord webhook');
    expect(server.received).toHaveLength(0);
  });

  it('a 429 without a body uses Retry-After', async () => {
    server.failNext(429, 'rate_limited', { 'Retry-After': '7' });
    const err = await failure('slack');
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfterMs).toBe(7000);
  });

  it.each(['slack', 'discord', 'webhook'] as const)('%s: 500 becomes TransientError', async (platform) => {
    server.failNext(500);
    const err = await failure(platform);
    expect(err).toBeInstanceOf(TransientError);
    expect(err.status).toBe(500);
  });

  it.each(['slack', 'discord', 'webhook'] as const)('%s: 404 becomes PermanentError', async (platform) => {
    server.failNext(404);
    const err = await failure(platform);
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.status).toBe(404);
  });

  it('names the destination and the platform reason without the URL', async () => {
    server.failNext(404);
    const slack = await failure('slack');
    expect(slack.message).toBe('slack: slack webhook answered HTTP 404: no_service');
    server.failNext(404);
    const discord = await failure('discord');
    expect(discord.message).toBe('discord: discord webhook answered HTTP 404: Unknown Webhook (code 10015)');
  });

  it('scrubs the URL when an error body echoes it', async () => {
    server.failNext(400, `bad request to ${server.url}${SECRET_PATH.webhook}`);
    const err = await failure('webhook');
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toContain('[redacted]');
  });

  it('a dropped connection becomes TransientError', async () => {
    server.failNext(0);
    const err = await failure('webhook');
    expect(err).toBeInstanceOf(TransientError);
  });

  it('an unreachable host becomes TransientError', async () => {
    const url = `${server.url}${SECRET_PATH.slack}`;
    await server.close();
    const err = await publishers.slack.publish(input('slack', { credentials: { url } })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as Error).message).not.toContain('SECRET');
    expect((err as Error).message).not.toContain(url);
    server = await startFakeWebhookServer(); // for afterEach
  });

  it('a timeout becomes TransientError', async () => {
    server.hangNext();
    const slow = createSlackPublisher({ timeoutMs: 200 });
    const err = await slow.publish(input('slack')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as Error).message).toBe('slack: slack webhook: no answer within 200 ms (timeout)');
  });

  it.each([
    ['missing', undefined],
    ['empty', { url: '' }],
    ['not a URL', { url: 'hooks.slack.com/services/SECRETslack123' }],
    ['not http', { url: 'ftp://example.com/SECRETslack123' }],
  ])('%s URL becomes PermanentError with a clear message', async (_name, credentials) => {
    const err = await createDiscordPublisher().publish(input('discord', { credentials })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toMatch(/discord webhook URL/);
    expect((err as Error).message).not.toContain('SECRET');
    expect(server.received).toHaveLength(0);
  });
});
