import type { ApprovalEdits, Content, ContentFormat, Platform, Variant } from '../domain/types';
import { exactVariant } from '../pipelines/exact-text';
import type { ActivityDeps } from './deps';

export interface ReviewEditsArgs {
  content: Content;
  variants: Variant[];
  format: ContentFormat;
  edits: ApprovalEdits;
}
export type ReviewEditsResult = { ok: true; content: Content; variants: Variant[] } | { ok: false; reasons: string[] };

/**
 * Re-checks a reviewer's edits against every target's limits. A person's words are never cut silently:
 * an edit that does not fit is refused with the platform and the numbers.
 */
export function createReviewEdits({ adaptOptions }: Pick<ActivityDeps, 'adaptOptions'>) {
  return async function reviewEdits({ content, variants, format, edits }: ReviewEditsArgs): Promise<ReviewEditsResult> {
    const reasons: string[] = [];
    const platforms = variants.map((v) => v.platform);
    if (edits.title !== undefined && edits.title.trim() === '') reasons.push('title: must not be empty');
    if (edits.body !== undefined && edits.body.trim() === '') reasons.push('body: must not be empty');
    const next: Content = { ...content, title: edits.title ?? content.title, body: edits.body ?? content.body };
    const textChanged = edits.title !== undefined || edits.body !== undefined;
    const out: Variant[] = [];
    for (const current of variants) {
      const platform: Platform = current.platform;
      const own = edits.variants?.[platform];
      if (own === undefined && !textChanged) {
        out.push(current);
        continue;
      }
      const checked = exactVariant(
        { platform, format, title: next.title, body: next.body, hashtags: next.hashtags, own, bodyWritten: edits.body !== undefined },
        adaptOptions,
      );
      if (checked.ok) {
        out.push(own === undefined ? checked.variant : { ...checked.variant, adaptations: [...checked.variant.adaptations, 'edited by reviewer'] });
      } else if (checked.field === 'own') {
        reasons.push(checked.reason);
      } else {
        reasons.push(`${platform}: the edited body does not fit (limit ${checked.limit}); shorten it or give variants.${platform} its own text`);
      }
    }
    for (const platform of Object.keys(edits.variants ?? {})) {
      if (!platforms.includes(platform as Platform)) reasons.push(`${platform}: not a target of this pipeline`);
    }
    return reasons.length ? { ok: false, reasons } : { ok: true, content: next, variants: out };
  };
}
