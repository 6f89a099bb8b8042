// How many workflows one worker keeps in its sticky cache when WORKER_MAX_CACHED_WORKFLOWS is unset (npm start, npm run
// worker): 100, not the SDK's default that grows with the heap limit (about 2,300 with 4 GB), so pipelines waiting
// for their publish time leave the cache instead of holding the worker's memory. 0 (no cache) stays 0.
import { loadConfig } from '../../../src/config';
import { DEFAULT_MAX_CACHED_WORKFLOWS, WORKER_DEFAULTS, workerCacheSize } from '../../../src/bootstrap/worker';

describe('workerCacheSize', () => {
  it('unset: 100, above the workflow task and activity slots a worker runs at once', () => {
    expect(workerCacheSize(loadConfig({}))).toBe(DEFAULT_MAX_CACHED_WORKFLOWS);
    expect(DEFAULT_MAX_CACHED_WORKFLOWS).toBe(100);
    expect(DEFAULT_MAX_CACHED_WORKFLOWS).toBeGreaterThan(WORKER_DEFAULTS.maxActivities + WORKER_DEFAULTS.maxWorkflowTasks);
  });

  it('set: the setting wins, 0 included', () => {
    expect(workerCacheSize(loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: '500' }))).toBe(500);
    expect(workerCacheSize(loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: '0' }))).toBe(0);
  });
});
