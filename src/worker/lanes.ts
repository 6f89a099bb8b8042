// The two lanes of one worker process (issue 11, fairness between tenants). A tenant over its share (BURST_SHARE
// pipelines at work) starts its normal and low pipelines on `<queue>-bulk` (src/pipelines/start-options.ts); every
// other pipeline, and all other work, runs on the main queue. The process runs a worker on each, and the bulk worker's
// slots come from a gate that looks at the main worker: while the main worker has a task in hand (or had one within
// HOLD_MS), the bulk worker takes no more than a few tasks at once; when the main worker is idle, the bulk worker takes
// as many as the main one would (work-conserving: a burst alone runs at full speed).
//
// Why in the worker: Temporal's priority and fairness keys order the task queue, but on a CPU-bound worker another
// tenant's pipeline also waits for the CPU its tasks share with the burst's tasks already in the worker (8 workflow
// tasks with their local activities, 8 activities rendering title cards). Only the worker can keep those few. Slots are
// reserved before a poll, when the task (and its tenant) is not known yet, which is why the burst goes to a queue of
// its own: the queue says which lane a task is in.
import type { CustomSlotSupplier, SlotInfo, SlotMarkUsedContext, SlotPermit, SlotReleaseContext } from '@temporalio/worker';

/** How long after its last task the main lane still counts as busy: the gaps between one pipeline's tasks. */
export const HOLD_MS = 1000;

/**
 * What the bulk lane may start while the main lane is busy: nothing. Its tasks already in the worker finish; new ones
 * wait in the bulk queue (a few, 1 or 2, still took a quarter to a half of the 2 cores from the other tenant's
 * pipeline: a title card blocks the event loop its local activities need, and its low pipelines finished before the
 * main lane's critical ones).
 */
export const BULK_WHEN_CONTENDED = { workflowTasks: 0, activities: 0 } as const;

/**
 * A bulk lane held this long (the main lane never idle for HOLD_MS) still starts one task, so a burst never stalls;
 * a bulk-lane step held at its start (bulkTurn) goes on after this long too.
 */
export const STARVE_MS = 5000;

interface Waiter {
  sticky: boolean;
  resolve(p: SlotPermit): void;
}

/** What a workflow-task permit says about the poller it was reserved for, so its release is counted on the right side. */
interface Permit {
  sticky?: boolean;
}

/**
 * How many of `limit` slots the pollers of one kind (sticky or normal queue) may hold when the kinds are balanced: all
 * but one, so the other kind always has one; of a single slot, only the normal queue's poller (a task that waits on
 * the sticky queue past its schedule-to-start timeout moves to the normal queue and is taken there).
 */
export function kindCap(limit: number, sticky: boolean): number {
  if (limit >= 2) return limit - 1;
  return sticky ? 0 : limit;
}

/**
 * A counting slot supplier whose limit may change; the gate below makes the two lanes' suppliers from it.
 *
 * Workflow-task slots are balanced between the worker's two pollers (`balanceKinds`). Temporal's worker reserves a
 * slot before it polls and holds it for the whole long poll (up to a minute on an empty queue), and its sticky-queue
 * poller runs up to 8 polls at once. With a custom supplier Temporal cannot see how many slots there are, so it does
 * not keep one for the normal queue itself (it does for its fixed-size supplier): seen in the scheduled bench, the
 * sticky poller held all 8 slots polling an empty sticky queue (every cached pipeline waiting for its publish time)
 * while 130-199 pipelines whose tasks had moved to the normal queue waited there for minutes, taken one at a time as a
 * sticky poll expired. So neither kind may hold the last slot (kindCap).
 */
class Slots<SI extends SlotInfo> implements CustomSlotSupplier<SI> {
  readonly type = 'custom';
  reserved = 0;
  used = 0;
  /** Slots held for sticky-queue polls (workflow tasks, balanced suppliers only). */
  heldSticky = 0;
  private readonly waiters: Waiter[] = [];

  constructor(
    private readonly limit: () => number,
    private readonly onUse: () => void = () => undefined,
    private readonly onRelease: () => void = () => undefined,
    private readonly onGrant: () => void = () => undefined,
    private readonly balanceKinds = false,
  ) {}

  reserveSlot(ctx: { isSticky?: boolean } | undefined, abortSignal: AbortSignal): Promise<SlotPermit> {
    const sticky = this.stickyOf(ctx);
    if (this.mayGrant(sticky) && !this.waiters.some((w) => this.mayGrant(w.sticky))) return Promise.resolve(this.grant(sticky));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        sticky,
        resolve: (p) => {
          abortSignal.removeEventListener('abort', onAbort);
          resolve(p);
        },
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(abortSignal.reason);
      };
      if (abortSignal.aborted) return reject(abortSignal.reason);
      abortSignal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  tryReserveSlot(ctx?: { isSticky?: boolean }): SlotPermit | null {
    const sticky = this.stickyOf(ctx);
    return this.mayGrant(sticky) && !this.waiters.some((w) => this.mayGrant(w.sticky)) ? this.grant(sticky) : null;
  }

  markSlotUsed(_ctx?: SlotMarkUsedContext<SI>): void {
    this.used++;
    this.onUse();
  }

  releaseSlot(ctx: SlotReleaseContext<SI>): void {
    this.reserved--;
    if ((ctx.permit as Permit | undefined)?.sticky) this.heldSticky--;
    if (ctx.slotInfo) {
      this.used--;
      this.onRelease();
    }
    this.wake();
  }

