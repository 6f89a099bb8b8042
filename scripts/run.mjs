#!/usr/bin/env node
// Entry for every npm script: `node scripts/run.mjs <start|api|worker|migrate|test|bench> [args...]`.
// Plain Node ESM without npm dependencies: it runs before `npm ci` has installed anything.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDeps, readDotEnv } from './lib/deps.mjs';
import { ensureConsole } from './build-console.mjs';
import { canConnect, exitCodeOf, freePort, handleSignals, isAlive, killGroup, spawnTracked } from './lib/proc.mjs';
import { findTemporal, isTemporalAt, registerSearchAttributes, startTemporalDevServer } from './lib/temporal.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const [mode, ...rest] = process.argv.slice(2);

const DEFAULT_TEMPORAL_PORT = 7233;
const DEFAULT_TEMPORAL_UI_PORT = 8233;
const DEFAULT_WORKER_METRICS_PORT = 9464; // `npm start`: the worker's /metrics and /health, unless WORKER_METRICS_PORT says
const DEFAULT_TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const STOP_GRACE_MS = 5000; // `npm start`: how long the app gets after Ctrl-C before SIGKILL

const say = (msg) => console.log(`herald: ${msg}`);

// --- signals -------------------------------------------------------------------------------------------------------
// One handler for the whole run. `current` is what a signal should do right now (forward it to the foreground child);
// without one (during start-up) a signal stops whatever was started and exits.
let current = null;
let devServer = null;
let stopping = false;

handleSignals((signal) => {
  if (current) return current(signal);
  if (stopping) return;
  stopping = true;
  const code = 128 + (signal === 'SIGINT' ? 2 : signal === 'SIGHUP' ? 1 : 15);
  (devServer ? devServer.stop(2000) : Promise.resolve()).finally(() => process.exit(code));
});

/**
 * Runs `node <args>` in the foreground (own process group, stdio inherited) and forwards SIGINT/SIGTERM/SIGHUP to it
 * once; a later, deliberate second signal is forwarded too. With graceMs the child is killed if it is still running
 * that long after the first signal. Resolves { code, signal, interrupted }.
 */
async function runNode(args, { env, graceMs = null, label = 'the process', watch = null }) {
  const { child, exited } = spawnTracked(process.execPath, args, { cwd: root, env, stdio: 'inherit', detached: true });
  const unwatch = watch?.(child);
  let interrupted = null;
  let killed = false;
  current = (signal) => {
    if (!isAlive(child)) return;
    if (!interrupted) {
      interrupted = signal;
      if (graceMs) {
        setTimeout(() => {
          if (!isAlive(child)) return;
          console.error(`herald: ${label} did not stop within ${graceMs / 1000} s; killing it`);
          killed = true;
          child.kill('SIGKILL');
        }, graceMs).unref();
      }
    }
    child.kill(signal);
  };
  const result = await exited;
  unwatch?.();
  current = () => {}; // keep ignoring signals while the caller cleans up
  if (result.error) throw new Error(`could not start node: ${result.error.message}`);
  return { ...result, interrupted, killed };
}

/** Exit code for a service (start, api, worker) stopped by a signal we forwarded: a clean stop is success. */
function serviceExitCode({ code, signal, interrupted, killed }) {
  if (killed) return 1;
  if (interrupted && (code === 0 || code === 130 || code === 143 || (code === null && signal))) return 0;
  return exitCodeOf({ code, signal });
}

function dataDir(env) {
  const dir = path.resolve(root, env.DATA_DIR || '.data');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

const rel = (p) => path.relative(root, p) || '.';

/**
 * Herald runs on Node 22 (22.13 or newer) and 24, as `engines` says: cookie 2 and content-disposition 3 (under fastify
 * and @fastify/static) are ES modules loaded with require(), which Node 22.12 made standard, and eslint 10 needs 22.13.
 * Node 20.19 can require() ES modules too, so it still runs Herald, with a warning: Node 20 is past its end of life.
 */
function checkNode() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  const at = (M, m) => major > M || (major === M && minor >= m);
  if (!at(20, 19) || major === 21 || (major === 22 && minor < 12)) {
    throw new Error(`Herald needs Node.js 22.13 or newer, or 24 (this is ${process.versions.node}).`);
  }
  if (!at(22, 13)) {
    console.error(`herald: Node ${process.versions.node} is not supported (past its end of life); use Node 22 or 24 LTS`);
  }
}

