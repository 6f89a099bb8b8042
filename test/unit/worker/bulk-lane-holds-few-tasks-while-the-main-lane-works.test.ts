// The gate between a worker's two lanes (src/worker/lanes.ts): the bulk lane (a tenant's burst past its share) gets
// every slot while the main lane is idle, and only a few while the main lane has work in hand or had some within the
// hold; once the main lane has been idle for the hold, the bulk lane's waiting reservations are granted again.
import type { SlotPermit } from '@temporalio/worker';
import { createLaneGate, type LaneGate } from '../../../src/worker/lanes';

const SLOTS = { workflowTasks: 4, activities: 4 };
const CONTENDED = { workflowTasks: 2, activities: 1 };
const activityInfo = { type: 'activity' as const, activityType: 'illustrateWith' };

let gate: LaneGate;
afterEach(() => gate?.stop());

/** Reservations granted so far out of `n` asked for now (they resolve on a later tick when granted at all). */
async function reserve(slots: LaneGate['bulk']['activities'], n: number, signal = new AbortController().signal, ctxOf: (i: number) => object = () => ({})): Promise<{ granted: () => number; permits: SlotPermit[] }> {
  const permits: SlotPermit[] = [];
  for (let i = 0; i < n; i++) void slots.reserveSlot(ctxOf(i) as never, signal).then((p) => permits.push(p), () => undefined);
  await new Promise((r) => setImmediate(r));
  return { granted: () => permits.length, permits };
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

it('the bulk lane takes every slot while the main lane is idle (a burst alone runs at full speed)', async () => {
  gate = createLaneGate(SLOTS, { holdMs: 50, contended: CONTENDED });
  const bulk = await reserve(gate.bulk.activities, 6);
  expect(bulk.granted()).toBe(4);
  expect(gate.busy()).toBe(false);
});

it('while the main lane works the bulk lane is held to a few, and gets its slots back after the hold', async () => {
  gate = createLaneGate(SLOTS, { holdMs: 150, contended: CONTENDED });
  // Main-lane work arrives: a reserved slot used for a task.
  await gate.main.activities.reserveSlot({} as never, new AbortController().signal);
  gate.main.activities.markSlotUsed({ slotInfo: activityInfo, permit: {} });
  expect(gate.busy()).toBe(true);

  const bulk = await reserve(gate.bulk.activities, 4);
  expect(bulk.granted()).toBe(CONTENDED.activities);
  // Workflow-task slots are shared between the sticky and the normal queue's pollers (neither takes the last one).
  const bulkTasks = await reserve(gate.bulk.workflowTasks, 4, undefined, (i) => ({ isSticky: i % 2 === 0 }));
  expect(bulkTasks.granted()).toBe(CONTENDED.workflowTasks);

  // The bulk task finishes: its slot goes to the next waiting reservation, still only one at a time.
  gate.bulk.activities.releaseSlot({ slotInfo: activityInfo, permit: bulk.permits[0] });
  await new Promise((r) => setImmediate(r));
  expect(bulk.granted()).toBe(CONTENDED.activities + 1);
  expect(gate.bulk.activities.reserved).toBe(CONTENDED.activities);

  // The main lane's task ends: the bulk lane stays held for the hold (the gap before that pipeline's next task)...
  const endedAt = Date.now();
  gate.main.activities.releaseSlot({ slotInfo: activityInfo, permit: {} });
  await new Promise((r) => setImmediate(r));
  expect(gate.busy()).toBe(true);
  expect(bulk.granted()).toBe(CONTENDED.activities + 1);
  // ...and then gets every slot back without anyone asking again.
  await until(() => bulk.granted() === 4 && bulkTasks.granted() === SLOTS.workflowTasks);
  expect(Date.now() - endedAt).toBeGreaterThanOrEqual(140);
  expect(gate.busy()).toBe(false);
});

it('main-lane work again within the hold keeps the bulk lane held', async () => {
  gate = createLaneGate(SLOTS, { holdMs: 100, contended: CONTENDED });
  const use = () => gate.main.workflowTasks.markSlotUsed({ slotInfo: { type: 'workflow', workflowType: 'contentPipeline', isSticky: true }, permit: {} });
  const release = () => gate.main.workflowTasks.releaseSlot({ slotInfo: { type: 'workflow', workflowType: 'contentPipeline', isSticky: true }, permit: {} });
  await gate.main.workflowTasks.reserveSlot({} as never, new AbortController().signal);
  use();
  release();
  await new Promise((r) => setTimeout(r, 60));
  await gate.main.workflowTasks.reserveSlot({} as never, new AbortController().signal);
  use(); // the same pipeline's next task, inside the hold
  await new Promise((r) => setTimeout(r, 80)); // past the first hold
  expect(gate.busy()).toBe(true);
  const bulk = await reserve(gate.bulk.activities, 3);
  expect(bulk.granted()).toBe(CONTENDED.activities);
  release();
  await until(() => bulk.granted() === 3);
});

it('a reservation the worker gives up on is dropped, not granted later', async () => {
  gate = createLaneGate(SLOTS, { holdMs: 30, contended: CONTENDED });
  gate.main.activities.markSlotUsed({ slotInfo: activityInfo, permit: {} });
  await reserve(gate.bulk.activities, 1);
  const ac = new AbortController();
  const abandoned = gate.bulk.activities.reserveSlot({} as never, ac.signal);
  expect(gate.bulk.activities.waiting).toBe(1);
  ac.abort(new Error('poller stopped'));
  await expect(abandoned).rejects.toThrow('poller stopped');
  expect(gate.bulk.activities.waiting).toBe(0);
  gate.main.activities.releaseSlot({ slotInfo: activityInfo, permit: {} });
  await until(() => !gate.busy());
  await new Promise((r) => setTimeout(r, 10));
  expect(gate.bulk.activities.reserved).toBe(1);
});

it('by default the bulk lane starts nothing new while the main lane works, yet one task at a time once starved', async () => {
  gate = createLaneGate(SLOTS, { holdMs: 50, starveMs: 300 });
  gate.main.workflowTasks.markSlotUsed({ slotInfo: { type: 'workflow', workflowType: 'contentPipeline', isSticky: false }, permit: {} });
  await new Promise((r) => setTimeout(r, 350)); // the bulk lane last started something at creation
  const bulk = await reserve(gate.bulk.activities, 3);
  const askedAt = Date.now();
  expect(bulk.granted()).toBe(1); // starved: one goes
  gate.bulk.activities.releaseSlot({ slotInfo: activityInfo, permit: bulk.permits[0] });
  await new Promise((r) => setTimeout(r, 100));
  expect(bulk.granted()).toBe(1); // that one done, the lane is held again...
  await until(() => bulk.granted() === 2, 5000); // ...until it has starved once more
  expect(Date.now() - askedAt).toBeGreaterThanOrEqual(250);
  expect(gate.bulk.activities.reserved).toBe(1);
});

it('across processes (WORKER_LANES=split): the main gate tells each busy/idle change, and a bulk gate following it holds and releases', async () => {
  const told: boolean[] = [];
  gate = createLaneGate(SLOTS, { holdMs: 100, contended: CONTENDED, onBusyChange: (b) => told.push(b) });
  // The child's gate: its own main lane is never used; it follows what the parent last said.
  let parentSays = false;
  const child = createLaneGate(SLOTS, { holdMs: 100, contended: CONTENDED, mainBusy: () => parentSays });
  try {
    await gate.main.activities.reserveSlot({} as never, new AbortController().signal);
    gate.main.activities.markSlotUsed({ slotInfo: activityInfo, permit: {} });
    expect(told).toEqual([true]);
    parentSays = told[told.length - 1];
    const bulk = await reserve(child.bulk.activities, 4);
    expect(bulk.granted()).toBe(CONTENDED.activities);

    // The main lane's task ends: idle is told once the hold is over (by the gate's timer), not at the release.
    gate.main.activities.releaseSlot({ slotInfo: activityInfo, permit: {} });
    expect(told).toEqual([true]);
    await until(() => told.length === 2, 5000);
    expect(told).toEqual([true, false]);
    parentSays = told[told.length - 1];
    await until(() => bulk.granted() === SLOTS.activities, 5000);
  } finally {
    child.stop();
  }
});
