// Which lane the code running now works for (src/worker/lanes.ts): the bulk worker runs its activities, local ones
// included, inside `bulkLane`, so that what they wait for in the process (a title card's turn) can let the main
// lane's work go first. No Temporal imports: providers may ask.
import { AsyncLocalStorage } from 'node:async_hooks';

export const bulkLane = new AsyncLocalStorage<true>();

/** True inside an activity of the bulk lane (a tenant's burst past its share). */
export function inBulkLane(): boolean {
  return bulkLane.getStore() === true;
}