/** Environment for app processes: .env (if any) under the real environment. */
function appEnv() {
  return { ...readDotEnv(root), ...process.env };
}

/**
 * Environment for a process that runs a worker (`npm start`, `npm run worker`): glibc's malloc gives every thread that
 * allocates an arena of its own (up to 8 per core), and the worker's threads (libuv's pool rendering cards, Temporal
 * Core's, V8's) kept about 70 MB more resident in them than with two arenas (two workers side by side preparing 200
 * scheduled pipelines each: 105 MB against 35 MB). And a fixed mmap threshold of 1 MB: by default glibc raises its
 * threshold to the size of each large block freed (up to 32 MB), so after the first canvases and pixel buffers of
 * title cards were freed, later ones of 1-5 MB came from the arenas and their pages stayed resident; with the
 * threshold fixed they are mapped and returned whole (2,000 scheduled with cards: peak 471 MB against 552, 351 against
 * 433 a minute after; BENCHMARKS.md "Sixth look"). Only the environment of a process's start sets these, hence here; a
 * value already set wins.
 */
function workerEnv(env) {
  env.MALLOC_ARENA_MAX ??= '2';
  env.MALLOC_MMAP_THRESHOLD_ ??= '1048576';
  return env;
}

// --- modes ---------------------------------------------------------------------------------------------------------

async function start() {
  const env = workerEnv(appEnv());
  await ensureConsole(say);
  if (!env.TEMPORAL_ADDRESS) {
    // HERALD_TEMPORAL_PORT / _UI_PORT move the dev server off 7233 / 8233; HERALD_TEMPORAL_DOWNLOAD_URL replaces the
    // address the download step asks first (tests point it at one that never answers, as without network).
    const TEMPORAL_PORT = Number(env.HERALD_TEMPORAL_PORT) || DEFAULT_TEMPORAL_PORT;
    const TEMPORAL_UI_PORT = Number(env.HERALD_TEMPORAL_UI_PORT) || DEFAULT_TEMPORAL_UI_PORT;
    const { bin } = await findTemporal({ env, root, infoUrl: env.HERALD_TEMPORAL_DOWNLOAD_URL || null });
    const dir = dataDir(env);
    const address = `127.0.0.1:${TEMPORAL_PORT}`;
    if (await canConnect('127.0.0.1', TEMPORAL_PORT)) {
      if (!(await isTemporalAt(bin, address))) {
        throw new Error(
          `port ${TEMPORAL_PORT} is in use by something that is not a Temporal server. ` +
            'Stop it, or set TEMPORAL_ADDRESS to the Temporal server to use.',
        );
      }
      say(`a Temporal server is already running on ${address}: using it instead of starting one`);
      await registerSearchAttributes(bin, address);
      env.TEMPORAL_ADDRESS = address;
      env.HERALD_TEMPORAL_UI_URL ||= `http://127.0.0.1:${TEMPORAL_UI_PORT}`;
    } else {
      let uiPort = TEMPORAL_UI_PORT;
      if (await canConnect('127.0.0.1', uiPort)) {
        uiPort = await freePort();
        say(`port ${TEMPORAL_UI_PORT} is taken: the Temporal Web UI will listen on ${uiPort}`);
      }
      const dbFile = path.join(dir, 'temporal.db');
      const logFile = path.join(dir, 'temporal.log');
      say(`starting the Temporal dev server (state: ${rel(dbFile)}, log: ${rel(logFile)})`);
      devServer = await startTemporalDevServer({ bin, port: TEMPORAL_PORT, uiPort, dbFile, logFile });
      say(`Temporal ready at ${devServer.address} in ${(devServer.startMs / 1000).toFixed(1)} s, Web UI ${devServer.uiUrl}`);
      devServer.exited.then((r) => {
        if (!stopping) console.error(`herald: the Temporal dev server stopped unexpectedly (exit ${exitCodeOf(r)}); see ${rel(logFile)}`);
      });
      env.TEMPORAL_ADDRESS = devServer.address;
      env.HERALD_TEMPORAL_UI_URL = devServer.uiUrl;
    }
  }

  if (!env.WORKER_METRICS_PORT) {
    env.WORKER_METRICS_PORT = String((await canConnect('127.0.0.1', DEFAULT_WORKER_METRICS_PORT)) ? await freePort() : DEFAULT_WORKER_METRICS_PORT);
  }

  let result;
  try {
    result = await runNode(['--import', 'tsx', 'src/dev/start.ts', ...rest], {
      env,
      graceMs: STOP_GRACE_MS,
      label: 'Herald',
    });
  } finally {
    stopping = true;
    if (devServer) await devServer.stop();
  }
  return serviceExitCode(result);
}

