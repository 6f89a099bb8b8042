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

// Priority and fairness, and one partition per task queue: Temporal orders tasks by priority and fairness key within a
// partition, so with the default 4 a poll can hand out a burst's task from one partition while a light tenant's waits
// in another. One partition is plenty for a single-node server.
const DYNAMIC_CONFIG = [
  'matching.useNewMatcher=true',
  'matching.enableFairness=true',
  'matching.numTaskqueueReadPartitions=1',
  'matching.numTaskqueueWritePartitions=1',
  // The dev server has one history shard, whose transfer queue (the tasks that hand workflow and activity tasks to
  // matching) and timer queue are read at most 20 times a second by default: every task handed out waited for the next
  // read, 40-45 ms a step on an idle server (a bare 28-step workflow took 1.45 s instead of 0.45-0.6), and a light
  // tenant's steps waited for the reads a burst kept busy. 50 reads a second: at most 20 ms a step, and reads still
  // batched under load. 100 left the worker so much faster that the API's p99 under 50 clients rose to 1.6 times a bare
  // start (it shares the cores); 1,000 cost a fifth of the throughput on 2 cores (BENCHMARKS.md "Fairness, fifth look"
  // and "sixth look").
  'history.transferProcessorMaxPollRPS=50',
  'history.timerProcessorMaxPollRPS=50',
];
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

export function findOnPath(name, pathVar = process.env.PATH) {
  for (const dir of (pathVar ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, exe(name));
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

/** Herald's cache, outside the work tree: $XDG_CACHE_HOME/herald or ~/.cache/herald. */
export function heraldCacheDir(env = process.env) {
  return path.join(env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), '.cache'), 'herald');
}

/** Where Herald keeps the `temporal` it builds and the dev server the Temporal SDK downloads. */
export function temporalCacheDir(env = process.env) {
  return path.join(heraldCacheDir(env), 'bin');
}

const fmtTime = (ms) => {
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
};
const mb = (bytes) => `${(bytes / 1e6).toFixed(0)} MB`;

function fileSize(file) {
  try {
    return fs.statSync(file).size;
  } catch {
    return null;
  }
}

function sdkVersion(root) {
  try {
    return JSON.parse(fs.readFileSync(path.join(root, 'node_modules', '@temporalio', 'testing', 'package.json'), 'utf8'))
      .version;
  } catch {
    return null;
  }
}

/** The address the SDK asks first (which archive to fetch for this platform); Herald asks it too, to fail fast. */
export function sdkDownloadInfoUrl(version) {
  const arch = { x64: 'amd64', arm64: 'arm64', arm: 'arm64' }[process.arch] ?? process.arch;
  const platform = { win32: 'windows', darwin: 'darwin' }[process.platform] ?? 'linux';
  const q = new URLSearchParams({ arch, platform, format: 'tar.gz', 'sdk-name': 'sdk-typescript', 'sdk-version': version });
  return `https://temporal.download/cli/default?${q}`;
}

/** Resolves with { archiveUrl, bytes } or rejects within timeoutMs. */
async function probeDownload(infoUrl, timeoutMs) {
  const signal = AbortSignal.timeout(timeoutMs);
  const res = await fetch(infoUrl, { signal });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const info = await res.json();
  if (!info?.archiveUrl) throw new Error('no archiveUrl in the answer');
  let bytes = null;
  try {
    const head = await fetch(info.archiveUrl, { method: 'HEAD', signal: AbortSignal.timeout(timeoutMs) });
    bytes = Number(head.headers.get('content-length')) || null;
  } catch {
    // the size is only for the message
  }
  return { archiveUrl: info.archiveUrl, bytes };
}

// Runs in a child process: the SDK's TestWorkflowEnvironment.createLocal downloads the dev server into the directory
// (its `cached-download` executable) and starts it once; Herald then runs that binary itself with its own flags.
const SDK_DOWNLOAD_SCRIPT = `
const { TestWorkflowEnvironment } = require('@temporalio/testing');
const downloadDir = process.argv[1];
TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'cached-download', downloadDir, ttl: '36500d' } } })
  .then((env) => env.teardown())
  .then(() => process.exit(0), (err) => { console.error(String(err && err.stack || err)); process.exit(1); });
`;

/**
 * Step 4: the dev server the Temporal SDK (@temporalio/testing) downloads, kept in cacheDir. Returns its path, or throws
 * saying what failed. Without network the address check fails within probeTimeoutMs.
 */
