// An imitation provider in a process of its own, for tests whose oracle is the provider's clock. An imitation server in
// the test runner's process stamps a request when that process's event loop gets to it; late in a long in-band run the
// runner's heap is large and one garbage collection can hold every stamp back by a few hundred milliseconds, which
// moves requests closer together than they arrived. In its own small process the stamps are the arrival times.
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { RateLimitRule } from '../fakes/fake-control';
import { ROOT } from './env';

export interface FakeProcessStats {
  requests: { at: number; path: string; body: unknown }[];
  accepted: number;
  refused: number;
}

export interface FakeProcess {
  url: string;
  pid: number;
  enforceRateLimit(rule: RateLimitRule): Promise<void>;
  stats(): Promise<FakeProcessStats>;
  close(): Promise<void>;
}

export async function startFakeProcess(kind: 'openai', timeoutMs = 30_000): Promise<FakeProcess> {
  const child: ChildProcess = fork(join(ROOT, 'test/helpers/fake-process-main.ts'), [kind], {
    cwd: ROOT,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve(result: unknown): void; reject(err: Error): void }>();
  let nextId = 1;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the ${kind} imitation process did not start in ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code) => reject(new Error(`the ${kind} imitation process exited (${code}) before listening`)));
    child.on('message', (m: { url?: string; id?: number; result?: unknown }) => {
      if (m.url) {
        clearTimeout(timer);
        resolve(m.url);
      } else if (m.id !== undefined) {
        pending.get(m.id)?.resolve(m.result);
        pending.delete(m.id);
      }
    });
  });
  child.on('exit', (code) => {
    for (const p of pending.values()) p.reject(new Error(`the ${kind} imitation process exited (${code})`));
    pending.clear();
  });
  const ask = <T>(msg: Record<string, unknown>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (!child.connected) return reject(new Error(`the ${kind} imitation process is gone`));
      const id = nextId++;
      pending.set(id, { resolve: (r) => resolve(r as T), reject });
      child.send({ ...msg, id });
    });
  return {
    url,
    pid: child.pid!,
    enforceRateLimit: (rule) => ask<void>({ cmd: 'enforceRateLimit', rule }),
    stats: () => ask<FakeProcessStats>({ cmd: 'stats' }),
    async close() {
      if (child.exitCode !== null || !child.connected) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      await ask<void>({ cmd: 'close' }).catch(() => undefined);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
