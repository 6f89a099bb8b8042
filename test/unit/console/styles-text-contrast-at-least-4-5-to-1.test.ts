// The console's colours, read from styles.css: every pair of text and background the stylesheet uses for words
// reaches WCAG's 4.5:1 (normal text, level AA), and control borders and the focus ring reach 3:1 (non-text contrast).
// The contrast formula is WCAG 2's, written out here.
import { readFileSync } from 'node:fs';
import path from 'node:path';

const css = readFileSync(path.join(__dirname, '../../../src/console/styles.css'), 'utf8');
const root = /:root\s*{([^}]*)}/.exec(css)?.[1] ?? '';
const vars = Object.fromEntries([...root.matchAll(/--([\w-]+):\s*(#[0-9a-fA-F]{6})\b/g)].map((m) => [m[1], m[2]]));

function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}
const color = (name: string) => {
  if (name.startsWith('#')) return name;
  const value = vars[name];
  if (!value) throw new Error(`styles.css :root has no --${name}`);
  return value;
};

const TEXT_PAIRS: [string, string][] = [
  ['text', 'surface'],
  ['text', 'bg'],
  ['muted', 'surface'],
  ['muted', 'bg'],
  ['accent', 'surface'],
  ['accent', 'bg'],
  ['accent-text', 'accent'],
  ['danger', 'danger-bg'],
  ['danger', 'surface'],
  ['#ffffff', 'danger'],
  ['ok', 'ok-bg'],
  ['warn', 'warn-bg'],
  ['text', 'danger-bg'],
];
const NON_TEXT_PAIRS: [string, string][] = [
  ['border', 'surface'],
  ['focus', 'surface'],
  ['focus', 'bg'],
];

test.each(TEXT_PAIRS)('text %s on %s reaches 4.5:1', (fg, bg) => {
  expect(contrast(color(fg), color(bg))).toBeGreaterThanOrEqual(4.5);
});

test.each(NON_TEXT_PAIRS)('%s on %s reaches 3:1', (fg, bg) => {
  expect(contrast(color(fg), color(bg))).toBeGreaterThanOrEqual(3);
});

test('the formula agrees with WCAG’s known values: black on white is 21:1, a colour on itself 1:1', () => {
  expect(contrast('#000000', '#ffffff')).toBeCloseTo(21, 5);
  expect(contrast('#777777', '#777777')).toBe(1);
});
