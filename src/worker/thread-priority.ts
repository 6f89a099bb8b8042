// Lower the OS scheduling priority of the threads one step of the worker starts (Linux: a nice value belongs to a
// thread, and os.setPriority(tid) sets that thread's alone). Used for the bulk lane's SDK worker: its workflow thread and
// its core threads then get the CPU only when the main lane's threads (another tenant's pipeline) do not want it. Raising
// a nice value needs no privilege. Elsewhere (no /proc/self/task) it does nothing.
import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';

/** The process's thread ids now, or undefined where they cannot be listed. */
export function threadIds(): Set<number> | undefined {
  try {
    return new Set(readdirSync('/proc/self/task').map(Number));
  } catch {
    return undefined;
  }
}

/**
 * Runs `start` and gives every thread it started the nice value `nice` (0 leaves them). Returns start's value and how
 * many threads were lowered.
 */
export async function startedAtLowerPriority<T>(nice: number, start: () => Promise<T>): Promise<{ value: T; lowered: number }> {
  const before = nice > 0 ? threadIds() : undefined;
  const value = await start();
  if (!before) return { value, lowered: 0 };
  let lowered = 0;
  for (const tid of threadIds() ?? []) {
    if (before.has(tid)) continue;
    try {
      setPriority(tid, nice);
      lowered++;
    } catch {
      // The thread already ended, or the system refuses: the lane runs at normal priority.
    }
  }
  return { value, lowered };
}
