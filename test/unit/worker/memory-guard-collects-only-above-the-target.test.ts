// The worker's memory guard asks V8 for a full collection when resident memory is above WORKER_MEMORY_TARGET_MB, not
// more often than its gap, and never below the target; the collection it uses really frees what is no longer reachable.
import vm from 'node:vm';
import { FAVOUR_SIZE_UNTIL, fullCollection, startMemoryGuard } from '../../../src/worker/memory-guard';

const until = async (cond: () => boolean, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('the worker memory guard', () => {
  it('collects while above the target, at most once a gap, and not once below it', async () => {
    let rss = 500;
    const at: number[] = [];
    const seen: { beforeBytes: number; afterBytes: number }[] = [];
    const favours: boolean[] = [];
    const guard = startMemoryGuard({
      targetBytes: 400,
      checkEveryMs: 5,
      minGapMs: 200,
      rss: () => rss,
      collect: () => {
        at.push(performance.now());
        rss -= 50;
      },
      onCollect: (c) => seen.push(c),
      favourSize: (on) => favours.push(on),
    });
    try {
      await until(() => at.length >= 2);
      // 500 -> 450 -> 400: at the target now, so no third collection, however long it waits.
      expect(at[1] - at[0]).toBeGreaterThanOrEqual(200);
      expect(seen).toEqual([
        { beforeBytes: 500, afterBytes: 450, ms: expect.any(Number) },
        { beforeBytes: 450, afterBytes: 400, ms: expect.any(Number) },
      ]);
      const checksBelow = guard.collections;
      rss = 390;
      // Long enough for many checks and several gaps.
      const t0 = performance.now();
      await until(() => performance.now() - t0 > 600);
      expect(guard.collections).toBe(checksBelow);
      // Above the target V8 was told to favour size, once; just under the target it still does (no flapping)...
      expect(favours).toEqual([true]);
      // ...and well under it (FAVOUR_SIZE_UNTIL), speed again.
      rss = 400 * FAVOUR_SIZE_UNTIL - 1;
      await until(() => favours.length === 2);
      expect(favours).toEqual([true, false]);
      // Above again: collects again, and favours size again.
      rss = 401;
      await until(() => guard.collections === 3);
      expect(favours).toEqual([true, false, true]);
    } finally {
      guard.stop();
    }
  });

  it('uses a full collection that frees unreachable memory, without the process being started with --expose-gc', () => {
    expect(typeof (globalThis as { gc?: unknown }).gc).toBe('undefined');
    const collect = fullCollection();
    const holder: { garbage?: number[][] } = { garbage: Array.from({ length: 200 }, () => Array.from({ length: 5_000 }, (_, i) => i + 0.5)) };
    const withGarbage = process.memoryUsage().heapUsed;
    expect(holder.garbage).toHaveLength(200);
    delete holder.garbage;
    collect();
    const after = process.memoryUsage().heapUsed;
    // 200 x 5,000 doubles: about 8 MB that only a collection gives back.
    expect(withGarbage - after).toBeGreaterThan(6 * 1_048_576);
    // The flag was put back: a new context is not given `gc`.
    expect(vm.runInNewContext('typeof gc')).toBe('undefined');
  });
});
