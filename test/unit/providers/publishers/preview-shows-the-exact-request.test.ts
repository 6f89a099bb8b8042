import { PLATFORMS, type Platform } from '../../../../src/domain/types';
import { PermanentError } from '../../../../src/providers/errors';
import { blueskyFacets } from '../../../../src/providers/publishers/bluesky';
import { createPublishers, type PublishersConfig } from '../../../../src/providers/publishers/index';
import { escapeLittleText } from '../../../../src/domain/text-count';
import type { PreparedRequest, PublishInput } from '../../../../src/providers/publishers/types';

const FIXED_NOW = new Date('2026-03-01T09:30:00.000Z');
const publishers = createPublishers({ now: () => FIXED_NOW });

const SECRETS = ['SECRET-TOKEN-123', 'SECRET-REFRESH-456', 'SECRET-APP-PASSWORD-789', 'SECRET-HOOK-PATH-abc'];

const CREDENTIALS: Record<Platform, Record<string, unknown>> = {
  x: { accessToken: 'SECRET-TOKEN-123', refreshToken: 'SECRET-REFRESH-456' },
  linkedin: { accessToken: 'SECRET-TOKEN-123', refreshToken: 'SECRET-REFRESH-456' },
  facebook: { accessToken: 'SECRET-TOKEN-123' },
  instagram: { accessToken: 'SECRET-TOKEN-123' },
  threads: { accessToken: 'SECRET-TOKEN-123' },
  mastodon: { accessToken: 'SECRET-TOKEN-123' },
  bluesky: { identifier: 'herald.bsky.social', appPassword: 'SECRET-APP-PASSWORD-789', password: 'SECRET-APP-PASSWORD-789', accessJwt: 'SECRET-TOKEN-123' },
  slack: { url: 'https://hooks.slack.com/services/T000/B000/SECRET-HOOK-PATH-abc' },
  discord: { url: 'https://discord.com/api/webhooks/123/SECRET-HOOK-PATH-abc' },
  webhook: { url: 'https://example.com/in/SECRET-HOOK-PATH-abc?token=SECRET-TOKEN-123' },
};

const SETTINGS: Record<Platform, Record<string, unknown>> = {
  x: {},
  linkedin: { authorUrn: 'urn:li:person:abc123' },
  facebook: { pageId: '1122334455' },
  instagram: { igUserId: '17841400000000000' },
  threads: { userId: '9988776655' },
  mastodon: { instanceUrl: 'https://mastodon.example' },
  bluesky: { did: 'did:plc:herald123' },
  slack: {},
  discord: {},
  webhook: {},
};

const IMAGE = { id: 'img1', url: 'https://herald.example/v1/media/img1', alt: 'A diagram', contentType: 'image/png' };

function input(platform: Platform, over: Partial<PublishInput> = {}): PublishInput {
  return {
    platform,
    format: 'post',
    parts: ['Durable workflows beat cron jobs.'],
    title: 'Why durable workflows',
    images: [],
    idempotencyKey: `pub-${platform}-1`,
    credentials: CREDENTIALS[platform],
    account: { id: `acc-${platform}`, handle: 'herald.bsky.social', settings: SETTINGS[platform] },
    ...over,
  };
}

function body(req: PreparedRequest): Record<string, any> {
  return req.body as Record<string, any>;
}

