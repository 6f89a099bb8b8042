// The bulk lane's threads are started at a lower OS priority: every thread its start created gets the nice value, the
// threads that were there before keep theirs. The oracle reads the nice values from /proc (field 19 of a thread's stat),
// not from the code under test.
import { readdirSync, readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { startedAtLowerPriority } from '../../../src/worker/thread-priority';

const linux = (() => {
  try {
    readdirSync('/proc/self/task');
    return true;
  } catch {
    return false;
  }
})();

function niceOf(tid: number): number {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  // pid (comm) state ppid ... : the fields after the ')' start at field 3; nice is field 19.
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19 - 3]);
}
const tids = () => readdirSync('/proc/self/task').map(Number);

const started: Worker[] = [];
afterAll(async () => {
  await Promise.all(started.map((w) => w.terminate()));
});

function startThread(): Promise<Worker> {
  const w = new Worker('setInterval(() => {}, 1000)', { eval: true });
  started.push(w);
  return new Promise((resolve) => w.once('online', () => resolve(w)));
}

(linux ? it : it.skip)('threads started inside get the nice value; the threads there before keep theirs', async () => {
  const before = new Map(tids().map((t) => [t, niceOf(t)]));
  const { lowered } = await startedAtLowerPriority(7, async () => {
    await startThread();
    await startThread();
  });
  const created = tids().filter((t) => !before.has(t));
  expect(created.length).toBeGreaterThanOrEqual(2);
  expect(lowered).toBe(created.length);
  for (const t of created) expect(niceOf(t)).toBe(7);
  for (const [t, nice] of before) if (tids().includes(t)) expect(niceOf(t)).toBe(nice);
});

(linux ? it : it.skip)('a nice value of 0 leaves new threads as they are', async () => {
  const before = new Set(tids());
  const { lowered } = await startedAtLowerPriority(0, async () => {
    await startThread();
  });
  expect(lowered).toBe(0);
  const base = niceOf(process.pid);
  for (const t of tids().filter((x) => !before.has(x))) expect(niceOf(t)).toBe(base);
});
