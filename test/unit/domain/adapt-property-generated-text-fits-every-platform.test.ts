// Property: generated text with emoji, CJK, URLs and ZWJ sequences, in every format, fits every platform (count and
// bytes), and is split into numbered parts only where threads exist.
import { adaptForPlatform, type AdaptOptions } from '../../../src/domain/adapt';
import { PLATFORM_RULES } from '../../../src/domain/platform-rules';
import { FORMATS, PLATFORMS } from '../../../src/domain/types';
import { expectAllPartsFit, generatedCases } from '../../helpers/adapted-text';

describe('property: every part fits its platform', () => {
  const cases = generatedCases();

  test.each(PLATFORMS.map((p) => [p]))('%s: generated text with emoji, CJK, URLs and ZWJ sequences', (platform) => {
    for (const c of cases) {
      for (const format of FORMATS) {
        const opts: AdaptOptions = c.i % 5 === 0 ? { mastodonMaxChars: 300, instagramHashtagCap: 3 } : {};
        const v = adaptForPlatform({ title: c.title, body: c.body, hashtags: c.hashtags, format, platform }, opts);
        expectAllPartsFit(v, opts);
        if (!(format === 'thread' && PLATFORM_RULES[platform].threads)) expect(v.parts).toHaveLength(1);
        if (v.parts.length > 1) {
          v.parts.forEach((p, k) => expect(p.startsWith(`${k + 1}/${v.parts.length} `)).toBe(true));
          expect(v.adaptations).toContain(`split into ${v.parts.length} posts`);
        }
      }
    }
  });
});
