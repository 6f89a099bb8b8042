// Process and network helpers for scripts/run.mjs. Plain Node, no npm dependencies.
import { spawn } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';

export const isWindows = process.platform === 'win32';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves true when something accepts TCP connections on host:port within timeoutMs. */
export function canConnect(host, port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok) => {
      socket.removeAllListeners();
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** A TCP port that was free a moment ago (the OS picks it). */
export function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// Children still running when this process exits get SIGKILL, so nothing is left behind after a crash.
const live = new Set();
process.on('exit', () => {
  for (const child of live) {
    try {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

/**
 * Spawns a child and tracks it. `detached` (ignored on Windows) puts the child in its own process group, so a Ctrl-C
 * on the terminal reaches only this process, which then forwards exactly one signal (a second SIGINT makes
 * the app's shutdown (src/bootstrap/shutdown.ts) exit at once with code 1).
 * Returns { child, exited: Promise<{code, signal}> }.
 */
export function spawnTracked(command, args, options = {}) {
  const { detached = false, ...rest } = options;
  const child = spawn(command, args, { ...rest, detached: detached && !isWindows, windowsHide: true });
  live.add(child);
  const exited = new Promise((resolve) => {
    child.once('error', (err) => {
      live.delete(child);
      resolve({ code: 127, signal: null, error: err });
    });
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });
  return { child, exited };
}

/** Kills a child started with `detached` and everything in its process group (on Windows, the child alone). */
export function killGroup(child) {
  try {
    if (isWindows) child.kill('SIGKILL');
    else process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

export function isAlive(child) {
  return child.exitCode === null && child.signalCode === null;
}

/**
 * Routes SIGINT/SIGTERM/SIGHUP to `onSignal(signal)`, dropping duplicates that arrive within `dedupeMs` (npm forwards
 * the terminal's SIGINT to us as well, so one Ctrl-C can arrive twice). Returns a function that removes the handlers.
 */
export function handleSignals(onSignal, dedupeMs = 1000) {
  let last = 0;
  const handler = (signal) => {
    const now = Date.now();
    if (now - last < dedupeMs) return;
    last = now;
    onSignal(signal);
  };
  const signals = isWindows ? ['SIGINT', 'SIGTERM'] : ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, handler);
  return () => {
    for (const s of signals) process.off(s, handler);
  };
}

/** The exit code a shell would report for a child that ended with (code, signal). */
export function exitCodeOf({ code, signal }) {
  if (code !== null && code !== undefined) return code;
  if (signal) return 128 + (os.constants.signals[signal] ?? 1);
  return 1;
}
