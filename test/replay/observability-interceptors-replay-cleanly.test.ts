// The workflow interceptors Herald bundles (the pipeline observer always, OpenTelemetry's when tracing is on) must not
// change a single command: a worker that starts with them, or with tracing newly turned on, takes over pipelines that
// were recorded without them. Every committed history replays against the workflow code bundled with both.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, Runtime, Worker } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../../src/worker/create-worker';
import { readHistoryFile } from './history-file';

jest.setTimeout(240_000);

const HISTORIES_DIR = path.join(__dirname, 'histories');
const quiet = { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} } as never;

try {
  Runtime.install({ logger: quiet, shutdownSignals: [], telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' }, forward: {} } } });
} catch {
  // Already installed in this process by an earlier file.
}

it('replays every committed history with the pipeline observer and the OpenTelemetry workflow interceptors bundled', async () => {
  const histories = readdirSync(HISTORIES_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((name) => ({ name, ...readHistoryFile(path.join(HISTORIES_DIR, name)) }));
  expect(histories.length).toBeGreaterThanOrEqual(10);
  // The paths as the worker resolves them (src/worker/create-worker.ts and src/observability/tracing.ts).
  const modules = [
    require.resolve('../../src/observability/workflow-interceptors'),
    require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors'),
  ];
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, workflowInterceptorModules: modules, logger: quiet });
  const failed: string[] = [];
  let i = 0;
  for await (const r of Worker.runReplayHistories({ workflowBundle: { code }, replayName: 'herald-replay-observability' }, histories)) {
    if (r.error) failed.push(`${histories[i].name}: ${r.error.name}: ${r.error.message}`);
    i++;
  }
  expect(i).toBe(histories.length);
  expect(failed).toEqual([]);
});
