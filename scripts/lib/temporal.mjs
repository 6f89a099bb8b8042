// Finding (or building) the Temporal CLI and running its dev server. Plain Node, no npm dependencies.
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { canConnect, isAlive, isWindows, sleep, spawnTracked } from './proc.mjs';

export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

/** Search attributes Herald's workflows set; the dev server registers them at start. */
export const SEARCH_ATTRIBUTES = [
  ['HeraldTenant', 'Keyword'],
  ['HeraldStatus', 'Keyword'],
  ['HeraldPlatforms', 'KeywordList'],
];

const DYNAMIC_CONFIG = ['matching.useNewMatcher=true', 'matching.enableFairness=true'];
const SQLITE_PRAGMAS = ['journal_mode=WAL', 'synchronous=OFF'];

const exe = (name) => (isWindows ? `${name}.exe` : name);

function isExecutable(file) {
  try {
    if (!fs.statSync(file).isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findOnPath(name) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, exe(name));
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

export function temporalCacheDir() {
  const cacheHome = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(cacheHome, 'herald', 'bin');
}

/** Path of a `temporal` binary: $TEMPORAL_BIN, then PATH, then the Herald cache (built with Go when missing). */
export function ensureTemporal() {
  const fromEnv = process.env.TEMPORAL_BIN;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`TEMPORAL_BIN=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  const onPath = findOnPath('temporal');
  if (onPath) return onPath;
  const dir = temporalCacheDir();
  const cached = path.join(dir, exe('temporal'));
  if (isExecutable(cached)) return cached;

  const go = findOnPath('go');
  if (!go) {
    throw new Error(
      'The Temporal CLI was not found. Install it (macOS: `brew install temporal`; others: ' +
        'https://docs.temporal.io/cli#install) or install Go (https://go.dev/dl/) so Herald can build it, ' +
        'or point TEMPORAL_BIN at a `temporal` binary.',
    );
  }
  console.log(`Building the Temporal CLI from source with Go into ${dir} (one-time, a few minutes)...`);
  fs.mkdirSync(dir, { recursive: true });
  const res = spawnSync(go, ['install', TEMPORAL_CLI_MODULE], {
    stdio: 'inherit',
    env: { ...process.env, GOBIN: dir },
  });
  if (res.status !== 0 || !isExecutable(cached)) {
    throw new Error(
      `\`go install ${TEMPORAL_CLI_MODULE}\` failed (exit ${res.status ?? res.signal}). ` +
        'Install the Temporal CLI yourself (`brew install temporal`) or set TEMPORAL_BIN.',
    );
  }
  return cached;
}

/** The environment for temporal CLI calls: without TEMPORAL_* variables, which the CLI would read as defaults. */
function cliEnv() {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('TEMPORAL_')) delete env[key];
  return env;
}

