// Keeps a busy worker's resident memory near WORKER_MEMORY_TARGET_MB. Preparing pipelines (title cards above all:
// satori's layouts, the SVG strings and PNG buffers of every card) makes garbage faster than V8 collects its old
// generation, and V8 lets its heap grow well past what is live before a full collection: a worker preparing 10,000
// scheduled pipelines swung between 500 and 660 MB resident while its live heap was under 100 MB (BENCHMARKS.md
// "Worker memory with title cards"). Above the target, the guard asks V8 for a full collection, at most once every
// `minGapMs`; below it, it does nothing. The workflow threads' heaps are V8's to manage (the guard runs on the main
// thread only).

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
}

export interface MemoryGuard {
  stop(): void;
  /** Collections asked for so far. */
  readonly collections: number;
}

export function startMemoryGuard(o: MemoryGuardOptions): MemoryGuard {
  const rss = o.rss ?? (() => process.memoryUsage.rss());
  const collect = o.collect ?? fullCollection();
  const minGapMs = o.minGapMs ?? 2_000;
  let last = -Infinity;
  let collections = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    if (now - last < minGapMs) return;
    const beforeBytes = rss();
    if (beforeBytes <= o.targetBytes) return;
    collect();
    last = performance.now();
    collections++;
    o.onCollect?.({ beforeBytes, afterBytes: rss(), ms: last - now });
  }, o.checkEveryMs ?? 1_000);
  timer.unref();
  return {
    stop: () => clearInterval(timer),
    get collections() {
      return collections;
    },
  };
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
