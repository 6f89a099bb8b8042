// The gate's slots hold back only the bulk lane's new tasks; steps of the burst it took while the main lane was idle
// are already in the worker. Each of them waits at its start (the bulk worker's activity interceptor, local activities
// too) and a bulk card before it is drawn, while the main lane is busy: once the main lane is idle, or after the starve
// bound, it goes on. Run through the SDK's activity environment with the interceptor the bulk worker is made with.
import { CancelledFailure, Context, type Info } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { CARDS_AT_ONCE, renderCard } from '../../../src/providers/images/card';
import { inBulkLaneActivities } from '../../../src/worker/create-worker';
import { bulkLane } from '../../../src/worker/lane-context';
import { createLaneGate, type LaneGate } from '../../../src/worker/lanes';

const SLOTS = { workflowTasks: 4, activities: 4 };
const activityInfo = { type: 'activity' as const, activityType: 'illustrateWith' };

let gate: LaneGate;
afterEach(() => gate?.stop());

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The main lane takes a task and keeps it until the returned function is called. */
function mainLaneWorks(g: LaneGate): () => void {
  g.main.activities.markSlotUsed({ slotInfo: activityInfo, permit: {} });
  return () => g.main.activities.releaseSlot({ slotInfo: activityInfo, permit: {} });
}

function bulkEnv(g: LaneGate, info: Partial<Info> = {}): MockActivityEnvironment {
  return new MockActivityEnvironment({ heartbeatTimeoutMs: 8_000, ...info }, { interceptors: [inBulkLaneActivities(g)] });
}

it('a bulk step starts at once while the main lane is idle', async () => {
  gate = createLaneGate(SLOTS, { holdMs: 50, starveMs: 60_000 });
  let inLane = false;
  await bulkEnv(gate).run(async () => {
    inLane = bulkLane.getStore() !== undefined;
  });
  expect(inLane).toBe(true);
  expect(gate.turns()).toEqual({ waiting: 0, held: 0 });
});

it('a bulk step waits while the main lane works, heartbeating, and starts once the main lane is idle', async () => {
  gate = createLaneGate(SLOTS, { holdMs: 100, starveMs: 60_000 });
  const release = mainLaneWorks(gate);
  const env = bulkEnv(gate, { heartbeatDetails: { sent: 2 } });
  const beats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => beats.push(d));
  let startedAt = 0;
  const run = env.run(async () => {
    startedAt = Date.now();
    return 'done';
  });
  await until(() => gate.turns().waiting === 1);
  // Held past a heartbeat interval (2 s): it heartbeats its last details again, and has not started.
  await until(() => beats.length >= 1, 15_000);
  expect(beats[0]).toEqual({ sent: 2 });
  expect(startedAt).toBe(0);

  const releasedAt = Date.now();
  release();
  await expect(run).resolves.toBe('done');
  // Not before the main lane had been idle for the hold (the gap between one pipeline's steps).
  expect(startedAt - releasedAt).toBeGreaterThanOrEqual(90);
  expect(gate.turns()).toEqual({ waiting: 0, held: 1 });
});

it('a bulk local activity waits without heartbeating (it has none)', async () => {
  gate = createLaneGate(SLOTS, { holdMs: 50, starveMs: 60_000 });
  const release = mainLaneWorks(gate);
  const env = bulkEnv(gate, { isLocal: true });
  const beats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => beats.push(d));
  let started = false;
  const run = env.run(async () => {
    started = true;
  });
  await until(() => gate.turns().waiting === 1);
  await new Promise((r) => setTimeout(r, 2_500));
  expect(started).toBe(false);
  expect(beats).toEqual([]);
  release();
  await run;
  expect(started).toBe(true);
});

it('a bulk step held longer than the starve bound goes on, the main lane still busy', async () => {
  gate = createLaneGate(SLOTS, { holdMs: 50, starveMs: 400 });
  mainLaneWorks(gate);
  const askedAt = Date.now();
  await bulkEnv(gate).run(async () => undefined);
  expect(Date.now() - askedAt).toBeGreaterThanOrEqual(390);
  expect(gate.busy()).toBe(true);
});

it('a cancelled bulk step stops waiting and never starts', async () => {
  gate = createLaneGate(SLOTS, { holdMs: 50, starveMs: 60_000 });
  mainLaneWorks(gate);
  const env = bulkEnv(gate);
  let started = false;
  const run = env.run(async () => {
    started = true;
    Context.current();
  });
  await until(() => gate.turns().waiting === 1);
  env.cancel();
  await expect(run).rejects.toBeInstanceOf(CancelledFailure);
  expect(started).toBe(false);
});

it('a bulk card waits for its turn before it is drawn; a main-lane card meanwhile is drawn at once', async () => {
  let letGo: () => void = () => undefined;
  const turn = new Promise<void>((r) => (letGo = r));
  const done: string[] = [];
  const draw = (name: string) => renderCard({ title: `Card ${name}`, subtitle: 'turns', width: 600, height: 315 }).then(() => void done.push(name));
  const bulk = bulkLane.run({ turn: () => turn }, () => draw('bulk'));
  // Two main-lane cards one after the other: a turn was free for the bulk card all along (CARDS_AT_ONCE >= 1), so
  // drawn at once it would be done by the second.
  expect(CARDS_AT_ONCE).toBeGreaterThanOrEqual(1);
  await draw('main-1');
  await draw('main-2');
  expect(done).toEqual(['main-1', 'main-2']);
  letGo();
  await bulk;
  expect(done).toEqual(['main-1', 'main-2', 'bulk']);
}, 60_000);
