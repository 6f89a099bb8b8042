// A worker process as a user runs it (`node --import tsx src/worker/main.ts`), for tests that kill workers: its output
// collected, and when it started polling.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, temporalAddress, testDatabaseUrl } from './env';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface WorkerProc {
  n: number;
  child: ChildProcess;
  startedAt: number;
  /** When it logged "worker polling" (null until then). */
  readyAt: number | null;
  exited: Promise<void>;
  /** Everything it wrote to stdout and stderr so far. */
  output: string;
}

/** Worker number `n`, with `env` as its whole environment. */
export function spawnWorkerProcess(n: number, env: Record<string, string>): WorkerProc {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const proc: WorkerProc = {
    n,
    child,
    startedAt: Date.now(),
    readyAt: null,
    output: '',
    exited: new Promise<void>((resolve) => child.once('exit', () => resolve())),
  };
  const onData = (d: Buffer) => {
    const text = d.toString();
    proc.output += text;
    if (proc.readyAt === null && text.includes('worker polling')) proc.readyAt = Date.now();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  return proc;
}

export const alive = (p: WorkerProc) => p.child.exitCode === null && p.child.signalCode === null;

/** Until every one of `ps` polls; fails at once, with its output, if one exits first. */
export async function waitReady(ps: WorkerProc[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const dead = ps.find((p) => !alive(p));
    if (dead) throw new Error(`worker ${dead.n} exited while starting:\n${dead.output.slice(-3000)}`);
    if (ps.every((p) => p.readyAt !== null)) return;
    await sleep(200);
  }
  throw new Error(`workers did not start polling within ${timeoutMs} ms:\n${ps.map((p) => p.output.slice(-1500)).join('\n---\n')}`);
}

/**
 * The environment of a worker process serving a test harness (started with `withWorker: false`): the run's database and
 * Temporal, the harness's task queue, encryption key and base URL, offline text and card images, plus `extra`.
 */
export function harnessWorkerEnv(h: { taskQueue: string; baseUrl: string }, encryptionKey: Buffer, extra: Record<string, string>): Record<string, string> {
  return {
    ...(process.env as Record<string, string>),
    DATABASE_URL: testDatabaseUrl(),
    TEMPORAL_ADDRESS: temporalAddress(),
    TEMPORAL_TASK_QUEUE: h.taskQueue,
    TOKEN_ENCRYPTION_KEY: encryptionKey.toString('base64'),
    PUBLIC_BASE_URL: h.baseUrl,
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
    TEXT_PROVIDERS: 'offline',
    IMAGE_SOURCES: 'card',
    ...extra,
  };
}

/** SIGKILL for every one still alive, up to 5 s for them to exit, then each one's output to logDir/worker-<n>.log. */
export async function stopWorkerProcesses(procs: WorkerProc[], logDir: string): Promise<void> {
  for (const p of procs) if (alive(p)) p.child.kill('SIGKILL');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(procs.map((p) => p.exited)), new Promise((r) => (timer = setTimeout(r, 5_000)))]);
  clearTimeout(timer);
  try {
    for (const p of procs) writeFileSync(path.join(logDir, `worker-${p.n}.log`), p.output);
  } catch {
    // Logs are a convenience for whoever investigates a failure.
  }
}