describe('every platform', () => {
  it.each(PLATFORMS.map((p) => [p]))('%s: preview never contains a secret', (platform) => {
    const reqs = publishers[platform].preview(
      input(platform, {
        parts: ['First part https://example.com/a', 'Second part'],
        format: 'thread',
        images: platform === 'instagram' ? [IMAGE, { ...IMAGE, id: 'img2', url: 'https://herald.example/v1/media/img2' }] : [IMAGE],
      }),
    );
    expect(reqs.length).toBeGreaterThan(0);
    const text = JSON.stringify(reqs);
    for (const secret of SECRETS) expect(text).not.toContain(secret);
    for (const req of reqs) {
      expect(['GET', 'POST', 'PUT']).toContain(req.method);
      if (req.headers.Authorization) expect(req.headers.Authorization).toBe('Bearer [redacted]');
    }
  });

  it.each(PLATFORMS.map((p) => [p]))('%s: preview works without an account or credentials (dry run)', (platform) => {
    const reqs = publishers[platform].preview(
      input(platform, { credentials: undefined, account: undefined, images: platform === 'instagram' ? [IMAGE] : [] }),
    );
    expect(reqs.length).toBeGreaterThan(0);
    expect(JSON.stringify(reqs)).not.toContain('undefined');
  });

  it('createPublishers has one publisher per platform, each naming itself', () => {
    expect(Object.keys(publishers).sort()).toEqual([...PLATFORMS].sort());
    for (const p of PLATFORMS) expect(publishers[p].platform).toBe(p);
  });

  it('base URLs and versions are configurable', () => {
    const config: PublishersConfig = {
      xApiBaseUrl: 'http://127.0.0.1:9001/',
      linkedinApiBaseUrl: 'http://127.0.0.1:9002',
      linkedinVersion: '202601',
      metaGraphBaseUrl: 'http://127.0.0.1:9003/v22.0',
      threadsApiBaseUrl: 'http://127.0.0.1:9004/v1.0',
      blueskyServiceUrl: 'http://127.0.0.1:9005',
    };
    const custom = createPublishers(config);
    expect(custom.x.preview(input('x'))[0].url).toBe('http://127.0.0.1:9001/2/tweets');
    const li = custom.linkedin.preview(input('linkedin'))[0];
    expect(li.url).toBe('http://127.0.0.1:9002/rest/posts');
    expect(li.headers['LinkedIn-Version']).toBe('202601');
    expect(custom.facebook.preview(input('facebook'))[0].url).toBe('http://127.0.0.1:9003/v22.0/1122334455/feed');
    expect(custom.instagram.preview(input('instagram', { images: [IMAGE] }))[0].url).toBe(
      'http://127.0.0.1:9003/v22.0/17841400000000000/media',
    );
    expect(custom.threads.preview(input('threads'))[0].url).toBe('http://127.0.0.1:9004/v1.0/9988776655/threads');
    expect(custom.bluesky.preview(input('bluesky'))[0].url).toBe('http://127.0.0.1:9005/xrpc/com.atproto.server.createSession');
  });
});

describe('X', () => {
  it('posts each thread part to /2/tweets, each replying to the previous one', () => {
    const reqs = publishers.x.preview(input('x', { format: 'thread', parts: ['one', 'two', 'three'] }));
    expect(reqs).toHaveLength(3);
    for (const r of reqs) {
      expect(r.method).toBe('POST');
      expect(r.url).toBe('https://api.x.com/2/tweets');
      expect(r.headers).toEqual({ Authorization: 'Bearer [redacted]', 'Content-Type': 'application/json' });
    }
    expect(reqs[0].body).toEqual({ text: 'one' });
    expect(reqs[1].body).toEqual({ text: 'two', reply: { in_reply_to_tweet_id: '{{post_1.id}}' } });
    expect(reqs[2].body).toEqual({ text: 'three', reply: { in_reply_to_tweet_id: '{{post_2.id}}' } });
  });

  it('uploads images first (at most 4) and attaches them to the first post', () => {
    const images = [1, 2, 3, 4, 5].map((n) => ({ ...IMAGE, id: `i${n}`, url: `https://herald.example/v1/media/i${n}`, alt: '' }));
    const reqs = publishers.x.preview(input('x', { images, parts: ['a', 'b'] }));
    const uploads = reqs.filter((r) => r.url === 'https://api.x.com/2/media/upload');
    expect(uploads).toHaveLength(4);
    expect(body(uploads[0])).toMatchObject({ media_category: 'tweet_image', media_type: 'image/png' });
    const tweets = reqs.filter((r) => r.url.endsWith('/2/tweets'));
    expect(reqs.indexOf(tweets[0])).toBeGreaterThan(reqs.indexOf(uploads[3]));
    expect(body(tweets[0]).media).toEqual({ media_ids: ['{{media_1.id}}', '{{media_2.id}}', '{{media_3.id}}', '{{media_4.id}}'] });
    expect(body(tweets[1]).media).toBeUndefined();
  });

  it('sets alt text on uploaded media', () => {
    const reqs = publishers.x.preview(input('x', { images: [IMAGE] }));
    expect(reqs.map((r) => r.url)).toEqual([
      'https://api.x.com/2/media/upload',
      'https://api.x.com/2/media/metadata',
      'https://api.x.com/2/tweets',
    ]);
    expect(reqs[1].body).toEqual({ id: '{{media_1.id}}', metadata: { alt_text: { text: 'A diagram' } } });
  });
});

