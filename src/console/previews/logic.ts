// What the platform previews decide, kept apart from their markup so it can be tested without a browser: where a feed
// folds a long post, how a thread's parts are numbered and counted, which image a platform shows, what a webhook gets.
// Pure and browser-safe: the console bundles it, and the review page renders the same previews on the server.
import { countFor } from '../../domain/platform-rules';
import { splitGraphemes } from '../../domain/text-count';
import type { ImageRef, Platform, Publication, Variant } from '../../domain/types';

/**
 * Where a feed cuts a post and adds "…see more". LinkedIn shows about 210 characters (or three lines, whichever comes
 * first) in the feed; Instagram about 125 of a caption; Facebook about 480 (and five lines). None of them publish the
 * number and it varies with the screen, so these are the common desktop values.
 */
export const FEED_FOLDS: Partial<Record<Platform, { chars: number; lines: number }>> = {
  linkedin: { chars: 210, lines: 3 },
  instagram: { chars: 125, lines: 2 },
  facebook: { chars: 480, lines: 5 },
};

export interface Fold {
  /** What the feed shows before "…see more". */
  shown: string;
  /** Whether anything is hidden behind "see more". */
  folded: boolean;
}

/**
 * The part of `text` a feed shows: at most `chars` user-perceived characters and `lines` lines, cut back to the last
 * space so no word is split (unless a single word is longer than the room). Never splits an emoji or a flag.
 */
export function foldText(text: string, fold: { chars: number; lines: number }): Fold {
  const trimmed = text.replace(/\s+$/, '');
  let end = trimmed.length;
  let lineBreaks = 0;
  for (let i = 0; i < trimmed.length; i++) {
    if (trimmed[i] === '\n' && ++lineBreaks === fold.lines) {
      end = i;
      break;
    }
  }
  const byLines = trimmed.slice(0, end);
  const graphemes = splitGraphemes(byLines);
  if (graphemes.length <= fold.chars) {
    return end === trimmed.length ? { shown: trimmed, folded: false } : { shown: byLines.replace(/\s+$/, ''), folded: true };
  }
  const cut = graphemes.slice(0, fold.chars).join('');
  // Cut at a space only when it keeps most of the room: one long word should not empty the preview.
  const space = cut.search(/\s\S*$/);
  const shown = space >= fold.chars / 2 ? cut.slice(0, space) : cut;
  return { shown: shown.replace(/\s+$/, ''), folded: true };
}

export interface ThreadPart {
  /** 1-based. */
  index: number;
  total: number;
  /** "2/5": the position as the platform's readers see it numbered. */
  position: string;
  text: string;
  /** Counted the platform's way. */
  count: number;
  limit: number;
  over: boolean;
}

/** A variant's parts with their position, counted length and whether each breaks the limit. */
export function threadParts(variant: Pick<Variant, 'platform' | 'parts' | 'limit'>): ThreadPart[] {
  const total = variant.parts.length;
  return variant.parts.map((text, i) => {
    const count = countFor(variant.platform, text);
    return { index: i + 1, total, position: `${i + 1}/${total}`, text, count, limit: variant.limit, over: count > variant.limit };
  });
}

/** Whether the text already starts with the numbering Herald adds to a thread's parts ("2/5 "). */
export function carriesNumbering(part: Pick<ThreadPart, 'text' | 'position'>): boolean {
  return part.text.startsWith(`${part.position} `);
}

/** The image a platform would show: Instagram wants a square one, the others the wide card when there is one. */
export function imageFor(platform: Platform, images: readonly ImageRef[]): ImageRef | null {
  if (!images.length) return null;
  const square = (img: ImageRef) => img.width !== undefined && img.width === img.height;
  if (platform === 'instagram') return images.find(square) ?? images[0];
  return images.find((img) => !square(img)) ?? images[0];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A Mastodon content warning ("spoiler text"), where the request Herald would send sets one: read from a dry run's
 * recorded request, so the preview shows exactly what the instance would get.
 */
export function mastodonContentWarning(publication: Pick<Publication, 'preview'> | null | undefined): string | null {
  const requests = Array.isArray(publication?.preview) ? publication.preview : [];
  for (const req of requests) {
    const body = isRecord(req) ? req.body : null;
    if (isRecord(body) && typeof body.spoiler_text === 'string' && body.spoiler_text.trim()) return body.spoiler_text;
  }
  return null;
}

export interface WebhookPayloadInput {
  title: string;
  variant: Pick<Variant, 'parts'>;
  images: readonly ImageRef[];
  publication?: Pick<Publication, 'preview'> | null;
}

/**
 * The JSON body the webhook receives: a dry run's recorded body when there is one; otherwise the same fields built
 * from the variant (the idempotency key is only known when it is sent).
 */
export function webhookPayload({ title, variant, images, publication }: WebhookPayloadInput): unknown {
  const recorded = Array.isArray(publication?.preview) ? publication.preview[0] : null;
  if (isRecord(recorded) && recorded.body !== undefined) return recorded.body;
  const parts = variant.parts;
  return {
    platform: 'webhook',
    title,
    parts,
    text: parts.map((p) => p.trim()).filter((p) => p.length > 0).join('\n\n'),
    images: images.map((img) => ({ id: img.id, url: img.url, alt: img.alt })),
  };
}