function runCli(bin, args, timeoutMs = 5000) {
  return new Promise((resolve) => {
    execFile(bin, args, { env: cliEnv(), timeout: timeoutMs, windowsHide: true }, (err, stdout, stderr) => {
      resolve({ ok: !err, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

const supportCache = new Map();
/** Which optional start-dev flags this CLI knows (an older `temporal` on PATH may lack some). */
function startDevSupport(bin) {
  if (!supportCache.has(bin)) {
    const res = spawnSync(bin, ['server', 'start-dev', '--help'], { env: cliEnv(), encoding: 'utf8', timeout: 15000 });
    const help = `${res.stdout ?? ''}${res.stderr ?? ''}`;
    supportCache.set(bin, {
      sqlitePragma: help.includes('--sqlite-pragma'),
      searchAttribute: help.includes('--search-attribute'),
      dynamicConfig: help.includes('--dynamic-config-value'),
    });
  }
  return supportCache.get(bin);
}

/** Names of Herald's search attributes missing on the server at `address`; null when the server does not answer. */
export async function missingSearchAttributes(bin, address, namespace = 'default') {
  const res = await runCli(bin, [
    'operator', 'search-attribute', 'list',
    '--address', address, '--namespace', namespace, '--command-timeout', '3s', '--output', 'json',
  ]);
  if (!res.ok) return null;
  return SEARCH_ATTRIBUTES.map(([name]) => name).filter((name) => !res.stdout.includes(`"${name}"`));
}

/** Registers Herald's search attributes on an existing server (for a Temporal that Herald did not start). */
export async function registerSearchAttributes(bin, address, namespace = 'default') {
  const missing = await missingSearchAttributes(bin, address, namespace);
  if (missing === null) throw new Error(`Temporal at ${address} does not answer`);
  for (const [name, type] of SEARCH_ATTRIBUTES) {
    if (!missing.includes(name)) continue;
    const res = await runCli(bin, [
      'operator', 'search-attribute', 'create', '--name', name, '--type', type,
      '--address', address, '--namespace', namespace, '--command-timeout', '10s',
    ], 15000);
    if (!res.ok) throw new Error(`could not register search attribute ${name}: ${res.stderr.trim()}`);
  }
}

/** True when a Temporal frontend answers at address. */
export async function isTemporalAt(bin, address) {
  return (await missingSearchAttributes(bin, address)) !== null;
}

function tail(file, lines = 20) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * Starts `temporal server start-dev` and resolves once its gRPC port accepts connections and Herald's search attributes
 * are registered. Output goes to logFile. With dbFile the server keeps its state (workflows survive a restart);
 * without, it runs in memory. Returns { address, uiUrl, pid, stop(), exited }.
 */
export async function startTemporalDevServer({
  bin = ensureTemporal(),
  ip = '127.0.0.1',
  port,
  uiPort = null,
  dbFile = null,
  logFile,
  timeoutMs = 60_000,
}) {
  const support = startDevSupport(bin);
  if (!support.searchAttribute) {
    throw new Error(`${bin} is too old: \`temporal server start-dev\` has no --search-attribute. Upgrade the Temporal CLI.`);
  }
  const args = ['server', 'start-dev', '--ip', ip, '--port', String(port)];
  if (uiPort) args.push('--ui-port', String(uiPort));
  else args.push('--headless');
  if (dbFile) args.push('--db-filename', dbFile);
  args.push('--log-level', 'warn');
  if (support.sqlitePragma) for (const p of SQLITE_PRAGMAS) args.push('--sqlite-pragma', p);
  for (const [name, type] of SEARCH_ATTRIBUTES) args.push('--search-attribute', `${name}=${type}`);
  if (support.dynamicConfig) for (const d of DYNAMIC_CONFIG) args.push('--dynamic-config-value', d);

  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const fd = fs.openSync(logFile, 'w');
  fs.writeSync(fd, `$ ${bin} ${args.join(' ')}\n`);
  // Own process group: a Ctrl-C must not stop Temporal before the worker and the API have shut down.
  const { child, exited } = spawnTracked(bin, args, { stdio: ['ignore', fd, fd], detached: true, env: cliEnv() });
  fs.closeSync(fd);

  const address = `${ip}:${port}`;
  const stop = async (killAfterMs = 5000) => {
    if (!isAlive(child)) return exited;
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (isAlive(child)) child.kill('SIGKILL');
    }, killAfterMs);
    const result = await exited;
    clearTimeout(timer);
    return result;
  };

  const started = Date.now();
  let exitedEarly = null;
  exited.then((r) => {
    exitedEarly = r;
  });
  for (;;) {
    if (exitedEarly) {
      const hint = exitedEarly.error ? String(exitedEarly.error.message) : tail(logFile);
      throw new Error(`the Temporal dev server exited during start-up (see ${logFile}):\n${hint}`);
    }
    if (Date.now() - started > timeoutMs) {
      await stop();
      throw new Error(`the Temporal dev server did not become ready within ${timeoutMs / 1000} s (see ${logFile}):\n${tail(logFile)}`);
    }
    if (await canConnect(ip, port, 500)) {
      const missing = await missingSearchAttributes(bin, address);
      if (missing && missing.length === 0) break;
    }
    await sleep(150);
  }

  return {
    address,
    uiUrl: uiPort ? `http://${ip}:${uiPort}` : null,
    pid: child.pid,
    startMs: Date.now() - started,
    stop,
    exited,
  };
}
