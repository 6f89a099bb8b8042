// Workflow-task slots shared between a worker's two pollers (src/worker/lanes.ts, kindCap). Temporal's worker reserves
// a slot before each poll and holds it for the whole long poll; its sticky-queue poller runs up to 8 at once. If those
// polls hold every slot while the sticky queue is empty (every cached pipeline waiting for its publish time), a task on
// the normal queue (a new pipeline, or one whose task moved off the sticky queue) waits until a sticky poll expires:
// in the scheduled bench, 130-199 pipelines stood in `generating` for minutes that way. Here the supplier Herald gives
// Temporal keeps a slot for the other kind whatever order the reservations come in.
import type { SlotPermit } from '@temporalio/worker';
import { createLaneGate, kindCap, type LaneGate } from '../../../src/worker/lanes';

const SLOTS = { workflowTasks: 8, activities: 8 };
const sticky = { isSticky: true } as never;
const normal = { isSticky: false } as never;
const wfInfo = { type: 'workflow' as const, workflowType: 'contentPipeline', isSticky: true };

let gate: LaneGate;
afterEach(() => gate?.stop());

/** Reservations of one kind asked for now; `granted()` counts those granted so far. */
async function reserve(slots: LaneGate['main']['workflowTasks'], ctx: never, n: number): Promise<{ granted: () => number; permits: SlotPermit[] }> {
  const permits: SlotPermit[] = [];
  for (let i = 0; i < n; i++) void slots.reserveSlot(ctx, new AbortController().signal).then((p) => permits.push(p), () => undefined);
  await new Promise((r) => setImmediate(r));
  return { granted: () => permits.length, permits };
}

it("the sticky poller's reservations stop one short of the slots, and the normal queue's poller gets the last one at once", async () => {
  gate = createLaneGate(SLOTS);
  const stickyPolls = await reserve(gate.main.workflowTasks, sticky, 9);
  expect(stickyPolls.granted()).toBe(SLOTS.workflowTasks - 1);
  const normalPoll = await reserve(gate.main.workflowTasks, normal, 1);
  expect(normalPoll.granted()).toBe(1);
  expect(gate.main.workflowTasks.reserved).toBe(SLOTS.workflowTasks);
});

it('a freed slot goes to a waiting normal-queue poll before an older sticky one that already holds its share', async () => {
  gate = createLaneGate(SLOTS);
  const stickyPolls = await reserve(gate.main.workflowTasks, sticky, 7);
  const normalPolls = await reserve(gate.main.workflowTasks, normal, 1);
  expect(stickyPolls.granted() + normalPolls.granted()).toBe(8);
  const olderSticky = await reserve(gate.main.workflowTasks, sticky, 1); // waits first
  const laterNormal = await reserve(gate.main.workflowTasks, normal, 1); // waits second
  expect(olderSticky.granted() + laterNormal.granted()).toBe(0);

  // The normal-queue task ends: its slot goes to the normal-queue poll although the sticky one asked earlier.
  gate.main.workflowTasks.markSlotUsed({ slotInfo: { ...wfInfo, isSticky: false }, permit: normalPolls.permits[0] });
  gate.main.workflowTasks.releaseSlot({ slotInfo: { ...wfInfo, isSticky: false }, permit: normalPolls.permits[0] });
  await new Promise((r) => setImmediate(r));
  expect(laterNormal.granted()).toBe(1);
  expect(olderSticky.granted()).toBe(0);

  // A sticky poll returns: its slot goes to the waiting sticky poll (its kind is back under its share).
  gate.main.workflowTasks.releaseSlot({ slotInfo: undefined as never, permit: stickyPolls.permits[0] });
  await new Promise((r) => setImmediate(r));
  expect(olderSticky.granted()).toBe(1);
  expect(gate.main.workflowTasks.reserved).toBe(8);
});

it("the normal queue's poller cannot hold every slot either", async () => {
  gate = createLaneGate({ workflowTasks: 3, activities: 3 });
  const normalPolls = await reserve(gate.main.workflowTasks, normal, 3);
  expect(normalPolls.granted()).toBe(2);
  const stickyPoll = await reserve(gate.main.workflowTasks, sticky, 1);
  expect(stickyPoll.granted()).toBe(1);
});

it("of a single slot (the bulk lane held, starving), only the normal queue's poller takes it", async () => {
  expect(kindCap(1, true)).toBe(0);
  expect(kindCap(1, false)).toBe(1);
  // The bulk lane while the main lane is busy: no slots, then one once it has starved.
  gate = createLaneGate(SLOTS, { holdMs: 60_000, starveMs: 50, contended: { workflowTasks: 0, activities: 0 } });
  await gate.main.activities.reserveSlot({} as never, new AbortController().signal);
  gate.main.activities.markSlotUsed({ slotInfo: { type: 'activity', activityType: 'illustrateWith' }, permit: {} });
  const stickyPoll = await reserve(gate.bulk.workflowTasks, sticky, 1);
  const normalPoll = await reserve(gate.bulk.workflowTasks, normal, 1);
  const deadline = Date.now() + 5000;
  while (normalPoll.granted() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  expect(normalPoll.granted()).toBe(1);
  expect(stickyPoll.granted()).toBe(0);
});

it('activity slots are not split: every one can be taken', async () => {
  gate = createLaneGate(SLOTS);
  const acts = await reserve(gate.main.activities as never, {} as never, 8);
  expect(acts.granted()).toBe(8);
});
