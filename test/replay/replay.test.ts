// Replay safety: the committed histories of real pipelines (test/replay/histories, recorded by test/replay/record.ts)
// are replayed against the current workflow code with the SDK's replayer. A change to workflow code that would break
// a pipeline already running (approved and scheduled for next week, waiting on a quota, half published) fails here,
// before it is deployed. The proof that this test can fail: the real contentPipeline with two of its steps swapped
// fails replay with a DeterminismViolationError, and the same swap behind `patched` replays cleanly.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { HistoryAndWorkflowId } from '@temporalio/client';
import { Runtime, Worker, type ReplayWorkerOptions } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { readHistoryFile, workflowTypeOf } from './history-file';
import { bundleVariant, swapAdaptingSteps, swapAdaptingStepsPatched } from './workflow-variants';

jest.setTimeout(240_000);

const HISTORIES_DIR = path.join(__dirname, 'histories');
/**
 * One per kind of pipeline the issue names, recorded by the current code (lean pipelines: saves and adaptation as
 * local activities, publications in the pipeline's own history), and the same kinds as recorded before that change
 * (`v2-`, one publishTarget child per target beside each): both kinds may be running when a new worker starts.
 */
const SCENARIOS = ['dry-run-post', 'thread', 'approval-with-edits', 'reschedule', 'quota-wait', 'cancel'];
const LEAN_MARKER = 'lean-pipeline';
/** Whether the history holds the marker `patched(id)` records (its details name the patch). */
function hasPatchMarker(h: { history: unknown }, id: string): boolean {
  for (const e of ((h.history as { events?: unknown[] | null }).events ?? []) as { markerRecordedEventAttributes?: { details?: Record<string, { payloads?: { data?: Uint8Array | null }[] | null }> | null } | null }[]) {
    for (const payloads of Object.values(e.markerRecordedEventAttributes?.details ?? {})) {
      if ((payloads.payloads ?? []).some((p) => p.data && Buffer.from(p.data).toString('utf8').includes(id))) return true;
    }
  }
  return false;
}

try {
  // The swapped-steps replays make the SDK's core log each nondeterminism warning: expected here, so kept quiet.
  Runtime.install({
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } as never,
    shutdownSignals: [],
    telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' }, forward: {} } },
  });
} catch {
  // Already installed in this process by an earlier file.
}

function load(filter: (name: string, type: string) => boolean = () => true): (HistoryAndWorkflowId & { name: string; type: string })[] {
  return readdirSync(HISTORIES_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((name) => {
      const { workflowId, history } = readHistoryFile(path.join(HISTORIES_DIR, name));
      return { name, type: workflowTypeOf(history), workflowId, history };
    })
    .filter((h) => filter(h.name, h.type));
}

async function replay(options: ReplayWorkerOptions, histories: ReturnType<typeof load>) {
  const out: { name: string; error?: Error }[] = [];
  let i = 0;
  for await (const r of Worker.runReplayHistories(options, histories)) out.push({ name: histories[i++].name, error: r.error });
  return out;
}

/** A bundle of the workflow code as it is now (its own: the run's shared bundle file may be rewritten meanwhile). */
async function currentCode(): Promise<ReplayWorkerOptions> {
  return { workflowBundle: { code: await bundleVariant('current', (source) => source) } };
}

it('has a recorded history for every kind of pipeline, children included', () => {
  const all = load();
  const names = all.map((h) => h.name);
  for (const s of SCENARIOS) {
    const lean = all.find((h) => h.name === `${s}.json`);
    expect(lean?.type).toBe('contentPipeline');
    expect({ s, lean: hasPatchMarker(lean!, LEAN_MARKER) }).toEqual({ s, lean: true });
    expect(names.filter((n) => n.startsWith(`${s}.publish-`))).toEqual([]);
    const older = all.find((h) => h.name === `v2-${s}.json`);
    expect(older?.type).toBe('contentPipeline');
    expect({ s, lean: hasPatchMarker(older!, LEAN_MARKER) }).toEqual({ s, lean: false });
    // Every older pipeline that got as far as publishing has its children's histories too.
    if (s !== 'cancel') expect(names.filter((n) => n.startsWith(`v2-${s}.publish-`)).length).toBeGreaterThan(0);
  }
  expect(all.filter((h) => h.type === 'publishTarget').length).toBeGreaterThanOrEqual(8);
});

it('replays every committed history against the current workflow code', async () => {
  const histories = load();
  const results = await replay({ ...(await currentCode()), replayName: 'herald-replay-current' }, histories);
  expect(results).toHaveLength(histories.length);
  expect(results.filter((r) => r.error).map((r) => `${r.name}: ${r.error?.name}: ${r.error?.message}`)).toEqual([]);
  console.log(`replayed ${results.length} histories (${histories.filter((h) => h.type === 'contentPipeline').length} pipelines, ${histories.filter((h) => h.type === 'publishTarget').length} publications) without a determinism error`);
});

describe('the guard can fail', () => {
  const pipelines = () => load((_name, type) => type === 'contentPipeline');

  it('two steps of contentPipeline swapped: every recorded pipeline fails with a DeterminismViolationError', async () => {
    const code = await bundleVariant('swapped', swapAdaptingSteps);
    const histories = pipelines();
    const results = await replay({ workflowBundle: { code }, replayName: 'herald-replay-swapped' }, histories);
    expect(results).toHaveLength(histories.length);
    for (const r of results) {
      expect({ name: r.name, error: r.error?.name }).toEqual({ name: r.name, error: 'DeterminismViolationError' });
      expect(r.error).toBeInstanceOf(DeterminismViolationError);
    }
    console.log(`swapped steps: ${results[0]?.error?.message}`);
  });

  it('the same swap behind patched() replays every recorded pipeline cleanly', async () => {
    const code = await bundleVariant('patched', swapAdaptingStepsPatched);
    const histories = pipelines();
    const results = await replay({ workflowBundle: { code }, replayName: 'herald-replay-patched' }, histories);
    expect(results).toHaveLength(histories.length);
    expect(results.filter((r) => r.error).map((r) => `${r.name}: ${r.error?.message}`)).toEqual([]);
  });
});
