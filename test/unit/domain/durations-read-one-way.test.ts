// One reading of "30s", "1.5h", "7d" for the API, the configuration, the limit specs and the workflows.
import { DURATION_PATTERN, formatDuration, parseDuration } from '../../../src/domain/duration';

it('reads a number and a unit as whole milliseconds', () => {
  expect(['500ms', '30s', '10m', '1.5h', '7d', '0.0004s', ' 2m '].map((t) => parseDuration(t))).toEqual([500, 30_000, 600_000, 5_400_000, 604_800_000, 0, 120_000]);
});

it('refuses what is not a duration', () => {
  for (const t of ['', '10', 'm', '-1s', '1 s', '1w', '1e3ms', '.5s', '10M']) expect(parseDuration(t)).toBeNull();
});

it('takes a unit alone as one of it only when asked (limit specs: 60/m)', () => {
  expect(parseDuration('m', { bareUnit: true })).toBe(60_000);
  expect(parseDuration('d', { bareUnit: true })).toBe(86_400_000);
  expect(parseDuration('m')).toBeNull();
});

it('the text pattern the API checks accepts exactly the untrimmed durations', () => {
  expect(['30s', '1.5h', '7d'].every((t) => DURATION_PATTERN.test(t))).toBe(true);
  expect([' 30s', '30', 'h', '30s '].some((t) => DURATION_PATTERN.test(t))).toBe(false);
});

it('writes a duration in the largest unit that divides it', () => {
  expect([60_000, 10_000, 86_400_000, 1500, 2_592_000_000].map(formatDuration)).toEqual(['1m', '10s', '1d', '1500ms', '30d']);
});
