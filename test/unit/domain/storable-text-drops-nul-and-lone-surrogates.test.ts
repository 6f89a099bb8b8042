import { storableText } from '../../../src/domain/storable-text';

describe('storableText', () => {
  it('drops NUL characters', () => {
    expect(storableText('a\u0000b\u0000')).toBe('ab');
  });
  it('replaces unpaired surrogates with U+FFFD and keeps real pairs', () => {
    expect(storableText('x\ud800y')).toBe('x\uFFFDy');
    expect(storableText('x\udc00')).toBe('x\uFFFD');
    expect(storableText('rocket \u{1F680} ok')).toBe('rocket \u{1F680} ok');
  });
  it('leaves ordinary text untouched', () => {
    expect(storableText('Café Zürich, Ελληνικά, 日本語')).toBe('Café Zürich, Ελληνικά, 日本語');
  });
});
