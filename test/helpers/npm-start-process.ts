// `npm start` as a user runs it (node scripts/run.mjs start), pointed at the test run's Temporal dev server so no
// second one starts, with its own port, data directory and task queue. Used by test/system/npm-start-*.test.ts
// and bench/load.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { ROOT } from './env';

export interface NpmStart {
  child: ChildProcess;
  port: number;
  /** Everything the process tree wrote to stdout and stderr so far. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnNpmStart(opts: {
  dataDir: string;
  port: number;
  apiKeys: string;
  taskQueue: string;
  temporalAddress: string;
  env?: Record<string, string>;
  /**
   * Another checkout to run (bench/load measures an earlier version side by side); default this one. It is started
   * without scripts/run.mjs (TEMPORAL_ADDRESS is set, so run.mjs would only pass through), because run.mjs may run
   * `npm ci`, which must never touch the node_modules such a checkout borrows from this one.
   */
  root?: string;
}): NpmStart {
  let out = '';
  const args = opts.root ? ['--import', 'tsx', 'src/dev/start.ts'] : ['scripts/run.mjs', 'start'];
  const child = spawn(process.execPath, args, {
    cwd: opts.root ?? ROOT,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: opts.temporalAddress,
      TEMPORAL_TASK_QUEUE: opts.taskQueue,
      DATA_DIR: opts.dataDir,
      PORT: String(opts.port),
      HOST: '127.0.0.1',
      API_KEYS: opts.apiKeys,
      DATABASE_URL: '',
      REDIS_URL: '',
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, port: opts.port, output: () => out, exited };
}

export async function waitReady(p: NpmStart, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (p.child.exitCode !== null || p.child.signalCode !== null) break;
    try {
      const res = await fetch(`http://127.0.0.1:${p.port}/ready`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`herald did not become ready; output:\n${p.output().slice(-4000)}`);
}

/** Ctrl-C as a terminal would deliver it (run.mjs forwards it); resolves with the exit code and how long it took. */
export async function stopNpmStart(p: NpmStart, graceMs?: number): Promise<{ code: number | null; ms: number; killed: boolean }> {
  const t0 = Date.now();
  let killed = false;
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGINT');
  // With graceMs (the bench's earlier versions can hang in shutdown): SIGKILL after that long, as run.mjs does after 5 s.
  const timer = graceMs
    ? setTimeout(() => {
        killed = true;
        p.child.kill('SIGKILL');
      }, graceMs)
    : null;
  const { code } = await p.exited;
  if (timer) clearTimeout(timer);
  return { code, ms: Date.now() - t0, killed };
}

/** Every live process whose command line mentions `needle` (read from /proc; Linux). */
export function processesMentioning(needle: string): { pid: number; cmd: string }[] {
  const found: { pid: number; cmd: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      const state = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (/\) Z /.test(state)) continue; // exited, not yet reaped
      if (cmd.includes(needle)) found.push({ pid: Number(entry), cmd });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

export function parentOf(pid: number): number | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number.parseInt(s.slice(s.lastIndexOf(')') + 2).split(' ')[1], 10);
  } catch {
    return null;
  }
}

export const clusterDirOf = (dataDir: string) => path.join(dataDir, 'postgres');

/** Database protocol errors a shared or broken session produces (the PGlite multiplexer's symptoms, and kin). */
export const PROTOCOL_ERROR = /prepared statement .* does not exist|portal .* does not exist|bind message supplies|unnamed prepared statement|protocol (error|violation)|unexpected message (type|from)|current transaction is aborted/i;

/** Waits until `npm start` has printed a line matching `pattern`; the error shows the end of its output. */
export async function waitPrinted(p: NpmStart, pattern: RegExp, timeoutMs = 60_000): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const m = pattern.exec(p.output());
    if (m) return m;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`npm start did not print ${pattern}; output:\n${p.output().slice(-4000)}`);
}

/** After a test: stops `npm start` if still running, kills its embedded PostgreSQL if it was left behind, removes the data directory. */
export async function cleanUpNpmStart(p: NpmStart | null, dataDir: string | undefined): Promise<void> {
  if (p && p.child.exitCode === null && p.child.signalCode === null) await stopNpmStart(p);
  if (!dataDir) return;
  for (const left of processesMentioning(clusterDirOf(dataDir))) {
    try {
      process.kill(left.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  await rm(dataDir, { recursive: true, force: true });
}
