// WORKER_MAX_ACTIVITIES: a worker process's activity slots; unset leaves the SDK's default, anything but a whole
// number >= 1 stops start-up naming the setting.
import { ConfigError, loadConfig } from '../../../src/config';

describe('WORKER_MAX_ACTIVITIES', () => {
  it('is undefined when unset or empty', () => {
    expect(loadConfig({}).workerMaxActivities).toBeUndefined();
    expect(loadConfig({ WORKER_MAX_ACTIVITIES: '' }).workerMaxActivities).toBeUndefined();
  });

  it('is the number it is set to', () => {
    expect(loadConfig({ WORKER_MAX_ACTIVITIES: '4' }).workerMaxActivities).toBe(4);
  });

  it.each(['0', '-2', '2.5', 'many'])('refuses %s, naming the setting', (value) => {
    expect(() => loadConfig({ WORKER_MAX_ACTIVITIES: value })).toThrow(ConfigError);
    expect(() => loadConfig({ WORKER_MAX_ACTIVITIES: value })).toThrow(/WORKER_MAX_ACTIVITIES must be a whole number >= 1/);
  });
});

describe('WORKER_MAX_WORKFLOW_TASKS and WORKER_MAX_CACHED_WORKFLOWS', () => {
  it('are parsed; unset leaves the SDK default; bad values are named', () => {
    expect(loadConfig({}).workerMaxWorkflowTasks).toBeUndefined();
    expect(loadConfig({}).workerMaxCachedWorkflows).toBeUndefined();
    expect(loadConfig({ WORKER_MAX_WORKFLOW_TASKS: '3' }).workerMaxWorkflowTasks).toBe(3);
    expect(loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: '0' }).workerMaxCachedWorkflows).toBe(0);
    expect(() => loadConfig({ WORKER_MAX_WORKFLOW_TASKS: '0' })).toThrow(/WORKER_MAX_WORKFLOW_TASKS must be a whole number >= 1/);
    expect(() => loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: '-1' })).toThrow(/WORKER_MAX_CACHED_WORKFLOWS must be a whole number >= 0/);
  });
});

describe('WORKER_MEMORY_TARGET_MB', () => {
  it('is 400 MB unset, the number of MB it is set to, 0 to turn the guard off; bad values are named', () => {
    expect(loadConfig({}).workerMemoryTargetBytes).toBe(400 * 1_048_576);
    expect(loadConfig({ WORKER_MEMORY_TARGET_MB: '350' }).workerMemoryTargetBytes).toBe(350 * 1_048_576);
    expect(loadConfig({ WORKER_MEMORY_TARGET_MB: '0' }).workerMemoryTargetBytes).toBe(0);
    expect(() => loadConfig({ WORKER_MEMORY_TARGET_MB: 'lots' })).toThrow(/WORKER_MEMORY_TARGET_MB must be a whole number >= 0/);
  });
});

describe('WORKER_BULK_LANE_NICE', () => {
  it('is 19 unset, the nice value it is set to (0 leaves the bulk lane alone); anything but 0..19 is named', () => {
    expect(loadConfig({}).workerBulkLaneNice).toBe(19);
    expect(loadConfig({ WORKER_BULK_LANE_NICE: '10' }).workerBulkLaneNice).toBe(10);
    expect(loadConfig({ WORKER_BULK_LANE_NICE: '0' }).workerBulkLaneNice).toBe(0);
    for (const bad of ['20', '-1', '2.5', 'low']) expect(() => loadConfig({ WORKER_BULK_LANE_NICE: bad })).toThrow(/WORKER_BULK_LANE_NICE must be a whole number 0\.\.19/);
  });
});

describe('WORKER_LANES', () => {
  it('is both unset, split, main or bulk when set so; anything else is named with the choices', () => {
    expect(loadConfig({}).workerLanes).toBe('both');
    expect(loadConfig({ WORKER_LANES: 'split' }).workerLanes).toBe('split');
    expect(loadConfig({ WORKER_LANES: 'main' }).workerLanes).toBe('main');
    expect(loadConfig({ WORKER_LANES: 'bulk' }).workerLanes).toBe('bulk');
    for (const bad of ['Bulk', 'all', ' ']) expect(() => loadConfig({ WORKER_LANES: bad })).toThrow(/WORKER_LANES must be one of both, split, main, bulk/);
  });
});
