// Calendar arithmetic for the plan page, in one IANA time zone, with nothing but Intl. A week is named by the local
// date of its Monday ("2026-03-23"), so moving between weeks is date arithmetic and never adds 7 × 24 hours across a
// daylight-saving change; each day's bounds are instants computed from that zone's own midnight, so a 23- or 25-hour
// day holds exactly the posts a person in that zone would call "that day".

/** A local calendar date, "YYYY-MM-DD". */
export type LocalDate = string;

export interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 1 = Monday … 7 = Sunday (ISO). */
  weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      weekday: 'short',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

/** What a wall clock in `timeZone` shows at `instant` (epoch ms). */
export function localParts(instant: number, timeZone: string): LocalParts {
  const parts: Record<string, string> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(instant))) parts[p.type] = p.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour) % 24,
    minute: Number(parts.minute),
    second: Number(parts.second),
    weekday: WEEKDAYS[parts.weekday] ?? 1,
  };
}

/** The zone's offset from UTC at `instant`, in ms (Berlin in summer: +7 200 000). */
export function offsetAt(instant: number, timeZone: string): number {
  const p = localParts(instant, timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(instant / 1000) * 1000;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

export function localDateOf(instant: number, timeZone: string): LocalDate {
  const p = localParts(instant, timeZone);
  return `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}`;
}

function parseDate(date: LocalDate): [number, number, number] {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) throw new Error(`not a date: ${date}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** Calendar arithmetic: the date `days` after `date` (negative: before). */
export function addDays(date: LocalDate, days: number): LocalDate {
  const [y, mo, d] = parseDate(date);
  const t = new Date(Date.UTC(y, mo - 1, d + days));
  return `${pad(t.getUTCFullYear(), 4)}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
}

export interface WallTime {
  /** The instant (epoch ms) a clock in the zone shows this wall time, or the first one after a skipped hour. */
  instant: number;
  /** The wall time does not exist (clocks jumped over it); `instant` is the moment the clocks jumped to. */
  skipped: boolean;
  /** The wall time happens twice (clocks went back); `instant` is the first. */
  ambiguous: boolean;
}

/** The instant at which a wall clock in `timeZone` shows `date` at hour:minute. */
export function wallTimeToInstant(date: LocalDate, hour: number, minute: number, timeZone: string): WallTime {
  const [y, mo, d] = parseDate(date);
  const naive = Date.UTC(y, mo - 1, d, hour, minute);
  // The offset can differ by at most a day's worth either side; trying the offsets found just before and just after
  // the naive instant finds every instant that shows this wall time.
  const offsets = new Set([offsetAt(naive - 86_400_000, timeZone), offsetAt(naive, timeZone), offsetAt(naive + 86_400_000, timeZone)]);
  const matches = [...offsets]
    .map((o) => naive - o)
    .filter((t) => {
      const p = localParts(t, timeZone);
      return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute) === naive;
    })
    .sort((a, b) => a - b);
  if (matches.length > 0) return { instant: matches[0], skipped: false, ambiguous: matches.length > 1 };
  // In a gap: the instant of the jump is where the wall clock passes over the asked-for time; with the offset before
  // the jump, naive - offsetBefore lies after the jump, and the jump is the latest instant showing an earlier time.
  const before = offsetAt(naive - 86_400_000, timeZone);
  let lo = naive - Math.max(...offsets) - 86_400_000;
  let hi = naive - before;
  while (hi - lo > 1000) {
    const mid = Math.floor((lo + hi) / 2 / 1000) * 1000;
    const p = localParts(mid, timeZone);
    if (Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) < naive) lo = mid;
    else hi = mid;
  }
  return { instant: hi, skipped: true, ambiguous: false };
}

/** The first instant of `date` in `timeZone` (its midnight, or when the clocks jumped to if midnight was skipped). */
export function startOfDay(date: LocalDate, timeZone: string): number {
  return wallTimeToInstant(date, 0, 0, timeZone).instant;
}

/** The Monday of the week that holds `instant`, in `timeZone`. */
export function weekOf(instant: number, timeZone: string): LocalDate {
  const p = localParts(instant, timeZone);
  return addDays(localDateOf(instant, timeZone), 1 - p.weekday);
}

export interface CalendarItem {
  id: string;
  /** ISO 8601 instant */
  publishAt: string;
}

