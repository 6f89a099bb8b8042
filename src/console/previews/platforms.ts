// One preview per platform, each drawing the post the way that platform shows it. The console's pipeline page and the
// server-rendered review page (src/api/review/page.ts) both use these; they hold no state and run no script, so they
// render the same in a browser and as static HTML.
import { h } from 'preact';
import { PLATFORM_NAMES, type Platform } from '../../domain/types';
import { imageFor, mastodonContentWarning, threadParts, webhookPayload, type ThreadPart } from './logic';
import { Author, Count, Folded, Frame, Picture, Text, ThreadPost, type Html, type PreviewProps } from './parts';

const nameOf = (props: PreviewProps) => props.accountName?.trim() || 'Your account';

/** X, Bluesky, Threads and Mastodon: a thread of numbered posts joined by a line, the image on the first. */
function Thread(props: PreviewProps & { handle?: string }): Html {
  const { variant } = props;
  const parts = threadParts(variant);
  const image = imageFor(variant.platform, props.images);
  const warning = variant.platform === 'mastodon' ? mastodonContentWarning(props.publication) : null;
  const post = (part: ThreadPart) => {
    const text = warning
      ? h(
          'details',
          { class: 'pv-cw' },
          h('summary', null, h('span', { class: 'pv-cw-label' }, 'Content warning: '), warning, h('span', { class: 'pv-more' }, ' Show more')),
          Text({ text: part.text }),
        )
      : Text({ text: part.text });
    const author = Author({ name: nameOf(props), handle: props.handle, position: parts.length > 1 ? part.position : undefined });
    return ThreadPost({ part, author, children: [text, part.index === 1 ? Picture({ image }) : null] });
  };
  if (!parts.length) return Frame({ variant, children: h('p', { class: 'pv-note' }, 'No text.') });
  const body =
    parts.length > 1
      ? h('ol', { 'aria-label': `${PLATFORM_NAMES[variant.platform]}: ${parts.length} posts` }, parts.map((p) => h('li', { key: p.index }, post(p))))
      : post(parts[0]);
  return Frame({ variant, children: body });
}

/**
 * One post with the image under the text: LinkedIn and Facebook fold it in the feed behind "…see more" (`more`);
 * Slack and Discord show it whole, as a message from the app or bot (`badge`).
 */
function SinglePost(props: PreviewProps & { more?: string; badge?: string }): Html {
  const { variant } = props;
  if (variant.parts.length !== 1) return Thread(props);
  const [part] = threadParts(variant);
  return Frame({
    variant,
    children: h(
      'div',
      { class: 'pv-post' },
      Author({ name: nameOf(props), badge: props.badge }),
      props.more ? Folded({ platform: variant.platform, text: part.text, more: props.more }) : Text({ text: part.text }),
      Picture({ image: imageFor(variant.platform, props.images) }),
      Count({ count: part.count, limit: part.limit }),
    ),
  });
}

/** Instagram: the square image first, then the caption after the account name, folded behind "…more". */
function Instagram(props: PreviewProps): Html {
  const { variant } = props;
  if (variant.parts.length !== 1) return Thread(props);
  const [part] = threadParts(variant);
  const image = imageFor('instagram', props.images);
  return Frame({
    variant,
    children: h(
      'div',
      { class: 'pv-post' },
      Author({ name: nameOf(props) }),
      image ? Picture({ image, square: true }) : h('p', { class: 'pv-over', role: 'note' }, 'Instagram needs an image, and this post has none.'),
      Folded({ platform: 'instagram', text: part.text, more: 'more', lead: h('span', { class: 'pv-name pv-lead' }, nameOf(props)) }),
      Count({ count: part.count, limit: part.limit }),
    ),
  });
}

/** A webhook gets JSON: the body as it would be posted. */
function Webhook(props: PreviewProps): Html {
  const { variant } = props;
  const longest = threadParts(variant).reduce((max, p) => Math.max(max, p.count), 0);
  const payload = webhookPayload({ title: props.title, variant, images: props.images, publication: props.publication });
  return Frame({
    variant,
    children: h(
      'div',
      { class: 'pv-post' },
      h('p', { class: 'pv-note' }, 'POST with this JSON body:'),
      h('pre', { class: 'pv-json', tabIndex: 0, 'aria-label': 'Webhook JSON body' }, JSON.stringify(payload, null, 2)),
      Count({ count: longest, limit: variant.limit }),
    ),
  });
}

const BY_PLATFORM: Record<Platform, (props: PreviewProps) => Html> = {
  x: (p) => Thread(p),
  bluesky: (p) => Thread(p),
  threads: (p) => Thread(p),
  mastodon: (p) => Thread(p),
  linkedin: (p) => SinglePost({ ...p, more: 'see more' }),
  facebook: (p) => SinglePost({ ...p, more: 'See more' }),
  instagram: (p) => Instagram(p),
  slack: (p) => SinglePost({ ...p, badge: 'APP' }),
  discord: (p) => SinglePost({ ...p, badge: 'BOT' }),
  webhook: (p) => Webhook(p),
};

/** The post as `props.variant.platform` shows it. */
export function PlatformPreview(props: PreviewProps): Html {
  return BY_PLATFORM[props.variant.platform](props);
}
