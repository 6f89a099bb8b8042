// When a recurring schedule runs next, from what the API tells: Temporal gives only the next run, and an interval's
// later runs follow at fixed steps (an interval is a duration, not a wall-clock time, so summer time does not move it).

const UNITS: Record<string, [number, string]> = { ms: [1, 'millisecond'], s: [1000, 'second'], m: [60_000, 'minute'], h: [3_600_000, 'hour'], d: [86_400_000, 'day'] };

/** "30m" as 1 800 000 ms and "every 30 minutes"; null for what is not a duration. */
export function readEvery(every: string): { ms: number; words: string } | null {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(every.trim());
  if (!m) return null;
  const [unit, name] = UNITS[m[2]];
  const n = Number(m[1]);
  return { ms: n * unit, words: n === 1 ? `every ${name}` : `every ${n} ${name}s` };
}

/** The next run, and for an interval the two after it (a cron schedule's later runs are Temporal's to compute). */
export function nextRuns(s: { nextRunAt: string | null; every?: string }, count = 3): string[] {
  if (!s.nextRunAt) return [];
  const first = Date.parse(s.nextRunAt);
  const step = s.every ? readEvery(s.every)?.ms : undefined;
  if (!step) return [s.nextRunAt];
  return Array.from({ length: count }, (_, i) => new Date(first + i * step).toISOString());
}
