// The schedules page: an interval in words, and the runs after the next one that Temporal names.
import { cronRunsAfter, nextRuns, readEvery } from '../../../src/console/pages/runs';

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

  test('a paused schedule has no next runs', () => {
    expect(nextRuns({ nextRunAt: null, every: '1h' })).toEqual([]);
    expect(nextRuns({ nextRunAt: null, cron: '0 9 * * *', timezone: 'UTC' })).toEqual([]);
  });

  test('weekdays at 09:00 in Berlin: after Friday comes Monday, at 08:00 UTC in winter', () => {
    expect(nextRuns({ nextRunAt: '2026-12-04T08:00:00.000Z', cron: '0 9 * * MON-FRI', timezone: 'Europe/Berlin' })).toEqual([
      '2026-12-04T08:00:00.000Z',
      '2026-12-07T08:00:00.000Z',
      '2026-12-08T08:00:00.000Z',
    ]);
  });

  test('a cron time keeps its wall-clock hour across a summer-time change, and a skipped time has no run', () => {
    // New York springs forward on 2026-03-08: 09:00 is 14:00 UTC before, 13:00 UTC after.
    expect(cronRunsAfter('0 9 * * *', 'America/New_York', Date.parse('2026-03-07T14:00:00Z'), 2)).toEqual(['2026-03-08T13:00:00.000Z', '2026-03-09T13:00:00.000Z']);
    // Berlin has no 02:30 on 2026-03-29.
    expect(cronRunsAfter('30 2 * * *', 'Europe/Berlin', Date.parse('2026-03-28T01:30:00Z'), 2)).toEqual(['2026-03-30T00:30:00.000Z', '2026-03-31T00:30:00.000Z']);
  });

  test('steps, lists, shorthands, Sunday as 7, and either day field when both are given', () => {
    const after = Date.parse('2026-12-03T10:07:00Z');
    expect(cronRunsAfter('*/15 * * * *', 'UTC', after, 3)).toEqual(['2026-12-03T10:15:00.000Z', '2026-12-03T10:30:00.000Z', '2026-12-03T10:45:00.000Z']);
    expect(cronRunsAfter('5/20 10 * * *', 'UTC', after, 3)).toEqual(['2026-12-03T10:25:00.000Z', '2026-12-03T10:45:00.000Z', '2026-12-04T10:05:00.000Z']);
    expect(cronRunsAfter('@monthly', 'UTC', after, 2)).toEqual(['2027-01-01T00:00:00.000Z', '2027-02-01T00:00:00.000Z']);
    expect(cronRunsAfter('0 12 * * 7', 'UTC', after, 1)).toEqual(['2026-12-06T12:00:00.000Z']);
    // The 13th (a Sunday in December 2026) or any Friday.
    expect(cronRunsAfter('0 12 13 * FRI', 'UTC', after, 3)).toEqual(['2026-12-04T12:00:00.000Z', '2026-12-11T12:00:00.000Z', '2026-12-13T12:00:00.000Z']);
    expect(cronRunsAfter('0 0 29 2 *', 'UTC', after, 1)).toEqual([]); // no 29 February within a year
    expect(cronRunsAfter('not cron', 'UTC', after, 2)).toEqual([]);
  });
});
