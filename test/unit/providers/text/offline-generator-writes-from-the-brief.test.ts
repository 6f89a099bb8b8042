import type { GenerateTextInput } from '../../../../src/providers/text/types';
import { createOfflineTextGenerator, titleFromTopic, writeOffline } from '../../../../src/providers/text/offline';

const BRIEF = [
  'Temporal gives each pipeline a durable history, so a worker crash never loses progress.',
  'Retries are declared once per activity, with backoff and a maximum number of attempts.',
  'It is nice.',
  'The team cut failed publishes by 80% after moving to Temporal in March 2024.',
  'Approval steps can wait for days without holding a thread or a database lock.',
  'Signals let an editor approve, reject or edit a draft while the workflow is paused.',
  'Dry runs record the exact request that would have been sent, e.g. the body of a webhook.',
  'Scheduling uses durable timers that survive deploys and restarts.',
].join(' ');

const base: GenerateTextInput = {
  topic: 'durable workflows for social publishing',
  brief: BRIEF,
  voice: 'friendly',
  audience: 'platform engineers',
  format: 'post',
};

const paragraphs = (body: string): string[] => body.split(/\n\n+/);

describe('offline text generator', () => {
  it('is named offline and reports its model', async () => {
    const gen = createOfflineTextGenerator();
    expect(gen.name).toBe('offline');
    const out = await gen.generate(base);
    expect(out.provider).toBe('offline');
    expect(out.model).toBe('offline-v1');
  });

  it('is deterministic', async () => {
    const gen = createOfflineTextGenerator();
    for (const format of ['post', 'thread', 'article'] as const) {
      const a = await gen.generate({ ...base, format });
      const b = await createOfflineTextGenerator().generate({ ...base, format });
      expect(b).toEqual(a);
    }
  });

  it('builds the title from the topic', () => {
    expect(writeOffline(base).title).toBe('Durable Workflows for Social Publishing');
    expect(titleFromTopic('the future of remote work')).toBe('The Future of Remote Work');
    expect(titleFromTopic('AI IN HEALTHCARE')).toBe('AI in Healthcare');
    expect(titleFromTopic('why iPhone sales fell in Q3.')).toBe('Why iPhone Sales Fell in Q3');
    expect(titleFromTopic('Should you rewrite it in Rust?')).toBe('Should You Rewrite It in Rust?');
  });

  it('uses the most informative sentences of the brief, in their original order', () => {
    const { body } = writeOffline(base);
    expect(body).toContain('The team cut failed publishes by 80% after moving to Temporal in March 2024.');
    expect(body).not.toContain('It is nice.');
    const picked = BRIEF.split(/(?<=\.)\s+/).filter((s) => body.includes(s));
    expect(picked.length).toBeGreaterThanOrEqual(2);
    const positions = picked.map((s) => body.indexOf(s));
    expect([...positions].sort((x, y) => x - y)).toEqual(positions);
  });

  it('puts the whole brief (up to a cap) into a thread and an article', () => {
    for (const format of ['thread', 'article'] as const) {
      const { body } = writeOffline({ ...base, format });
      expect(body).toContain('Signals let an editor approve, reject or edit a draft while the workflow is paused.');
      expect(body).toContain('Scheduling uses durable timers that survive deploys and restarts.');
      // "e.g." does not end a sentence.
      expect(body).toContain('Dry runs record the exact request that would have been sent, e.g. the body of a webhook.');
    }
  });

  it('opens by addressing the audience', () => {
    const devs = writeOffline(base).body;
    const execs = writeOffline({ ...base, audience: 'marketing leads' }).body;
    expect(paragraphs(devs)[0]).toContain('platform engineers');
    expect(paragraphs(execs)[0]).toContain('marketing leads');
    expect(devs).not.toEqual(execs);
    expect(writeOffline({ ...base, audience: undefined }).body).not.toContain('undefined');
  });

  it('closes in the requested voice', () => {
    const playful = writeOffline({ ...base, voice: 'playful' }).body;
    const formal = writeOffline({ ...base, voice: 'formal' }).body;
    const lastOf = (b: string) => paragraphs(b).at(-1)!;
    expect(lastOf(playful)).not.toEqual(lastOf(formal));
    expect(playful).toMatch(/\p{Extended_Pictographic}/u);
    expect(formal).not.toMatch(/\p{Extended_Pictographic}/u);
    // Unknown voices fall back to a neutral voice rather than failing.
    expect(writeOffline({ ...base, voice: 'zzz' }).body.length).toBeGreaterThan(0);
  });

  it('sizes the body by format', () => {
    const post = writeOffline({ ...base, format: 'post' }).body;
    const thread = writeOffline({ ...base, format: 'thread' }).body;
    const article = writeOffline({ ...base, format: 'article' }).body;
    expect(post.length).toBeLessThan(600);
    expect(paragraphs(post).length).toBeLessThanOrEqual(3);
    expect(thread.length).toBeGreaterThan(post.length);
    expect(article.length).toBeGreaterThan(thread.length);
    // A thread is one sentence per paragraph, ready to become numbered posts.
    const parts = paragraphs(thread);
    expect(parts.length).toBeGreaterThanOrEqual(6);
    expect(parts.length).toBeLessThanOrEqual(12);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(260);
    expect(paragraphs(article).length).toBeGreaterThanOrEqual(4);
  });

  it('writes a sensible body without a brief', () => {
    for (const format of ['post', 'thread', 'article'] as const) {
      const out = writeOffline({ topic: 'remote work', format });
      expect(out.body).toContain('remote work');
      expect(out.body).not.toMatch(/undefined|\{|\}/);
    }
    expect(paragraphs(writeOffline({ topic: 'remote work', format: 'thread' }).body).length).toBeGreaterThanOrEqual(6);
  });

  it('keeps a post short even when the brief is long', () => {
    const long = Array.from({ length: 40 }, (_, i) => `Finding ${i + 1} shows the platform handled ${1000 + i} requests per second under load.`).join(' ');
    const post = writeOffline({ ...base, brief: long }).body;
    expect(post.length).toBeLessThan(600);
    const thread = writeOffline({ ...base, brief: long, format: 'thread' }).body;
    expect(paragraphs(thread).length).toBeLessThanOrEqual(12);
    const oneHuge = writeOffline({ ...base, brief: 'word '.repeat(400) }).body;
    expect(oneHuge.length).toBeLessThan(600);
  });

  it('derives 3-6 clean hashtags from the topic and brief', () => {
    const cases: GenerateTextInput[] = [
      base,
      { topic: 'AI', format: 'post' },
      { topic: 'Café culture in Zürich', brief: 'Cafés in Zürich are busy. The café scene keeps growing.', format: 'post' },
      { topic: 'the', format: 'thread' },
      { topic: 'How to write a great README for the open-source project', format: 'article' },
    ];
    const stop = ['the', 'for', 'and', 'how', 'great', 'with'];
    for (const input of cases) {
      const { hashtags } = writeOffline(input);
      expect(hashtags.length).toBeGreaterThanOrEqual(3);
      expect(hashtags.length).toBeLessThanOrEqual(6);
      for (const tag of hashtags) {
        expect(tag).toMatch(/^[A-Za-z0-9]+$/);
        expect(stop).not.toContain(tag.toLowerCase());
      }
      expect(new Set(hashtags.map((t) => t.toLowerCase())).size).toBe(hashtags.length);
    }
    expect(writeOffline(base).hashtags).toEqual(expect.arrayContaining(['DurableWorkflows', 'publishing']));
    expect(writeOffline(cases[2]).hashtags).toEqual(expect.arrayContaining(['CafeCultureZurich', 'cafe', 'zurich']));
    expect(writeOffline(cases[1]).hashtags[0]).toBe('AI');
  });

  it('reports token estimates of about a token per four characters', () => {
    const out = writeOffline(base);
    const inputChars = [base.topic, base.brief, base.voice, base.audience, base.format].join('\n').length;
    expect(out.usage!.inputTokens).toBe(Math.ceil(inputChars / 4));
    const outputChars = out.title.length + out.body.length + out.hashtags.join(' ').length;
    expect(out.usage!.outputTokens).toBe(Math.ceil(outputChars / 4));
    expect(out.usage!.totalTokens).toBe(out.usage!.inputTokens + out.usage!.outputTokens);
  });
});
