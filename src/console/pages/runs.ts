// When a recurring schedule runs next. Temporal gives only the next run; the ones after it are worked out here: an
// interval's at fixed steps (a duration, not a wall-clock time, so summer time does not move it), a cron expression's
// on the wall clock of the schedule's zone (a time the clocks skip that day has no run; one they repeat, the first).
import { addDays, localDateOf, wallTimeToInstant } from './week';

const UNITS: Record<string, [number, string]> = { ms: [1, 'millisecond'], s: [1000, 'second'], m: [60_000, 'minute'], h: [3_600_000, 'hour'], d: [86_400_000, 'day'] };

/** "30m" as 1 800 000 ms and "every 30 minutes"; null for what is not a duration. */
export function readEvery(every: string): { ms: number; words: string } | null {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(every.trim());
  if (!m) return null;
  const [unit, name] = UNITS[m[2]];
  const n = Number(m[1]);
  return { ms: n * unit, words: n === 1 ? `every ${name}` : `every ${n} ${name}s` };
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const FIELDS: { min: number; max: number; names?: string[]; base?: number }[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: MONTHS, base: 1 },
  { min: 0, max: 7, names: DAYS, base: 0 },
];
const SHORTHANDS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** The values one cron field allows (`*`, `a`, `a-b`, each with `/step`, comma lists, names); null if unreadable. */
function expand(text: string, f: (typeof FIELDS)[number]): Set<number> | null {
  const value = (v: string): number | null => {
    if (/^\d{1,2}$/.test(v)) return Number(v);
    const i = f.names?.indexOf(v.toUpperCase()) ?? -1;
    return i >= 0 ? i + (f.base ?? 0) : null;
  };
  const out = new Set<number>();
  for (const item of text.split(',')) {
    const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(item);
    if (!m) return null;
    const step = m[2] === undefined ? 1 : Number(m[2]);
    const [from, to] = m[1] === '*' ? [f.min, f.max] : m[1].split('-').map(value);
    if (from === null || from === undefined || step < 1) return null;
    // "5/15" runs from 5 to the end of the field, as "5-59/15".
    const end = to === undefined ? (m[2] === undefined ? from : f.max) : to;
    if (end === null) return null;
    for (let v = from; v <= end; v += step) out.add(v);
  }
  return out;
}

/** The runs of a cron expression after `afterMs`, in `timeZone`, at most `count`, looking at most a year ahead. */
export function cronRunsAfter(expr: string, timeZone: string, afterMs: number, count: number): string[] {
  const fields = (SHORTHANDS[expr.trim().toLowerCase()] ?? expr.trim()).split(/\s+/);
  if (fields.length !== 5) return [];
  const sets = fields.map((text, i) => expand(text, FIELDS[i]));
  if (sets.some((set) => !set)) return [];
  const [minutes, hours, monthDays, months, weekDays] = sets as Set<number>[];
  if (weekDays.has(7)) weekDays.add(0);
  // Classic cron: when both day fields are restricted, a day matching either one runs.
  const either = fields[2] !== '*' && fields[4] !== '*';
  const runs: string[] = [];
  const sortedHours = [...hours].sort((a, b) => a - b);
  const sortedMinutes = [...minutes].sort((a, b) => a - b);
  let date = localDateOf(afterMs, timeZone);
  for (let day = 0; day < 370 && runs.length < count; day++, date = addDays(date, 1)) {
    const [y, mo, d] = date.split('-').map(Number);
    if (!months.has(mo)) continue;
    const dom = monthDays.has(d);
    const dow = weekDays.has(new Date(Date.UTC(y, mo - 1, d)).getUTCDay());
    if (!(either ? dom || dow : dom && dow)) continue;
    for (const h of sortedHours) {
      for (const m of sortedMinutes) {
        const wall = wallTimeToInstant(date, h, m, timeZone);
        if (wall.skipped || wall.instant <= afterMs) continue;
        runs.push(new Date(wall.instant).toISOString());
        if (runs.length === count) return runs;
      }
    }
  }
  return runs;
}

/** The next run (Temporal's) and the ones after it, `count` in all; none while paused. */
export function nextRuns(s: { nextRunAt: string | null; every?: string; cron?: string; timezone?: string }, count = 3): string[] {
  if (!s.nextRunAt) return [];
  const first = Date.parse(s.nextRunAt);
  if (s.cron) return [s.nextRunAt, ...cronRunsAfter(s.cron, s.timezone ?? 'UTC', first, count - 1)];
  const step = s.every ? readEvery(s.every)?.ms : undefined;
  if (!step) return [s.nextRunAt];
  return Array.from({ length: count }, (_, i) => new Date(first + i * step).toISOString());
}