async function service(entry, env = appEnv()) {
  const result = await runNode(['--import', 'tsx', entry, ...rest], { env, label: entry });
  return serviceExitCode(result);
}

/** Shared by test and bench: an in-memory dev server on a free port, and a PostgreSQL check. */
async function testSetup(logName) {
  const env = { ...process.env };
  env.TEST_DATABASE_URL ||= DEFAULT_TEST_DATABASE_URL;
  // A database of its own per run, so two runs on one machine (a clone in CI, a developer's tree) never collide.
  env.HERALD_TEST_DB ||= `herald_test_${process.pid}`;
  const dir = dataDir(env);

  if (env.TEST_TEMPORAL_ADDRESS) {
    env.TEMPORAL_ADDRESS = env.TEST_TEMPORAL_ADDRESS;
  } else {
    const { bin } = await findTemporal({ env, root });
    // Tests that start a dev server of their own (or stand-ins for it) use the same binary.
    env.HERALD_TEMPORAL_BIN = bin;
    const port = await freePort();
    const logFile = path.join(dir, logName);
    devServer = await startTemporalDevServer({ bin, port, uiPort: null, dbFile: null, logFile });
    say(`Temporal dev server (in memory) ready at ${devServer.address} in ${(devServer.startMs / 1000).toFixed(1)} s; log: ${rel(logFile)}`);
    env.TEMPORAL_ADDRESS = devServer.address;
  }

  let pg;
  try {
    const url = new URL(env.TEST_DATABASE_URL);
    pg = { host: (url.hostname || '127.0.0.1').replace(/^\[|\]$/g, ''), port: Number(url.port) || 5432 };
  } catch {
    throw new Error('TEST_DATABASE_URL is not a valid URL (expected postgres://user@host:port/db)');
  }
  if (!(await canConnect(pg.host, pg.port, 2000))) {
    console.error(
      `herald: PostgreSQL is not reachable at ${pg.host}:${pg.port} (TEST_DATABASE_URL). Tests that need it will fail.\n` +
        '        Start PostgreSQL 15 (for example `docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:15`)\n' +
        '        or point TEST_DATABASE_URL at one.',
    );
  }
  return { env, dir };
}

/** Splits `--outputFile <f>` / `--outputFile=<f>` (and a redundant `--json`) off jest's arguments. */
function takeOutputFile(argv) {
  let outputFile = null;
  const args = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--outputFile') outputFile = argv[++i];
    else if (a.startsWith('--outputFile=')) outputFile = a.slice('--outputFile='.length);
    else if (a !== '--json') args.push(a);
  }
  return { outputFile, args };
}

/** How long jest may stay after writing its results before it is taken to be held open by a test's leftover. */
const JEST_EXIT_GRACE_MS = 60_000;
let hungAfterResults = false;

/**
 * Jest writes its results when every suite has run, then waits for whatever a test left running (a child process, a
 * socket) to end, for ever. The results are complete by then: a minute after they appear, jest and what it started (its
 * process group) are stopped, with a warning, so a leaked handle costs a minute, not the rest of CI's time.
 */
