// The schedules page: an interval in words, and the runs after the next one that Temporal names.
import { nextRuns, readEvery } from '../../../src/console/pages/runs';

describe('schedule runs', () => {
  test('an interval reads as words and a length', () => {
    expect(readEvery('30m')).toEqual({ ms: 1_800_000, words: 'every 30 minutes' });
    expect(readEvery('1d')).toEqual({ ms: 86_400_000, words: 'every day' });
    expect(readEvery('6h')).toEqual({ ms: 21_600_000, words: 'every 6 hours' });
    expect(readEvery('1h30m')).toBeNull();
    expect(readEvery('soon')).toBeNull();
  });

  test('an interval runs at fixed steps after the next run, through a summer-time change', () => {
    // Berlin leaves summer time on 2026-10-25: a daily interval keeps 24 hours, so its local hour moves from 09:00 to 08:00.
    expect(nextRuns({ nextRunAt: '2026-10-24T07:00:00.000Z', every: '1d' })).toEqual(['2026-10-24T07:00:00.000Z', '2026-10-25T07:00:00.000Z', '2026-10-26T07:00:00.000Z']);
  });

  test('a cron schedule shows only the next run; a paused one none', () => {
    expect(nextRuns({ nextRunAt: '2026-12-07T08:00:00.000Z' })).toEqual(['2026-12-07T08:00:00.000Z']);
    expect(nextRuns({ nextRunAt: null, every: '1h' })).toEqual([]);
  });
});
