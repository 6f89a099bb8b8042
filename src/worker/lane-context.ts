// Which lane the code running now works for (src/worker/lanes.ts): the bulk worker runs its activities, local ones
// included, inside `bulkLane`, so that what they wait for in the process (a title card's turn) can let the main
// lane's work go first. No Temporal imports: providers may ask.
import { AsyncLocalStorage } from 'node:async_hooks';

/** What the bulk lane's code can ask of the gate between the lanes. */
export interface BulkLaneTurn {
  /**
   * Undefined while the main lane is idle (go on now); else a promise that resolves once it is idle, or once this has
   * waited the gate's starve bound (src/worker/lanes.ts).
   */
  turn(): Promise<void> | undefined;
}

export const bulkLane = new AsyncLocalStorage<BulkLaneTurn>();

/** True inside an activity of the bulk lane (a tenant's burst past its share). */
export function inBulkLane(): boolean {
  return bulkLane.getStore() !== undefined;
}

/**
 * Inside the bulk lane while the main lane is busy: a promise to wait for, resolved once the main lane is idle (or
 * after a bound, so a burst never stalls); otherwise undefined (go on now). CPU-heavy steps (a title card) ask before
 * they start, so a step of the burst that reaches them while another tenant's pipeline works waits for it instead of
 * taking the event loop from it.
 */
export function bulkLaneTurn(): Promise<void> | undefined {
  return bulkLane.getStore()?.turn();
}