describe('LinkedIn', () => {
  it('escapes every little-text character', () => {
    expect(escapeLittleText('a\\b|c{d}e@f[g]h(i)j<k>l#m*n_o~p')).toBe(
      'a\\\\b\\|c\\{d\\}e\\@f\\[g\\]h\\(i\\)j\\<k\\>l\\#m\\*n\\_o\\~p',
    );
    expect(escapeLittleText('plain text, with punctuation! ok?')).toBe('plain text, with punctuation! ok?');
  });

  it('posts to /rest/posts with the versioned headers and the exact body', () => {
    const reqs = publishers.linkedin.preview(input('linkedin', { parts: ['Ship it (today) #durable @team'] }));
    expect(reqs).toHaveLength(1);
    const [r] = reqs;
    expect(r.method).toBe('POST');
    expect(r.url).toBe('https://api.linkedin.com/rest/posts');
    expect(r.headers).toEqual({
      Authorization: 'Bearer [redacted]',
      'LinkedIn-Version': '202511',
      'X-Restli-Protocol-Version': '2.0.0',
      'Content-Type': 'application/json',
    });
    expect(r.body).toMatchObject({
      author: 'urn:li:person:abc123',
      commentary: 'Ship it \\(today\\) \\#durable \\@team',
      visibility: 'PUBLIC',
      distribution: { feedDistribution: 'MAIN_FEED' },
      lifecycleState: 'PUBLISHED',
    });
  });

  it('uses a clear placeholder author without an account, and an organization when configured', () => {
    expect(body(publishers.linkedin.preview(input('linkedin', { account: undefined }))[0]).author).toBe(
      'urn:li:person:{{account.id}}',
    );
    const org = input('linkedin', { account: { id: 'a', handle: 'h', settings: { organizationId: '42' } } });
    expect(body(publishers.linkedin.preview(org)[0]).author).toBe('urn:li:organization:42');
  });

  it('registers and uploads an image before the post and references it', () => {
    const reqs = publishers.linkedin.preview(input('linkedin', { images: [IMAGE] }));
    expect(reqs.map((r) => `${r.method} ${r.url}`)).toEqual([
      'POST https://api.linkedin.com/rest/images?action=initializeUpload',
      'PUT {{image_1.uploadUrl}}',
      'POST https://api.linkedin.com/rest/posts',
    ]);
    expect(body(reqs[0])).toEqual({ initializeUploadRequest: { owner: 'urn:li:person:abc123' } });
    expect(body(reqs[2]).content).toEqual({ media: { id: '{{image_1.urn}}', altText: 'A diagram' } });
  });
});