async function sdkDownload({ root, cacheDir, infoUrl, probeTimeoutMs, stallTimeoutMs, progressEveryMs, say }) {
  const version = sdkVersion(root);
  if (!version) throw new Error('@temporalio/testing is not installed');
  const dest = path.join(cacheDir, exe(`temporal-sdk-typescript-${version}`));
  if (isExecutable(dest)) {
    say(`using the dev server the Temporal SDK downloaded: ${dest}`);
    return dest;
  }
  const url = infoUrl ?? sdkDownloadInfoUrl(version);
  say(`downloading the Temporal dev server with the Temporal SDK ${version} into ${cacheDir} (once); asking ${new URL(url).origin}...`);
  const started = Date.now();
  let info;
  try {
    info = await probeDownload(url, probeTimeoutMs);
  } catch (err) {
    const why =
      err?.name === 'TimeoutError'
        ? `no answer within ${probeTimeoutMs / 1000} s`
        : (err?.cause?.message ?? err?.message ?? String(err));
    throw new Error(`could not reach ${new URL(url).origin} (${why}) after ${fmtTime(Date.now() - started)}`, {
      cause: err,
    });
  }
  say(`downloading ${info.bytes ? mb(info.bytes) : 'the archive'} from ${info.archiveUrl}...`);
  fs.mkdirSync(cacheDir, { recursive: true });
  const partial = `${dest}.downloading`;
  // A download stopped half-way (Ctrl-C) leaves this file; the SDK would wait for it to go stale before starting over.
  try {
    if (Date.now() - fs.statSync(partial).mtimeMs > stallTimeoutMs) fs.rmSync(partial, { force: true });
  } catch {
    // none
  }
  const { child, exited } = spawnTracked(process.execPath, ['-e', SDK_DOWNLOAD_SCRIPT, cacheDir], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const keep = (chunk) => {
    output = (output + chunk).slice(-4000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let lastSize = -1;
  let lastGrowth = Date.now();
  let stalled = false;
  const timer = setInterval(() => {
    const size = fileSize(partial) ?? fileSize(dest) ?? 0;
    if (size !== lastSize) {
      lastSize = size;
      lastGrowth = Date.now();
    } else if (Date.now() - lastGrowth > stallTimeoutMs && !isExecutable(dest)) {
      stalled = true;
      try {
        process.kill(isWindows ? child.pid : -child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    say(`downloading the Temporal dev server, ${fmtTime(Date.now() - started)}: ${mb(size)}${info.bytes ? ` (unpacked; archive ${mb(info.bytes)})` : ''}`);
  }, progressEveryMs);
  const result = await exited;
  clearInterval(timer);
  if (stalled) fs.rmSync(partial, { force: true });
  // The SDK also starts the server once to check it; a slow start there does not matter, the binary is what counts.
  if (isExecutable(dest)) {
    say(`downloaded ${dest} (${mb(fileSize(dest) ?? 0)}) in ${fmtTime(Date.now() - started)}`);
    return dest;
  }
  const tailText = output.trim().split('\n').slice(-3).join(' | ');
  throw new Error(
    stalled
      ? `the download made no progress for ${stallTimeoutMs / 1000} s`
      : `the Temporal SDK could not download it (exit ${result.code ?? result.signal}): ${tailText}`,
  );
}

/**
 * Step 5: `go install` of the Temporal CLI into cacheDir, with a progress line every progressEveryMs (elapsed time, what
 * Go is doing) and the whole output in logFile.
 */
async function goBuild({ go, cacheDir, env, logFile, progressEveryMs, say }) {
  fs.mkdirSync(cacheDir, { recursive: true });
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  say(`building the Temporal CLI from source with Go (${go} install ${TEMPORAL_CLI_MODULE}) into ${cacheDir}`);
  say(`this usually takes 10-15 minutes, once; the full output goes to ${logFile}`);
  const log = fs.createWriteStream(logFile);
  log.write(`$ GOBIN=${cacheDir} ${go} install -v ${TEMPORAL_CLI_MODULE}\n`);
  const started = Date.now();
  const { child, exited } = spawnTracked(go, ['install', '-v', TEMPORAL_CLI_MODULE], {
    env: { ...env, GOBIN: cacheDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let downloads = 0;
  let packages = 0;
  let doing = `resolving ${TEMPORAL_CLI_MODULE}`;
  let lastOutput = Date.now();
  let pending = '';
  let lastLines = [];
  const onData = (chunk) => {
    log.write(chunk);
    lastOutput = Date.now();
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop();
    for (const raw of lines) {
      const line = raw.trim();
      if (!line) continue;
      lastLines = [...lastLines, line].slice(-10);
      const dl = /^go: downloading (\S+) (\S+)/.exec(line);
      if (dl) {
        downloads += 1;
        doing = `downloading ${dl[1]} ${dl[2]}`;
      } else if (/^[\w.-]+(\/[\w.+~-]+)*$/.test(line)) {
        packages += 1;
        doing = `compiling ${line}`;
      }
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const timer = setInterval(() => {
    const now = Date.now();
    // Go prints nothing while it compiles a large package or links (the last minute or two).
    const quiet = now - lastOutput >= progressEveryMs ? `, no output for ${fmtTime(now - lastOutput)}` : '';
    say(`go build ${fmtTime(now - started)}: ${doing} (${downloads} modules downloaded, ${packages} packages compiled${quiet})`);
  }, progressEveryMs);
  const result = await exited;
  clearInterval(timer);
  await new Promise((resolve) => log.end(resolve));
  const built = path.join(cacheDir, exe('temporal'));
  if (result.code === 0 && isExecutable(built)) {
    say(`built ${built} in ${fmtTime(Date.now() - started)}`);
    return built;
  }
  throw new Error(
    `\`go install ${TEMPORAL_CLI_MODULE}\` failed (exit ${result.code ?? result.signal}) after ` +
      `${fmtTime(Date.now() - started)}; see ${logFile}:\n${lastLines.join('\n')}`,
  );
}

/**
 * Finds the Temporal dev server (the `temporal` CLI) in this order, saying in one line what each step does:
 * $TEMPORAL_BIN; the PATH; Herald's cache; the dev server the Temporal SDK downloads (kept in the same cache folder);
 * a build from source with Go. Everything it looks at can be passed in (tests use stand-ins for each step).
 * Resolves { bin, source } with source one of TEMPORAL_BIN, PATH, cache, download, go.
 */
export async function findTemporal({
  env = process.env,
  root = process.cwd(),
  cacheDir = temporalCacheDir(env),
  infoUrl = null,
  probeTimeoutMs = 5000,
  stallTimeoutMs = 60_000,
  progressEveryMs = 10_000,
  goLogFile = path.join(path.dirname(cacheDir), 'go-build-temporal.log'),
  say = (msg) => console.log(`herald: temporal: ${msg}`),
} = {}) {
  if (env.TEMPORAL_BIN) {
    if (!isExecutable(env.TEMPORAL_BIN)) throw new Error(`TEMPORAL_BIN=${env.TEMPORAL_BIN} is not an executable file`);
    say(`using TEMPORAL_BIN=${env.TEMPORAL_BIN}`);
    return { bin: env.TEMPORAL_BIN, source: 'TEMPORAL_BIN' };
  }
  const onPath = findOnPath('temporal', env.PATH);
  if (onPath) {
    say(`using ${onPath} from the PATH`);
    return { bin: onPath, source: 'PATH' };
  }
  const cached = path.join(cacheDir, exe('temporal'));
  if (isExecutable(cached)) {
    say(`using ${cached} from Herald's cache`);
    return { bin: cached, source: 'cache' };
  }
  const tried = ['TEMPORAL_BIN (not set)', 'the PATH', `Herald's cache (${cached})`];
  say(`no \`temporal\` in TEMPORAL_BIN, on the PATH or in ${cacheDir}`);

  try {
    const bin = await sdkDownload({ root, cacheDir, infoUrl, probeTimeoutMs, stallTimeoutMs, progressEveryMs, say });
    return { bin, source: 'download' };
  } catch (err) {
    say(`the Temporal SDK's download failed: ${err.message}`);
    tried.push(`the Temporal SDK's download (${err.message})`);
  }

  const go = findOnPath('go', env.PATH);
  if (!go) {
    tried.push('a build with Go (no `go` on the PATH)');
    throw new Error(
      `no Temporal dev server. Tried: ${tried.join('; ')}.\n` +
        'Connect to the internet once (the Temporal SDK then downloads the dev server), install the Temporal CLI ' +
        '(macOS: `brew install temporal`; others: https://docs.temporal.io/cli#install), install Go ' +
        '(https://go.dev/dl/) so Herald can build it, or point TEMPORAL_BIN at a `temporal` binary.',
    );
  }
  say('falling back to a build from source with Go');
  const bin = await goBuild({ go, cacheDir, env, logFile: goLogFile, progressEveryMs, say });
  return { bin, source: 'go' };
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
  bin,
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
