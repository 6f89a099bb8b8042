// Text a person wrote (an approval edit, the content given to POST /v1/validate) is checked against each platform's
// limits and never cut: one rule, used by the reviewEdits activity and by validation.
import { adaptForPlatform, checkVariantText, type AdaptOptions } from '../domain/adapt';
import { countFor, ruleFor } from '../domain/platform-rules';
import type { ContentFormat, Platform, Variant } from '../domain/types';

export interface WrittenText {
  platform: Platform;
  format: ContentFormat;
  title: string;
  body: string;
  hashtags: string[];
  /** The platform's own text (variants.<platform>), used as it is instead of the adapted body. */
  own?: string;
  /** The body is a person's words: adapting may split a thread or drop hashtags, but never shorten it. */
  bodyWritten: boolean;
}

export type ExactVariant =
  | { ok: true; variant: Variant }
  | {
      ok: false;
      platform: Platform;
      /** `own` when the platform's own text is at fault, `body` when the body is. */
      field: 'own' | 'body';
      reason: string;
      /** How long the text at fault is, counted the platform's way, and the limit (null: not a length problem). */
      length: number | null;
      limit: number;
      unit: string;
    };

/** The variant Herald would publish from this text, or why it cannot without changing a person's words. */
export function exactVariant(t: WrittenText, opts: AdaptOptions = {}): ExactVariant {
  const rule = ruleFor(t.platform, opts);
  if (t.own !== undefined) {
    const checked = checkVariantText(t.platform, t.format, t.own, opts);
    if (checked.ok) return checked;
    const length = t.own.trim() === '' ? null : countFor(t.platform, t.own.trim());
    return { ok: false, platform: t.platform, field: 'own', reason: checked.reason, length: length !== null && length > rule.limit ? length : null, limit: rule.limit, unit: rule.unit };
  }
  const variant = adaptForPlatform({ title: t.title, body: t.body, hashtags: t.hashtags, format: t.format, platform: t.platform }, opts);
  if (t.bodyWritten && variant.adaptations.some((a) => a.startsWith('shortened'))) {
    const length = countFor(t.platform, t.body.trim());
    return {
      ok: false,
      platform: t.platform,
      field: 'body',
      reason: `${t.platform}: the body is ${length} ${rule.unit}, limit ${rule.limit}`,
      length,
      limit: rule.limit,
      unit: rule.unit,
    };
  }
  return { ok: true, variant };
}