export interface CalendarDay<T> {
  date: LocalDate;
  /** epoch ms, inclusive */
  start: number;
  /** epoch ms, exclusive: the next day's start */
  end: number;
  items: { item: T; time: string }[];
}

/**
 * The seven days from `monday` in `timeZone`, each with the items whose publishAt falls in it, earliest first, each
 * with its local time ("09:30"). Items outside the week are left out.
 */
export function bucketWeek<T extends CalendarItem>(items: readonly T[], monday: LocalDate, timeZone: string): CalendarDay<T>[] {
  const days: CalendarDay<T>[] = [];
  for (let i = 0; i < 7; i++) {
    const date = addDays(monday, i);
    days.push({ date, start: startOfDay(date, timeZone), end: startOfDay(addDays(date, 1), timeZone), items: [] });
  }
  const sorted = items
    .map((item) => ({ item, at: Date.parse(item.publishAt) }))
    .filter((x) => !Number.isNaN(x.at))
    .sort((a, b) => a.at - b.at || a.item.id.localeCompare(b.item.id));
  for (const { item, at } of sorted) {
    const day = days.find((d) => at >= d.start && at < d.end);
    if (!day) continue;
    const p = localParts(at, timeZone);
    day.items.push({ item, time: `${pad(p.hour)}:${pad(p.minute)}` });
  }
  return days;
}

/** "+01:00" style offset for an ISO 8601 time. */
function isoOffset(offsetMs: number): string {
  const total = Math.round(offsetMs / 60_000);
  const sign = total < 0 ? '-' : '+';
  const abs = Math.abs(total);
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** An instant written as the zone's wall time with its offset: "2026-03-29T09:00:00+02:00". */
export function toZonedIso(instant: number, timeZone: string): string {
  const p = localParts(instant, timeZone);
  return `${localDateOf(instant, timeZone)}T${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}${isoOffset(offsetAt(instant, timeZone))}`;
}

/** The value an <input type="datetime-local"> shows for `instant` in `timeZone`: "2026-03-29T09:00". */
export function toInputValue(instant: number, timeZone: string): string {
  const p = localParts(instant, timeZone);
  return `${localDateOf(instant, timeZone)}T${pad(p.hour)}:${pad(p.minute)}`;
}

/**
 * What a person typed into a datetime-local input, read as a wall time in `timeZone`: the ISO time to send (with the
 * zone's offset, so the API sees exactly the instant meant) and whether the clocks skip or repeat it. Null when the
 * value is not a date and time.
 */
export function fromInputValue(value: string, timeZone: string): (WallTime & { iso: string }) | null {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})/.exec(value);
  if (!m) return null;
  const hour = Number(m[2]);
  const minute = Number(m[3]);
  if (hour > 23 || minute > 59) return null;
  const [y, mo, d] = parseDate(m[1]);
  const check = new Date(Date.UTC(y, mo - 1, d));
  if (check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return null;
  const wall = wallTimeToInstant(m[1], hour, minute, timeZone);
  return { ...wall, iso: toZonedIso(wall.instant, timeZone) };
}

/** "23 – 29 March 2026" style label for the week from `monday`. */
export function weekLabel(monday: LocalDate, locale?: string): string {
  const [y1, m1, d1] = parseDate(monday);
  const [y2, m2, d2] = parseDate(addDays(monday, 6));
  const fmt = (y: number, m: number, d: number, opts: Intl.DateTimeFormatOptions) =>
    new Intl.DateTimeFormat(locale, { timeZone: 'UTC', ...opts }).format(new Date(Date.UTC(y, m - 1, d)));
  const end = fmt(y2, m2, d2, { day: 'numeric', month: 'long', year: 'numeric' });
  const start = fmt(y1, m1, d1, y1 === y2 ? (m1 === m2 ? { day: 'numeric' } : { day: 'numeric', month: 'long' }) : { day: 'numeric', month: 'long', year: 'numeric' });
  return `${start} – ${end}`;
}

/** "Mon 23" style label for one day of the calendar. */
export function dayLabel(date: LocalDate, locale?: string): string {
  const [y, m, d] = parseDate(date);
  return new Intl.DateTimeFormat(locale, { timeZone: 'UTC', weekday: 'short', day: 'numeric', month: 'short' }).format(new Date(Date.UTC(y, m - 1, d)));
}

/** An ISO time as UTC ("…Z"), for machine-readable attributes: the API may keep the offset it was sent. */
export function utcIso(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : new Date(t).toISOString();
}
