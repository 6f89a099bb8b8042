// Where the CLI writes: results to stdout, progress and problems to stderr (so `--json` output stays parseable), in
// colour only on a terminal and never with NO_COLOR.

export interface Output {
  json: boolean;
  /** A line of the result (stdout). */
  line(text?: string): void;
  /** A value as the API gave it, one JSON document per line (stdout). */
  value(v: unknown): void;
  /** Progress, notices and errors (stderr). */
  note(text: string): void;
  green(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

export function createOutput(opts: { json: boolean; color: boolean; stdout?: NodeJS.WritableStream; stderr?: NodeJS.WritableStream }): Output {
  const stdout = opts.stdout ?? process.stdout;
  const stderr = opts.stderr ?? process.stderr;
  const paint = (code: number) => (s: string) => (opts.color ? `\x1b[${code}m${s}\x1b[0m` : s);
  return {
    json: opts.json,
    line: (text = '') => void stdout.write(`${text}\n`),
    value: (v) => void stdout.write(`${JSON.stringify(v)}\n`),
    note: (text) => void stderr.write(`${text}\n`),
    green: paint(32),
    red: paint(31),
    yellow: paint(33),
    dim: paint(2),
    bold: paint(1),
  };
}

/** HH:MM:SS of now (UTC), the prefix of live lines. */
export const clock = (now = new Date()) => now.toISOString().slice(11, 19);

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/** Left-aligned columns, widths from the longest cell; ANSI colour codes do not count. */
export function table(rows: string[][]): string[] {
  const visible = (s: string) => s.replace(ANSI, '').length;
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, visible(cell))));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i] - visible(cell)))).join('  ').trimEnd());
}
