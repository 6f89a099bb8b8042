// A worker process as a user runs it (`node --import tsx src/worker/main.ts`), for tests that kill workers: its output
// collected, and when it started polling.
import { spawn, type ChildProcess } from 'node:child_process';
import { ROOT } from './env';

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
