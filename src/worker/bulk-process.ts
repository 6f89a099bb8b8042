// WORKER_LANES=split: the bulk lane (a tenant's burst past its share, src/worker/lanes.ts) in a child process of the
// worker, every thread of which runs at WORKER_BULK_LANE_NICE. In one process the two lanes share one event loop: the
// burst's activities and local activities already in hand (title cards, state saves) run at the main lane's priority
// when another tenant's pipeline arrives, and a nice value cannot tell apart work on one thread. In a process of its
// own the burst gets the CPU only when the main lane's process does not want it. The gate stays: the parent tells the
// child over IPC each time its main lane turns busy or idle, and the child's bulk slots follow (the same rule as in one
// process). The child answers the parent's /metrics with its registry (summed into the parent's), and stops when the
// parent goes.
import { fork, type ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

/** A registry's getMetricsAsJSON(). */
type Metrics = object[];

type ToChild = { type: 'main-busy'; busy: boolean } | { type: 'metrics'; id: number };
type ToParent = { type: 'ready' } | { type: 'metrics'; id: number; metrics: Metrics };

/** How long the parent's /metrics waits for the child's registry before answering without it. */
const METRICS_TIMEOUT_MS = 2_000;

export interface BulkLaneProcess {
  readonly pid: number | undefined;
  /** Resolves once the child's worker polls. */
  readonly ready: Promise<void>;
  /** Resolves when the child exits, for whatever reason. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running(): boolean;
  setMainBusy(busy: boolean): void;
  /** The child's Herald metrics, or null when it does not answer in time. */
  metrics(): Promise<Metrics | null>;
  /** SIGTERM (its in-flight activities finish, as in any worker's shutdown), SIGKILL after `graceMs`. */
  stop(graceMs: number): Promise<void>;
}

/** Starts `entry` (the worker's own entry point) as the bulk lane's process, with `env` (WORKER_LANES=bulk). */
export function startBulkLaneProcess(opts: { entry: string; env: NodeJS.ProcessEnv; logger: Logger }): BulkLaneProcess {
  const child: ChildProcess = fork(opts.entry, [], { env: opts.env, execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let exitedWith: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      exitedWith = { code, signal };
      resolve(exitedWith);
    }),
  );
  let mainBusy = false;
  let nextId = 1;
  const waiting = new Map<number, (m: Metrics | null) => void>();
  const send = (m: ToChild) => {
    if (child.connected) child.send(m, (err) => err && opts.logger.debug({ err }, 'bulk lane process: message not sent'));
  };
  const ready = new Promise<void>((resolve, reject) => {
    child.on('message', (m: ToParent) => {
      if (m.type === 'ready') {
        send({ type: 'main-busy', busy: mainBusy });
        resolve();
      } else if (m.type === 'metrics') {
        waiting.get(m.id)?.(m.metrics);
        waiting.delete(m.id);
      }
    });
    void exited.then(({ code, signal }) => reject(new Error(`the bulk lane process exited before it polled (code ${code}, signal ${signal})`)));
  });
  ready.catch(() => undefined);
  void exited.then(() => {
    for (const answer of waiting.values()) answer(null);
    waiting.clear();
  });
  return {
    pid: child.pid,
    ready,
    exited,
    running: () => exitedWith === null,
    setMainBusy(busy) {
      mainBusy = busy;
      send({ type: 'main-busy', busy });
    },
    metrics() {
      if (!child.connected) return Promise.resolve(null);
      const id = nextId++;
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          resolve(null);
        }, METRICS_TIMEOUT_MS);
        waiting.set(id, (m) => {
          clearTimeout(timer);
          resolve(m);
        });
        send({ type: 'metrics', id });
      });
    },
    async stop(graceMs) {
      if (exitedWith) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * The child's side: whether the parent's main lane is busy (as it last said), its registry for the parent's /metrics,
 * `ready()` once the worker polls, and a stop (`onParentGone`) when the parent's channel closes.
 */
export function followParentWorker(registry: Registry, onParentGone: () => void): { mainBusy: () => boolean; ready(): void } {
  let busy = false;
  process.on('message', (m: ToChild) => {
    if (m.type === 'main-busy') busy = m.busy;
    else if (m.type === 'metrics') {
      void registry.getMetricsAsJSON().then(
        (metrics) => process.send?.({ type: 'metrics', id: m.id, metrics } satisfies ToParent),
        () => process.send?.({ type: 'metrics', id: m.id, metrics: [] } satisfies ToParent),
      );
    }
  });
  process.once('disconnect', onParentGone);
  return {
    mainBusy: () => busy,
    ready: () => process.send?.({ type: 'ready' } satisfies ToParent),
  };
}
