// Keeps a busy worker's resident memory near WORKER_MEMORY_TARGET_MB. Preparing pipelines (title cards above all:
// satori's layouts, the SVG strings and PNG buffers of every card) makes garbage faster than V8 collects its old
// generation, and V8 lets its heap grow well past what is live before a full collection: a worker preparing 10,000
// scheduled pipelines swung between 500 and 660 MB resident while its live heap was under 100 MB (BENCHMARKS.md
// "Worker memory with title cards"). Above the target, the guard asks V8 for a full collection, at most once every
// `minGapMs`, and tells V8 to favour size over speed (--optimize-for-size: smaller heap growth in every isolate, the
// workflow thread's included, which a collection on the main thread does not reach) until resident memory is back
// under FAVOUR_SIZE_UNTIL of the target; below the target it does nothing.

import v8 from 'node:v8';
import vm from 'node:vm';

export interface MemoryGuardOptions {
  /** Resident memory above which a full collection is asked for. */
  targetBytes: number;
  /** How often resident memory is read (a cheap system call). */
  checkEveryMs?: number;
  /** Least time between two collections the guard asks for, so a worker that stays above the target is not all GC. */
  minGapMs?: number;
  /** Resident memory now; default process.memoryUsage.rss. */
  rss?: () => number;
  /** A full collection; default V8's (fullCollection()). */
  collect?: () => void;
  /** After each collection the guard asked for: resident memory before and after it, and how long it took. */
  onCollect?: (c: { beforeBytes: number; afterBytes: number; ms: number }) => void;
  /**
   * Told true when resident memory goes above the target and false once it is back under FAVOUR_SIZE_UNTIL of it:
   * default V8's --optimize-for-size, on and off (favourSize()).
   */
  favourSize?: (on: boolean) => void;
}

/** Below this share of the target, V8 goes back to favouring speed. */
export const FAVOUR_SIZE_UNTIL = 0.85;

export interface MemoryGuard {
  stop(): void;
  /** Collections asked for so far. */
  readonly collections: number;
}

export function startMemoryGuard(o: MemoryGuardOptions): MemoryGuard {
  const rss = o.rss ?? (() => process.memoryUsage.rss());
  const collect = o.collect ?? fullCollection();
  const minGapMs = o.minGapMs ?? 2_000;
  const favour = o.favourSize ?? favourSize;
  let last = -Infinity;
  let collections = 0;
  let favouring = false;
  const timer = setInterval(() => {
    const now = performance.now();
    const seen = rss();
    if (!favouring && seen > o.targetBytes) favour((favouring = true));
    else if (favouring && seen < o.targetBytes * FAVOUR_SIZE_UNTIL) favour((favouring = false));
    if (now - last < minGapMs) return;
    const beforeBytes = seen;
    if (beforeBytes <= o.targetBytes) return;
    collect();
    last = performance.now();
    collections++;
    o.onCollect?.({ beforeBytes, afterBytes: rss(), ms: last - now });
  }, o.checkEveryMs ?? 1_000);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      if (favouring) favour((favouring = false));
    },
    get collections() {
      return collections;
    },
  };
}

/**
 * V8's --optimize-for-size, turned on or off. V8 reads it as it decides how far a heap may grow before its next full
 * collection, in every isolate of the process: the workflow thread's too, which a collection asked for on the main
 * thread does not reach, and whose heap swung by 50 MB between its own collections while a worker prepared scheduled
 * pipelines (BENCHMARKS.md, "Seventh look").
 */
export function favourSize(on: boolean): void {
  v8.setFlagsFromString(on ? '--optimize-for-size' : '--no-optimize-for-size');
}

let collector: (() => void) | undefined;

/**
 * V8's full (mark-compact) collection, as `--expose-gc` gives it, without the process having to be started with that
 * flag: the flag is turned on just long enough to take `gc` from a fresh context, then off again, so no other context
 * (a workflow sandbox among them) is given it.
 */
export function fullCollection(): () => void {
  if (collector) return collector;
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') return (collector = exposed);
  v8.setFlagsFromString('--expose-gc');
  try {
    collector = vm.runInNewContext('gc') as () => void;
  } finally {
    v8.setFlagsFromString('--no-expose-gc');
  }
  return collector;
}
