// Runs `herald` the way a user does: bin/herald.cjs (what `npx herald` runs) in a child process, or `npx herald`
// itself, with an environment that holds only what the test gives it (no HERALD_* of the caller's shell).
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../../helpers/env';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr together, in the order they arrived. */
  out: string;
}

export interface RunningCli {
  child: ChildProcess;
  /** Everything written so far, stdout and stderr together. */
  output(): string;
  stdout(): string;
  /** Resolves once the output matches; rejects at the deadline with what was written. */
  waitForOutput(re: RegExp, timeoutMs?: number): Promise<void>;
  done: Promise<CliResult>;
}

function cliEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = { ...process.env };
  for (const name of ['HERALD_API_URL', 'HERALD_API_KEY', 'DATABASE_URL', 'PORT', 'HOST', 'FORCE_COLOR']) delete base[name];
  return { ...base, NO_COLOR: '1', ...env };
}

export function startHerald(args: string[], env: Record<string, string>, opts: { npx?: boolean } = {}): RunningCli {
  const [cmd, argv] = opts.npx ? ['npx', ['--no-install', 'herald', ...args]] : [process.execPath, [path.join(ROOT, 'bin/herald.cjs'), ...args]];
  const child = spawn(cmd, argv, { cwd: ROOT, env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    stdout += d;
    out += d;
  });
  child.stderr!.on('data', (d) => {
    stderr += d;
    out += d;
  });
  const done = new Promise<CliResult>((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr, out })));
  return {
    child,
    output: () => out,
    stdout: () => stdout,
    async waitForOutput(re, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (!re.test(out)) {
        if (Date.now() > deadline) throw new Error(`herald ${args.join(' ')}: no output matching ${re} within ${timeoutMs} ms; output:\n${out}`);
        if (child.exitCode !== null) throw new Error(`herald ${args.join(' ')} exited ${child.exitCode} before printing ${re}; output:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    done,
  };
}

export function herald(args: string[], env: Record<string, string>, opts: { npx?: boolean } = {}): Promise<CliResult> {
  return startHerald(args, env, opts).done;
}

/** The JSON documents a `--json` command printed, one per line. */
export function jsonLines(stdout: string): any[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
}