describe('Facebook', () => {
  it('posts the message and the first link to /{page-id}/feed', () => {
    const reqs = publishers.facebook.preview(input('facebook', { parts: ['Read this: https://example.com/post.'] }));
    expect(reqs).toHaveLength(1);
    expect(reqs[0].method).toBe('POST');
    expect(reqs[0].url).toBe('https://graph.facebook.com/v21.0/1122334455/feed');
    expect(reqs[0].headers.Authorization).toBe('Bearer [redacted]');
    expect(reqs[0].body).toEqual({ message: 'Read this: https://example.com/post.', link: 'https://example.com/post' });
  });

  it('uploads photos unpublished and attaches them to the feed post', () => {
    const reqs = publishers.facebook.preview(input('facebook', { images: [IMAGE] }));
    expect(reqs.map((r) => r.url)).toEqual([
      'https://graph.facebook.com/v21.0/1122334455/photos',
      'https://graph.facebook.com/v21.0/1122334455/feed',
    ]);
    expect(body(reqs[0])).toMatchObject({ url: IMAGE.url, published: false });
    expect(body(reqs[1])).toEqual({ message: 'Durable workflows beat cron jobs.', attached_media: [{ media_fbid: '{{photo_1.id}}' }] });
  });

  it('uses a page id placeholder without an account', () => {
    const reqs = publishers.facebook.preview(input('facebook', { account: undefined, credentials: undefined }));
    expect(reqs[0].url).toBe('https://graph.facebook.com/v21.0/{{account.pageId}}/feed');
  });
});

describe('Instagram', () => {
  it('creates a container, polls its status, then publishes it', () => {
    const reqs = publishers.instagram.preview(input('instagram', { images: [IMAGE] }));
    expect(reqs.map((r) => `${r.method} ${r.url}`)).toEqual([
      'POST https://graph.facebook.com/v21.0/17841400000000000/media',
      'GET https://graph.facebook.com/v21.0/{{container.id}}?fields=status_code',
      'POST https://graph.facebook.com/v21.0/17841400000000000/media_publish',
    ]);
    expect(reqs[0].body).toEqual({ image_url: IMAGE.url, caption: 'Durable workflows beat cron jobs.' });
    expect(reqs[2].body).toEqual({ creation_id: '{{container.id}}' });
  });

  it('makes a carousel from several images', () => {
    const images = [IMAGE, { ...IMAGE, id: 'img2', url: 'https://herald.example/v1/media/img2' }];
    const reqs = publishers.instagram.preview(input('instagram', { images }));
    const carousel = reqs.find((r) => body(r)?.media_type === 'CAROUSEL');
    expect(carousel?.body).toEqual({ media_type: 'CAROUSEL', children: ['{{item_1.id}}', '{{item_2.id}}'], caption: 'Durable workflows beat cron jobs.' });
    expect(body(reqs[reqs.length - 1])).toEqual({ creation_id: '{{carousel.id}}' });
  });

  it('refuses a post without an image', () => {
    expect(() => publishers.instagram.preview(input('instagram'))).toThrow(PermanentError);
  });
});

describe('Threads', () => {
  it('creates and publishes a container per part, later parts replying to the previous post', () => {
    const reqs = publishers.threads.preview(input('threads', { format: 'thread', parts: ['one', 'two', 'three'] }));
    expect(reqs.map((r) => r.url)).toEqual([
      'https://graph.threads.net/v1.0/9988776655/threads',
      'https://graph.threads.net/v1.0/9988776655/threads_publish',
      'https://graph.threads.net/v1.0/9988776655/threads',
      'https://graph.threads.net/v1.0/9988776655/threads_publish',
      'https://graph.threads.net/v1.0/9988776655/threads',
      'https://graph.threads.net/v1.0/9988776655/threads_publish',
    ]);
    expect(reqs[0].body).toEqual({ media_type: 'TEXT', text: 'one' });
    expect(reqs[1].body).toEqual({ creation_id: '{{container_1.id}}' });
    expect(reqs[2].body).toEqual({ media_type: 'TEXT', text: 'two', reply_to_id: '{{post_1.id}}' });
    expect(reqs[4].body).toEqual({ media_type: 'TEXT', text: 'three', reply_to_id: '{{post_2.id}}' });
    expect(reqs[5].body).toEqual({ creation_id: '{{container_3.id}}' });
  });

  it('sends an IMAGE container when the post has an image', () => {
    const reqs = publishers.threads.preview(input('threads', { images: [IMAGE] }));
    expect(reqs[0].body).toEqual({ media_type: 'IMAGE', image_url: IMAGE.url, text: 'Durable workflows beat cron jobs.' });
  });
});

