// What one worker admits at once when WORKER_MAX_ACTIVITIES / WORKER_MAX_WORKFLOW_TASKS are unset (npm start, npm run
// worker): a few slots, so that a backlog waits in Temporal's task queue, where priority and the tenant fairness key
// order it, rather than inside one worker. The activities' PostgreSQL pool follows the activity slots.
import { loadConfig } from '../../../src/config';
import { WORKER_DEFAULTS, workerSlots } from '../../../src/bootstrap/worker';

describe('workerSlots', () => {
  it('unset: far fewer than the SDK defaults (100 activities, 40 workflow tasks), and a pool of at least 10', () => {
    const slots = workerSlots(loadConfig({}));
    expect(slots).toEqual({ maxActivities: WORKER_DEFAULTS.maxActivities, maxWorkflowTasks: WORKER_DEFAULTS.maxWorkflowTasks, poolSize: 10 });
    expect(slots.maxActivities).toBeLessThanOrEqual(10);
    expect(slots.maxWorkflowTasks).toBeLessThanOrEqual(10);
    expect(slots.poolSize).toBeGreaterThanOrEqual(slots.maxActivities);
  });

  it('set: the settings win, and the pool grows with the activity slots', () => {
    expect(workerSlots(loadConfig({ WORKER_MAX_ACTIVITIES: '50', WORKER_MAX_WORKFLOW_TASKS: '20' }))).toEqual({ maxActivities: 50, maxWorkflowTasks: 20, poolSize: 52 });
    expect(workerSlots(loadConfig({ WORKER_MAX_ACTIVITIES: '2' })).poolSize).toBe(10);
  });
});
