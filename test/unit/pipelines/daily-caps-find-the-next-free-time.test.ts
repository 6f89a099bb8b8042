// The daily-cap arithmetic against a brute-force oracle: a post at t is allowed when no window of the cap's length
// would then hold more than its count.
import { capsFor, fitsAt, nextFreeTime } from '../../../src/pipelines/daily-caps';
import { checkDailyCaps } from '../../../src/pipelines/daily-cap-check';

const H = 3_600_000;
const DAY = 24 * H;
const T0 = Date.parse('2026-12-10T00:00:00Z');

/** Oracle: every window [s, s + w) that could contain t, s stepped finely enough for whole-minute times. */
function oracleFits(times: number[], t: number, count: number, windowMs: number): boolean {
  const all = [...times, t];
  for (let s = t - windowMs + 60_000; s <= t; s += 60_000) {
    if (all.filter((p) => p >= s && p < s + windowMs).length > count) return false;
  }
  return true;
}

function seeded(seed: number) {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

describe('daily caps', () => {
  it('take only windows of a day or longer from the configured limits', () => {
    const limits = { instagram: { requests: [{ count: 50, windowMs: DAY }], tokens: [] }, x: { requests: [{ count: 100, windowMs: 15 * 60_000 }, { count: 17, windowMs: DAY }], tokens: [] } };
    expect(capsFor('instagram', limits)).toEqual([{ count: 50, windowMs: DAY }]);
    expect(capsFor('x', limits)).toEqual([{ count: 17, windowMs: DAY }]);
    expect(capsFor('linkedin', limits)).toEqual([]);
  });

  it('a full rolling day refuses a post inside it and frees up when its first post leaves the window', () => {
    const times = Array.from({ length: 50 }, (_, i) => T0 + i * 60_000); // 50 posts, one a minute from T0
    const cap = [{ count: 50, windowMs: DAY }];
    expect(fitsAt(times, T0 + 2 * H, cap)).toBe(false);
    // Before the first one, the new post shares a window with all 50 as well.
    expect(fitsAt(times, T0 - H, cap)).toBe(false);
    expect(fitsAt(times, T0 - DAY, cap)).toBe(true);
    expect(nextFreeTime(times, T0 + 2 * H, cap)).toBe(T0 + DAY);
    expect(fitsAt(times, T0 + DAY - 1, cap)).toBe(false);
  });

  it('agrees with the brute-force oracle on random schedules (the next free time is the first minute that fits)', () => {
    const rnd = seeded(42);
    for (let run = 0; run < 60; run++) {
      const count = 1 + Math.floor(rnd() * 5);
      const windowMs = (2 + Math.floor(rnd() * 4)) * H;
      const times = Array.from({ length: Math.floor(rnd() * 12) }, () => T0 + Math.floor(rnd() * 12 * 60) * 60_000).sort((a, b) => a - b);
      const t = T0 + Math.floor(rnd() * 12 * 60) * 60_000;
      const cap = [{ count, windowMs }];
      expect(fitsAt(times, t, cap)).toBe(oracleFits(times, t, count, windowMs));
      let expected = t;
      while (!oracleFits(times, expected, count, windowMs)) expected += 60_000;
      expect(nextFreeTime(times, t, cap)).toBe(expected);
    }
  });

  it('finds one time at which every target has room, and names each full account', async () => {
    const limits = { instagram: { requests: [{ count: 2, windowMs: DAY }], tokens: [] }, threads: { requests: [{ count: 1, windowMs: DAY }], tokens: [] } };
    const byAccount: Record<string, number[]> = { ig: [T0, T0 + H], th: [T0 + 3 * H] };
    const request = {
      publishAt: new Date(T0 + 2 * H).toISOString(),
      dryRun: false,
      targets: [
        { platform: 'instagram' as const, accountId: 'ig' },
        { platform: 'threads' as const, accountId: 'th' },
        { platform: 'linkedin' as const, accountId: 'li' },
      ],
    };
    const check = await checkDailyCaps(async (a) => byAccount[a.accountId] ?? [], request, limits);
    // Instagram has room from T0 + 24h (the post at T0 leaves); Threads only from T0 + 27h.
    expect(check.nextFreeAt).toBe(new Date(T0 + 27 * H).toISOString());
    expect(check.problems.map((p) => [p.target, p.platform, p.code, p.cap])).toEqual([
      [0, 'instagram', 'daily_cap_full', { count: 2, window: '24 h' }],
      [1, 'threads', 'daily_cap_full', { count: 1, window: '24 h' }],
    ]);
    expect(check.problems[0].hint).toContain(new Date(T0 + 27 * H).toISOString());
    // A dry run publishes nowhere: nothing to count.
    expect((await checkDailyCaps(async () => [T0], { ...request, dryRun: true }, limits)).problems).toEqual([]);
  });
});