function stopWhenHung(child, resultsFile) {
  let deadline = null;
  const poll = setInterval(() => {
    if (!isAlive(child)) return;
    if (deadline === null) {
      if (fs.existsSync(resultsFile)) deadline = Date.now() + JEST_EXIT_GRACE_MS;
      return;
    }
    if (Date.now() < deadline) return;
    clearInterval(poll);
    hungAfterResults = true;
    console.error(
      `herald: jest wrote its results ${JEST_EXIT_GRACE_MS / 1000} s ago and has not exited (a test left a process or handle open; see "Jest did not exit" above); stopping it`,
    );
    killGroup(child);
  }, 2_000);
  poll.unref();
  return () => clearInterval(poll);
}

async function test() {
  // The API tests and the browser tests ask for the console the API serves.
  await ensureConsole(say);
  const { env, dir } = await testSetup('temporal-test.log');
  // A caller's --outputFile (CI reads the results of each run) replaces ours.
  const { outputFile, args } = takeOutputFile(rest);
  const resultsFile = outputFile ? path.resolve(outputFile) : path.join(dir, 'jest-results.json');
  fs.rmSync(resultsFile, { force: true });
  const jest = path.join(root, 'node_modules', 'jest', 'bin', 'jest.js');

  let result;
  try {
    result = await runNode([jest, '--runInBand', '--json', '--outputFile', resultsFile, ...args], { env, label: 'jest', watch: (child) => stopWhenHung(child, resultsFile) });
  } finally {
    stopping = true;
    if (devServer) await devServer.stop();
  }

  // Stopped after writing complete results: those results say how the run went.
  const code = hungAfterResults ? 0 : exitCodeOf(result);
  let summary;
  try {
    summary = JSON.parse(fs.readFileSync(resultsFile, 'utf8'));
  } catch {
    console.log(`jest wrote no results to ${rel(resultsFile)} (exit ${code}); see the output above`);
    return code || 1;
  }
  if (summary.numRuntimeErrorTestSuites > 0) {
    console.log(`${summary.numRuntimeErrorTestSuites} test suite(s) failed to run; see the output above`);
  }
  let line = `${summary.numPassedTests} passed, ${summary.numFailedTests} failed`;
  if (summary.numPendingTests > 0) line += `, ${summary.numPendingTests} skipped`;
  console.log(line);
  if (code !== 0) return code;
  return summary.numFailedTests > 0 || summary.success === false ? 1 : 0;
}

async function bench() {
  const [name, ...args] = rest;
  const benchDir = path.join(root, 'bench');
  const available = fs.existsSync(benchDir)
    ? fs.readdirSync(benchDir).filter((d) => fs.existsSync(path.join(benchDir, d, 'index.ts')))
    : [];
  if (!name || !available.includes(name)) {
    console.error(`usage: npm run bench -- <name>   (available: ${available.join(', ') || 'none'})`);
    return 2;
  }
  const { env } = await testSetup('temporal-bench.log');
  let result;
  try {
    result = await runNode(['--import', 'tsx', path.join('bench', name, 'index.ts'), ...args], { env, label: `bench ${name}` });
  } finally {
    stopping = true;
    if (devServer) await devServer.stop();
  }
  return exitCodeOf(result);
}

const modes = {
  start,
  api: async () => {
    await ensureConsole(say);
    return service('src/api/server.ts');
  },
  worker: () => service('src/worker/main.ts', workerEnv(appEnv())),
  migrate: () => service('src/db/migrate-cli.ts'),
  test,
  bench,
};

async function main() {
  const run = modes[mode];
  if (!run) {
    console.error(`usage: node scripts/run.mjs <${Object.keys(modes).join('|')}> [args...]`);
    return 2;
  }
  checkNode();
  ensureDeps(root);
  return run();
}

main().then(
  (code) => process.exit(code),
  async (err) => {
    console.error(`herald: ${err?.message ?? err}`);
    stopping = true;
    if (devServer) await devServer.stop(2000).catch(() => {});
    process.exit(1);
  },
);
