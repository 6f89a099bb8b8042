// What image generators and stock searches are asked for.
import type { ImageRequest } from './types';

/** What generators are asked for: the piece's title and topic, the style, and no lettering. */
export function illustrationPrompt(req: ImageRequest): string {
  const title = clip(req.title, 300);
  const topic = clip(req.topic, 600);
  const parts = [`An illustration for a social media post titled "${title}"`];
  if (topic && topic.toLowerCase() !== title.toLowerCase()) parts[0] += `, about ${topic}`;
  parts[0] += '.';
  if (req.style?.trim()) parts.push(`Style: ${clip(req.style, 300)}.`);
  parts.push('No text in the image: no words, letters, captions or logos.');
  return parts.join(' ');
}

/** The stock-search query: the title plus the keywords (hashtags without '#'), at most ~100 characters. */
export function stockQuery(req: ImageRequest, maxLength = 100): string {
  const words: string[] = [];
  const seen = new Set<string>();
  const add = (text: string): void => {
    for (const w of text.split(/\s+/)) {
      const word = w.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '');
      if (!word || seen.has(word.toLowerCase())) continue;
      seen.add(word.toLowerCase());
      words.push(word);
    }
  };
  add(req.title);
  for (const k of req.keywords) add(k.replace(/^#+/, '').replace(/[_-]+/g, ' '));
  if (words.length === 0) add(req.topic);
  let query = '';
  for (const word of words) {
    const next = query ? `${query} ${word}` : word;
    if (next.length > maxLength) break;
    query = next;
  }
  return query || (words[0] ?? '').slice(0, maxLength);
}

/** Alt text for a generated illustration. */
export function illustrationAlt(title: string): string {
  return `Illustration: ${title.trim()}`;
}

function clip(text: string, max: number): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1).trimEnd()}…` : t;
}
