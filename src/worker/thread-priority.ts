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

/** Gives each of `tids` the nice value `nice`; how many took it (a thread may have ended, or the system refuses). */
function lower(tids: Iterable<number>, nice: number): number {
  let lowered = 0;
  for (const tid of tids) {
    try {
      setPriority(tid, nice);
      lowered++;
    } catch {
      // The thread already ended, or the system refuses: it runs at normal priority.
    }
  }
  return lowered;
}

/**
 * Runs `start` and gives every thread it started the nice value `nice` (0 leaves them). Returns start's value and how
 * many threads were lowered.
 */
export async function startedAtLowerPriority<T>(nice: number, start: () => Promise<T>): Promise<{ value: T; lowered: number }> {
  const before = nice > 0 ? threadIds() : undefined;
  const value = await start();
  if (!before) return { value, lowered: 0 };
  return { value, lowered: lower([...(threadIds() ?? [])].filter((tid) => !before.has(tid)), nice) };
}

/** Gives every thread of the process the nice value `nice` (threads started later inherit it from their creator). */
export function lowerEveryThread(nice: number): number {
  return lower(threadIds() ?? [], nice);
}
