// Small statistics helpers shared by the benchmarks. No dependencies.

/** The q-quantile (0..1) of `sorted` (ascending), nearest-rank. NaN when empty. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export interface Summary {
  n: number;
  min: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Count, mean and the usual percentiles of `values` (any unit; the caller knows which). */
export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((s, v) => s + v, 0);
  return {
    n: sorted.length,
    min: sorted[0] ?? NaN,
    mean: sorted.length ? sum / sorted.length : NaN,
    p50: quantile(sorted, 0.5),
    p95: quantile(sorted, 0.95),
    p99: quantile(sorted, 0.99),
    max: sorted[sorted.length - 1] ?? NaN,
  };
}

/** Rounds to `digits` significant-ish decimals for JSON output (keeps files small and diffable). */
export function round(v: number, digits = 2): number {
  if (!Number.isFinite(v)) return v;
  const k = 10 ** digits;
  return Math.round(v * k) / k;
}

/** Rounds every number in a Summary. */
export function roundSummary(s: Summary, digits = 2): Summary {
  return {
    n: s.n,
    min: round(s.min, digits),
    mean: round(s.mean, digits),
    p50: round(s.p50, digits),
    p95: round(s.p95, digits),
    p99: round(s.p99, digits),
    max: round(s.max, digits),
  };
}

export const MB = 1024 * 1024;
export const toMb = (bytes: number) => round(bytes / MB, 1);

/** process.memoryUsage() in MB, rounded. */
export function memoryMb(m: NodeJS.MemoryUsage = process.memoryUsage()) {
  return { rssMb: toMb(m.rss), heapUsedMb: toMb(m.heapUsed), heapTotalMb: toMb(m.heapTotal), externalMb: toMb(m.external) };
}

/** The median, averaging the two middle values of an even count (for a handful of rounds). NaN when empty. */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
