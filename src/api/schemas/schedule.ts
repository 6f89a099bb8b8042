import { z } from 'zod';
import { parseDuration } from '../../domain/duration';
import { durationString } from './common';
import { pipelineRequestSchema } from './pipeline';

export const MIN_EVERY_MS = 60_000;
const MAX_EVERY_MS = 366 * 86_400_000;

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const CRON_FIELDS: { name: string; min: number; max: number; names?: string[]; nameBase?: number }[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, nameBase: 1 },
  // 0 and 7 are both Sunday.
  { name: 'day of week', min: 0, max: 7, names: DAYS, nameBase: 0 },
];
/** Shorthands Temporal understands in place of the five fields. */
const CRON_SHORTHANDS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];

/**
 * Why a cron expression is not a valid 5-field one (minute hour day-of-month month day-of-week), or null when it is.
 * Each field: `*`, a value, a range `a-b`, either with a step `/n`, or a comma list of those; month and day-of-week
 * also take three-letter names. Temporal would reject most bad input too, but only with a generic error after the row
 * was written; checking here makes it a 400 that says which field is wrong.
 */
export function cronProblem(expr: string): string | null {
  const text = expr.trim();
  if (CRON_SHORTHANDS.includes(text.toLowerCase())) return null;
  const parts = text.split(/\s+/);
  if (parts.length !== 5) {
    return `cron must have 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}${text.startsWith('@every') ? '; use "every" for intervals' : ''}`;
  }
  for (const [i, field] of CRON_FIELDS.entries()) {
    const problem = cronFieldProblem(parts[i], field);
    if (problem) return `cron ${field.name} field "${parts[i]}": ${problem}`;
  }
  return null;
}

function cronFieldProblem(text: string, f: (typeof CRON_FIELDS)[number]): string | null {
  const value = (v: string): number | null => {
    if (/^\d{1,2}$/.test(v)) return Number(v);
    const idx = f.names?.indexOf(v.toUpperCase()) ?? -1;
    return idx >= 0 ? idx + (f.nameBase ?? 0) : null;
  };
  const range = `${f.min}-${f.max}${f.names ? ` or ${f.names[0]}-${f.names[f.names.length - 1]}` : ''}`;
  for (const item of text.split(',')) {
    const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(item);
    if (!m) return `"${item}" is not a value, range or step`;
    if (m[2] !== undefined && Number(m[2]) < 1) return 'a step must be at least 1';
    if (m[1] === '*') continue;
    const [from, to, ...rest] = m[1].split('-');
    if (rest.length) return `"${m[1]}" is not a range`;
    const a = value(from);
    const b = to === undefined ? a : value(to);
    if (a === null || b === null) return `"${m[1]}" is not a value (${range})`;
    if (a < f.min || a > f.max || b < f.min || b > f.max) return `${m[1]} is out of range (${range})`;
    if (a > b) return `range ${m[1]} runs backwards`;
  }
  return null;
}

/** The canonical IANA name of a time zone, or null when this runtime does not know it. */
export function canonicalTimeZone(name: string): string | null {
  try {
    const resolved = new Intl.DateTimeFormat(undefined, { timeZone: name }).resolvedOptions().timeZone;
    // Newer runtimes also accept offsets such as "+01:00"; Temporal's server wants a named zone.
    return /^[A-Za-z]/.test(resolved) ? resolved : null;
  } catch {
    return null;
  }
}

export const scheduleRequestSchema = z
  .strictObject({
    cron: z.string().max(200).optional().describe('5 fields: minute hour day-of-month month day-of-week, e.g. "0 9 * * MON-FRI"; or @daily, @hourly...'),
    every: durationString.optional().describe('an interval such as 30m, 1h or 1d; at least 1m'),
    timezone: z.string().min(1).max(100).optional().describe('IANA time zone for cron, e.g. Europe/Berlin; default UTC'),
    pipeline: pipelineRequestSchema,
  })
  .superRefine((s, ctx) => {
    if (s.cron !== undefined && s.every !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['cron'], message: 'give either cron or every, not both' });
    } else if (s.cron === undefined && s.every === undefined) {
      ctx.addIssue({ code: 'custom', path: ['cron'], message: 'one of cron or every is required' });
    }
    if (typeof s.cron === 'string') {
      const problem = cronProblem(s.cron);
      if (problem) ctx.addIssue({ code: 'custom', path: ['cron'], message: problem });
    }
    if (typeof s.every === 'string') {
      const ms = parseDuration(s.every);
      // null: the format check already reported it.
      if (ms !== null && (ms < MIN_EVERY_MS || ms > MAX_EVERY_MS)) ctx.addIssue({ code: 'custom', path: ['every'], message: 'every must be between 1m and 366d' });
      else if (ms !== null && ms % 1000 !== 0) ctx.addIssue({ code: 'custom', path: ['every'], message: 'every must be a whole number of seconds' });
    }
    if (typeof s.timezone === 'string' && canonicalTimeZone(s.timezone) === null) {
      ctx.addIssue({ code: 'custom', path: ['timezone'], message: `unknown time zone "${s.timezone}": use an IANA name such as Europe/Berlin or UTC` });
    }
    if (s.pipeline && typeof s.pipeline === 'object' && (s.pipeline as { publishAt?: unknown }).publishAt !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['pipeline', 'publishAt'], message: 'publishAt is not allowed in a recurring pipeline: each run publishes when it is ready' });
    }
  });

export const scheduleIdParams = z.object({ id: z.string().min(1).max(100) });
