// Property: splitting generated text into a thread loses nothing: every non-space character of the body, in order.
import { adaptForPlatform } from '../../../src/domain/adapt';
import { PLATFORM_RULES } from '../../../src/domain/platform-rules';
import { PLATFORMS } from '../../../src/domain/types';
import { generatedCases } from '../../helpers/adapted-text';

describe('property: a split thread keeps the whole body', () => {
  const cases = generatedCases();

  test.each(PLATFORMS.filter((p) => PLATFORM_RULES[p].threads).map((p) => [p]))(
    '%s: a split thread keeps every non-space character of the body, in order',
    (platform) => {
      for (const c of cases) {
        const body = c.body.trim();
        const v = adaptForPlatform({ title: '', body, hashtags: [], format: 'thread', platform });
        const rejoined = v.parts.map((p) => (v.parts.length > 1 ? p.replace(/^\d+\/\d+ /, '') : p)).join('');
        expect(rejoined.replace(/\s+/g, '')).toBe(body.replace(/\s+/g, ''));
      }
    },
  );
});
