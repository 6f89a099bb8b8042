// The platform previews: what the console's pipeline page and the reviewer's page show for every target.
import { h } from 'preact';
import type { ImageRef, Publication, Variant } from '../../domain/types';
import type { Html } from './parts';
import { PlatformPreview } from './platforms';

export { PlatformPreview } from './platforms';
export type { PreviewProps } from './parts';

export interface PreviewsProps {
  title: string;
  variants: readonly Variant[];
  images: readonly ImageRef[];
  publications?: readonly Publication[];
  /** Account id -> how the account is named (its handle), for the top of each post. */
  accountNames?: Readonly<Record<string, string>>;
}

/** Every variant's preview, in the order of the targets. */
export function Previews({ title, variants, images, publications = [], accountNames = {} }: PreviewsProps): Html {
  return h(
    'div',
    { class: 'pv-list' },
    variants.map((variant) => {
      const publication = publications.find((p) => p.platform === variant.platform) ?? null;
      const accountName = publication?.accountId ? accountNames[publication.accountId] : null;
      return h('div', { key: variant.platform }, PlatformPreview({ variant, title, images, publication, accountName }));
    }),
  );
}
