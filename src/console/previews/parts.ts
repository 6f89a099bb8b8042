// Building blocks every platform preview shares: the frame with its heading, a post card, the counted length.
// The previews are written with h() rather than JSX: the review page renders them on the server (tsx, Jest, the root
// tsconfig), which then needs none of the console bundle's JSX settings.
import { h, type ComponentChildren, type VNode } from 'preact';

/** What a preview renders to (an element of any props). */
export type Html = VNode<any>;
import { PLATFORM_NAMES, type ImageRef, type Platform, type Publication, type Variant } from '../../domain/types';
import { FEED_FOLDS, foldText, type ThreadPart } from './logic';

export interface PreviewProps {
  variant: Variant;
  /** The piece's title (webhooks send it; the others show only the variant's text). */
  title: string;
  images: readonly ImageRef[];
  /** The target's publication, when there is one: a dry run's recorded request tells what would be sent. */
  publication?: Publication | null;
  /** How the account is shown at the top of each post; "Your account" when unknown. */
  accountName?: string | null;
}

/** The frame of one platform's preview: its heading (with the number of posts of a thread), then the post. */
export function Frame({ variant, children }: { variant: Variant; children: ComponentChildren }): Html {
  const { platform } = variant;
  const many = variant.parts.length > 1;
  const adapted = variant.adaptations.length ? h('p', { class: 'pv-note' }, `Adapted: ${variant.adaptations.join('; ')}`) : null;
  return h(
    'article',
    { class: `pv pv-${platform}`, 'data-testid': `preview-${platform}`, 'aria-labelledby': `v-${platform}` },
    h('h3', { id: `v-${platform}` }, PLATFORM_NAMES[platform], many ? ` (${variant.parts.length} posts)` : ''),
    children,
    adapted,
  );
}

/** "187 of 280 counted", red and marked when over the limit. */
export function Count({ count, limit }: { count: number; limit: number }): Html {
  const over = count > limit;
  return h('p', { class: over ? 'pv-count pv-over' : 'pv-count' }, `${count} of ${limit} counted`, over ? ` (${count - limit} over)` : '');
}

/** The avatar, name and handle line at the top of a post. */
export function Author({ name, handle, badge, position }: { name: string; handle?: string; badge?: string; position?: string }): Html {
  return h(
    'div',
    { class: 'pv-author' },
    h('span', { class: 'pv-avatar', 'aria-hidden': 'true' }, name.trim().charAt(0).toUpperCase() || '?'),
    h('span', { class: 'pv-name' }, name),
    badge ? h('span', { class: 'pv-badge' }, badge) : null,
    handle ? h('span', { class: 'pv-handle' }, handle) : null,
    position ? h('span', { class: 'pv-position', 'aria-label': `post ${position.replace('/', ' of ')}` }, position) : null,
  );
}

export function Picture({ image, square }: { image: ImageRef | null; square?: boolean }): Html | null {
  if (!image) return null;
  const size = image.width && image.height ? { width: image.width, height: image.height } : {};
  return h('img', { src: image.url, alt: image.alt, class: square ? 'pv-img pv-square' : 'pv-img', ...size });
}

/** A post's text; `lead` goes before it on the same line (Instagram puts the account name first). */
export function Text({ text, lead }: { text: string; lead?: Html }): Html {
  return h('p', { class: 'pv-text' }, lead ? [lead, ' '] : null, text);
}

/**
 * A text a feed folds: the first lines with "…see more" (a <details>, so it opens without a script), the whole text
 * once opened.
 */
export function Folded({ platform, text, more, lead }: { platform: Platform; text: string; more: string; lead?: Html }): Html {
  const fold = foldText(text, FEED_FOLDS[platform] ?? { chars: Infinity, lines: Infinity });
  if (!fold.folded) return Text({ text, lead });
  return h(
    'details',
    { class: 'pv-fold' },
    h('summary', null, lead ? [lead, ' '] : null, h('span', { class: 'pv-shown' }, fold.shown), h('span', { class: 'pv-more' }, `…${more}`), h('span', { class: 'pv-less' }, 'see less')),
    Text({ text, lead }),
  );
}

/** One post of a thread (or a single post), as in the timeline of X, Bluesky, Threads or Mastodon. */
export function ThreadPost({ part, author, children }: { part: ThreadPart; author: Html; children?: ComponentChildren }): Html {
  return h('div', { class: 'pv-post' }, author, children, h(Count, { count: part.count, limit: part.limit }));
}