describe('Mastodon', () => {
  it('posts statuses with per-part Idempotency-Keys, replying in a chain', () => {
    const reqs = publishers.mastodon.preview(input('mastodon', { format: 'thread', parts: ['one', 'two'] }));
    expect(reqs).toHaveLength(2);
    expect(reqs[0].url).toBe('https://mastodon.example/api/v1/statuses');
    expect(reqs[0].headers).toEqual({
      Authorization: 'Bearer [redacted]',
      'Content-Type': 'application/json',
      'Idempotency-Key': 'pub-mastodon-1:1',
    });
    expect(reqs[1].headers['Idempotency-Key']).toBe('pub-mastodon-1:2');
    expect(reqs[0].body).toEqual({ status: 'one', visibility: 'public' });
    expect(reqs[1].body).toEqual({ status: 'two', visibility: 'public', in_reply_to_id: '{{post_1.id}}' });
  });

  it('uploads media first and attaches it to the first status', () => {
    const reqs = publishers.mastodon.preview(input('mastodon', { images: [IMAGE] }));
    expect(reqs.map((r) => r.url)).toEqual(['https://mastodon.example/api/v2/media', 'https://mastodon.example/api/v1/statuses']);
    expect(body(reqs[0]).description).toBe('A diagram');
    expect(body(reqs[1]).media_ids).toEqual(['{{media_1.id}}']);
  });

  it('accepts a bare instance host and shows a placeholder without one', () => {
    const bare = input('mastodon', { account: { id: 'a', handle: 'h', settings: { instance: 'fosstodon.org' } } });
    expect(publishers.mastodon.preview(bare)[0].url).toBe('https://fosstodon.org/api/v1/statuses');
    expect(publishers.mastodon.preview(input('mastodon', { account: undefined }))[0].url).toBe(
      'https://{{account.instance}}/api/v1/statuses',
    );
  });
});

describe('Bluesky', () => {
  it('creates a session, then a record per part with root and parent replies', () => {
    const reqs = publishers.bluesky.preview(input('bluesky', { format: 'thread', parts: ['one', 'two', 'three'] }));
    expect(reqs.map((r) => r.url)).toEqual([
      'https://bsky.social/xrpc/com.atproto.server.createSession',
      'https://bsky.social/xrpc/com.atproto.repo.createRecord',
      'https://bsky.social/xrpc/com.atproto.repo.createRecord',
      'https://bsky.social/xrpc/com.atproto.repo.createRecord',
    ]);
    expect(reqs[0].body).toEqual({ identifier: 'herald.bsky.social', password: '[redacted]' });
    expect(reqs[1].body).toEqual({
      repo: 'did:plc:herald123',
      collection: 'app.bsky.feed.post',
      record: { $type: 'app.bsky.feed.post', text: 'one', createdAt: '2026-03-01T09:30:00.000Z' },
    });
    expect(body(reqs[2]).record.reply).toEqual({
      root: { uri: '{{post_1.uri}}', cid: '{{post_1.cid}}' },
      parent: { uri: '{{post_1.uri}}', cid: '{{post_1.cid}}' },
    });
    expect(body(reqs[3]).record.reply).toEqual({
      root: { uri: '{{post_1.uri}}', cid: '{{post_1.cid}}' },
      parent: { uri: '{{post_2.uri}}', cid: '{{post_2.cid}}' },
    });
  });

  it('puts link facets at UTF-8 byte offsets (after an emoji)', () => {
    const text = '🚀 Launch: https://example.com/x';
    const reqs = publishers.bluesky.preview(input('bluesky', { parts: [text] }));
    const facets = body(reqs[1]).record.facets;
    // "🚀" is 4 bytes but 2 UTF-16 units, so the link starts at byte 13 although it is at code unit 11.
    expect(text.indexOf('https://')).toBe(11);
    expect(facets).toEqual([
      { index: { byteStart: 13, byteEnd: 34 }, features: [{ $type: 'app.bsky.richtext.facet#link', uri: 'https://example.com/x' }] },
    ]);
    const bytes = Buffer.from(text, 'utf8');
    expect(bytes.subarray(13, 34).toString('utf8')).toBe('https://example.com/x');
  });

  it('tags hashtags and leaves trailing punctuation out of links', () => {
    const text = 'Café ☕ see https://a.example/p. #durable!';
    const facets = blueskyFacets(text);
    const bytes = Buffer.from(text, 'utf8');
    expect(facets.map((f) => bytes.subarray(f.index.byteStart, f.index.byteEnd).toString('utf8'))).toEqual([
      'https://a.example/p',
      '#durable',
    ]);
    expect(facets[1].features).toEqual([{ $type: 'app.bsky.richtext.facet#tag', tag: 'durable' }]);
  });

  it('uploads images as blobs and embeds them in the first post', () => {
    const reqs = publishers.bluesky.preview(input('bluesky', { images: [IMAGE] }));
    expect(reqs[1].url).toBe('https://bsky.social/xrpc/com.atproto.repo.uploadBlob');
    expect(reqs[1].headers['Content-Type']).toBe('image/png');
    expect(body(reqs[2]).record.embed).toEqual({
      $type: 'app.bsky.embed.images',
      images: [{ alt: 'A diagram', image: '{{blob_1}}' }],
    });
  });

  it('uses placeholders without an account', () => {
    const reqs = publishers.bluesky.preview(input('bluesky', { account: undefined, credentials: undefined }));
    expect(body(reqs[0]).identifier).toBe('{{account.handle}}');
    expect(body(reqs[1]).repo).toBe('{{session.did}}');
  });
});

