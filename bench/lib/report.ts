// Printing a table to the console and writing bench/results/<name>.json with the machine it ran on.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const BENCH_ROOT = path.resolve(__dirname, '..');
export const RESULTS_DIR = path.join(BENCH_ROOT, 'results');

export type Cell = string | number | null | undefined;

function show(v: Cell): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return '-';
    if (Number.isInteger(v)) return v.toLocaleString('en-US');
    const abs = Math.abs(v);
    return v.toFixed(abs >= 100 ? 0 : abs >= 10 ? 1 : 2);
  }
  return v;
}

/** A plain-text table: first column left-aligned, the rest right-aligned. Returns the text (also printed). */
export function printTable(title: string, headers: string[], rows: Cell[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(show))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const text = [`\n${title}`, line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
  console.log(text);
  return text;
}

/** The same rows as a Markdown table (handy for pasting into BENCHMARKS.md). */
export function markdownTable(headers: string[], rows: Cell[][]): string {
  const out = [`| ${headers.join(' | ')} |`, `|${headers.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const r of rows) out.push(`| ${r.map(show).join(' | ')} |`);
  return out.join('\n');
}

/**
 * CPU milliseconds this process spends on a fixed piece of JavaScript (JSON of a list page's size written and read,
 * and a sort), the least of three: how fast this machine is, so that absolute numbers from different machines (a list's
 * p99, a card's time) can be compared. CPU time, not wall time, so the load of the moment weighs less.
 */
export function referenceWorkMs(): number {
  const items = Array.from({ length: 100 }, (_, i) => ({ id: `pl_${i.toString(16).padStart(20, '0')}`, status: 'published', topic: 'x'.repeat(200 + i), targets: ['x', 'linkedin', 'mastodon', 'bluesky'], n: i }));
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const start = process.cpuUsage();
    let sum = 0;
    for (let i = 0; i < 200; i++) sum += (JSON.parse(JSON.stringify(items)) as unknown[]).length;
    const numbers = Array.from({ length: 200_000 }, (_, i) => (i * 7919) % 100_003);
    numbers.sort((a, b) => a - b);
    const used = process.cpuUsage(start);
    if (sum + numbers[0] < 0) throw new Error('unreachable');
    best = Math.min(best, (used.user + used.system) / 1000);
  }
  return Math.round(best * 10) / 10;
}

export function machineInfo() {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform} ${os.release()} ${process.arch}`,
    cpuCount: cpus.length,
    cpuModel: cpus[0]?.model?.trim() ?? 'unknown',
    totalMemMb: Math.round(os.totalmem() / 1024 / 1024),
    loadAvg1m: Math.round(os.loadavg()[0] * 100) / 100,
    referenceWorkMs: referenceWorkMs(),
  };
}

/** Writes bench/results/<name>.json ({ bench, machine, ...data }) and returns its path. */
export function writeResults(name: string, data: Record<string, unknown>): string {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${name}.json`);
  fs.writeFileSync(file, `${JSON.stringify({ bench: name, machine: machineInfo(), ...data }, null, 2)}\n`);
  return file;
}