  /** Hands free slots to waiting reservations, oldest first among those their kind's share still allows. */
  wake(): void {
    for (let i = 0; i < this.waiters.length && this.reserved < this.limit(); ) {
      const w = this.waiters[i];
      if (!this.mayGrant(w.sticky)) {
        i++;
        continue;
      }
      this.waiters.splice(i, 1);
      w.resolve(this.grant(w.sticky));
    }
  }

  get waiting(): number {
    return this.waiters.length;
  }

  private stickyOf(ctx: { isSticky?: boolean } | undefined): boolean {
    return this.balanceKinds && ctx?.isSticky === true;
  }

  private mayGrant(sticky: boolean): boolean {
    const limit = this.limit();
    if (this.reserved >= limit) return false;
    if (!this.balanceKinds) return true;
    const held = sticky ? this.heldSticky : this.reserved - this.heldSticky;
    return held < kindCap(limit, sticky);
  }

  private grant(sticky: boolean): SlotPermit {
    this.reserved++;
    if (sticky) this.heldSticky++;
    this.onGrant();
    return sticky ? ({ sticky: true } satisfies Permit) : {};
  }
}

export interface LaneSlots {
  workflowTasks: number;
  activities: number;
}

/**
 * The slot suppliers of one process's two workers: `main` (limits as given) and `bulk` (the same limits while the
 * main lane is idle, BULK_WHEN_CONTENDED while it is busy, one at a time once held for STARVE_MS). `holdMs`,
 * `starveMs` and `contended` are for tests.
 */
export function createLaneGate(
  slots: LaneSlots,
  o: {
    holdMs?: number;
    starveMs?: number;
    contended?: LaneSlots;
    /** The main lane runs in another process (WORKER_LANES=split): whether it is busy, as that process last said. */
    mainBusy?: () => boolean;
    /** Told each time the main lane turns busy or idle (for a bulk lane in another process). */
    onBusyChange?: (busy: boolean) => void;
  } = {},
) {
  const holdMs = o.holdMs ?? HOLD_MS;
  const starveMs = o.starveMs ?? STARVE_MS;
  const contended = o.contended ?? BULK_WHEN_CONTENDED;
  let busyUntil = 0;
  let lastBulkGrant = Date.now();
  const mainInHand = () => main.workflowTasks.used + main.activities.used;
  const localBusy = () => mainInHand() > 0 || Date.now() < busyUntil;
  const busy = o.mainBusy ?? localBusy;
  let told = false;
  const tell = () => {
    if (!o.onBusyChange) return;
    const now = localBusy();
    if (now !== told) o.onBusyChange((told = now));
  };
  const bulkLimit = (full: number, held: number) => {
    if (!busy()) return full;
    return Math.min(full, Date.now() - lastBulkGrant >= starveMs ? Math.max(held, 1) : held);
  };

  const used = () => {
    busyUntil = Number.POSITIVE_INFINITY;
    tell();
  };
  const released = () => {
    if (mainInHand() === 0) busyUntil = Date.now() + holdMs;
  };
  const granted = () => {
    lastBulkGrant = Date.now();
  };

  // Steps of the bulk lane already in the worker wait here, at their start (and a title card before it is drawn),
  // while the main lane is busy: the gate's slots hold back only new tasks, and the burst's tasks already taken (up to
  // every slot, taken while the main lane was idle) would otherwise share the event loop with the other tenant's
  // pipeline that has just arrived. Bounded by STARVE_MS each, so a burst never stalls.
  const turnWaiters: { since: number; resolve(): void }[] = [];
  let turnsHeld = 0;
  const releaseTurns = () => {
    const idle = !busy();
    const now = Date.now();
    for (let i = 0; i < turnWaiters.length; ) {
      const w = turnWaiters[i];
      if (idle || now - w.since >= starveMs) {
        turnWaiters.splice(i, 1);
        w.resolve();
      } else i++;
    }
  };

  const main = {
    workflowTasks: new Slots(() => slots.workflowTasks, used, released, undefined, true),
    activities: new Slots(() => slots.activities, used, released),
  };
  const bulk = {
    workflowTasks: new Slots(() => bulkLimit(slots.workflowTasks, contended.workflowTasks), undefined, undefined, granted, true),
    activities: new Slots(() => bulkLimit(slots.activities, contended.activities), undefined, undefined, granted),
  };
  // The bulk lane's limit grows with time (the hold ends, the lane starves): whoever waits is looked at a few times a
  // second, only while someone waits.
  // The same timer tells the other process when the hold has ended.
  const timer = setInterval(() => {
    if (bulk.workflowTasks.waiting) bulk.workflowTasks.wake();
    if (bulk.activities.waiting) bulk.activities.wake();
    if (turnWaiters.length) releaseTurns();
    tell();
  }, Math.max(10, Math.min(100, holdMs / 4)));
  timer.unref?.();
  return {
    main,
    bulk,
    /** True while the main lane has a task in hand or had one within the hold. */
    busy,
    /**
     * For a step of the bulk lane about to start: undefined while the main lane is idle (go on now), else a promise
     * resolved once it is idle or after STARVE_MS.
     */
    bulkTurn(): Promise<void> | undefined {
      if (!busy()) return undefined;
      turnsHeld++;
      return new Promise((resolve) => turnWaiters.push({ since: Date.now(), resolve }));
    },
    /** Bulk-lane steps waiting for their turn now, and held so far (tests, benches). */
    turns(): { waiting: number; held: number } {
      return { waiting: turnWaiters.length, held: turnsHeld };
    },
    stop(): void {
      clearInterval(timer);
      // Nothing waits on a stopped gate.
      for (const w of turnWaiters.splice(0)) w.resolve();
    },
  };
}
export type LaneGate = ReturnType<typeof createLaneGate>;