describe('Slack, Discord, webhook', () => {
  it('Slack: {text} to the webhook URL shown as scheme and host only', () => {
    const reqs = publishers.slack.preview(input('slack', { parts: ['one', 'two'] }));
    expect(reqs).toEqual([
      {
        method: 'POST',
        url: 'https://hooks.slack.com/[redacted]',
        headers: { 'Content-Type': 'application/json' },
        body: { text: 'one\n\ntwo' },
        note: expect.any(String),
      },
    ]);
  });

  it('Discord: {content} without pings', () => {
    const reqs = publishers.discord.preview(input('discord'));
    expect(reqs).toHaveLength(1);
    expect(reqs[0].url).toBe('https://discord.com/[redacted]');
    expect(reqs[0].body).toEqual({ content: 'Durable workflows beat cron jobs.', allowed_mentions: { parse: [] } });
  });

  it('Discord: one message per part when together they exceed 2000 characters', () => {
    const reqs = publishers.discord.preview(input('discord', { parts: ['a'.repeat(1500), 'b'.repeat(1500)] }));
    expect(reqs.map((r) => body(r).content.length)).toEqual([1500, 1500]);
  });

  it('webhook: the whole piece with an Idempotency-Key header', () => {
    const reqs = publishers.webhook.preview(input('webhook', { parts: ['one', 'two'], images: [IMAGE], format: 'thread' }));
    expect(reqs).toHaveLength(1);
    expect(reqs[0].url).toBe('https://example.com/[redacted]');
    expect(reqs[0].headers).toEqual({ 'Content-Type': 'application/json', 'Idempotency-Key': 'pub-webhook-1' });
    expect(reqs[0].body).toEqual({
      idempotencyKey: 'pub-webhook-1',
      platform: 'webhook',
      title: 'Why durable workflows',
      parts: ['one', 'two'],
      text: 'one\n\ntwo',
      images: [IMAGE],
    });
  });

  it('shows a placeholder without credentials and never an invalid URL', () => {
    expect(publishers.slack.preview(input('slack', { credentials: undefined }))[0].url).toBe('{{credentials.url}}');
    expect(publishers.webhook.preview(input('webhook', { credentials: { url: 'not a url SECRET-HOOK-PATH-abc' } }))[0].url).toBe(
      '[redacted]',
    );
  });
});
