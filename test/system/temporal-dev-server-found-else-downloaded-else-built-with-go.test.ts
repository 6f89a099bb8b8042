// Where the Temporal dev server comes from (scripts/lib/temporal.mjs, used by `npm start` and `npm test`), with a
// stand-in for each step: fake `temporal` scripts on the PATH and in a temporary cache, a "download site" that counts
// requests or never answers (a network that drops everything), and a fake `go` that prints Go's kind of output for a
// while and installs a `temporal` (a wrapper around the real one, so the server really comes up).
// - A `temporal` on the PATH, in the cache, or an earlier SDK download: used as is; nothing is downloaded or built.
// - Nothing anywhere and no network: `npm start` asks the download site, gives up within 10 s, builds with Go showing
//   progress lines (elapsed time, what Go does), keeps Go's whole output in a log file, and comes up.
// - No network and no Go: the error names every step tried.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../helpers/env';
import { spawnNpmStart, stopNpmStart, waitReady, type NpmStart } from '../helpers/npm-start-process';
import { freePort } from '../helpers/ports';

jest.setTimeout(600_000);

const SDK_VERSION: string = JSON.parse(
  readFileSync(path.join(ROOT, 'node_modules', '@temporalio', 'testing', 'package.json'), 'utf8'),
).version;

/** The real `temporal` that `npm test` found (scripts/run.mjs passes it on). */
function realTemporal(): string {
  const bin = process.env.HERALD_TEMPORAL_BIN;
  if (!bin) throw new Error('HERALD_TEMPORAL_BIN is not set: run the suite with `npm test`');
  return bin;
}

let dir: string;
let hits = 0;
let site: http.Server;
let siteUrl: string;
let silent: net.Server;
let silentUrl: string;
const silentSockets = new Set<net.Socket>();

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'herald-find-temporal-'));
  // A download site that counts every request (none is expected when a `temporal` is at hand).
  site = http.createServer((_req, res) => {
    hits += 1;
    res.writeHead(503).end();
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  siteUrl = `http://127.0.0.1:${(site.address() as net.AddressInfo).port}/cli/default`;
  // One that accepts connections and never answers: a network that drops everything.
  silent = net.createServer((socket) => {
    silentSockets.add(socket);
    socket.on('close', () => silentSockets.delete(socket));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentUrl = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}/cli/default`;
});

afterAll(async () => {
  for (const s of silentSockets) s.destroy();
  await new Promise((resolve) => site.close(resolve));
  await new Promise((resolve) => silent.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
/** A fresh directory under the test's temporary one. */
function fresh(name: string): string {
  const d = path.join(dir, `${++n}-${name}`);
  mkdirSync(d, { recursive: true });
  return d;
}

function writeExecutable(file: string, text: string): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  chmodSync(file, 0o755);
  return file;
}

/** A `temporal` that runs the real one. */
const fakeTemporal = (file: string) => writeExecutable(file, `#!/bin/sh\nexec "${realTemporal()}" "$@"\n`);

/**
 * A `go` that notes it ran (in `marker`), prints Go's kind of output for `seconds`, and installs a fake `temporal`
 * into $GOBIN.
 */
function fakeGo(binDir: string, marker: string, seconds: number): string {
  return writeExecutable(
    path.join(binDir, 'go'),
    `#!${process.execPath}
const fs = require('node:fs');
const path = require('node:path');
fs.writeFileSync(${JSON.stringify(marker)}, process.argv.slice(2).join(' '));
const mods = ['go.temporal.io/server v1.29.1', 'go.temporal.io/api v1.53.0', 'google.golang.org/grpc v1.75.0'];
const pkgs = ['go.temporal.io/server/common/log', 'go.temporal.io/server/service/history', 'github.com/temporalio/cli/cmd/temporal'];
let i = 0;
const timer = setInterval(() => {
  if (i < mods.length) process.stderr.write('go: downloading ' + mods[i] + '\\n');
  else process.stderr.write(pkgs[(i - mods.length) % pkgs.length] + '\\n');
  i += 1;
}, 400);
setTimeout(() => {
  clearInterval(timer);
  const out = path.join(process.env.GOBIN, 'temporal');
  fs.writeFileSync(out, '#!/bin/sh\\nexec "${realTemporal()}" "$@"\\n');
  fs.chmodSync(out, 0o755);
  process.exit(0);
}, ${seconds * 1000});
`,
  );
}

/** PATH entries of this run that hold neither a `go` nor a `temporal` (so only the stand-ins are found). */
function cleanPath(): string[] {
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((d) => d && !existsSync(path.join(d, 'go')) && !existsSync(path.join(d, 'temporal')));
}

interface Found {
  bin?: string;
  source?: string;
  error?: string;
  lines: string[];
  ms: number;
}

/** Runs findTemporal in a process of its own, as scripts/run.mjs does, with the given stand-ins. */
function find(opts: { PATH: string[]; cacheDir: string; infoUrl: string }): Promise<Found> {
  const script = `
    import { findTemporal } from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'scripts', 'lib', 'temporal.mjs')).href)};
    const opts = JSON.parse(process.argv[1]);
    const lines = [];
    const t0 = Date.now();
    const say = (m) => lines.push(m);
    findTemporal({ ...opts, say }).then(
      (r) => console.log(JSON.stringify({ ...r, lines, ms: Date.now() - t0 })),
      (e) => console.log(JSON.stringify({ error: e.message, lines, ms: Date.now() - t0 })),
    );`;
  const env = { PATH: opts.PATH.join(path.delimiter), HOME: process.env.HOME ?? tmpdir() };
  const args = { env, root: ROOT, cacheDir: opts.cacheDir, infoUrl: opts.infoUrl, progressEveryMs: 1000 };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(args)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.once('exit', () => {
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!));
      } catch {
        reject(new Error(`findTemporal printed no result:\n${out}\n${err}`));
      }
    });
  });
}

describe('a temporal at hand is used as is', () => {
  test('on the PATH: nothing is downloaded or built', async () => {
    const bin = fresh('path-bin');
    const onPath = fakeTemporal(path.join(bin, 'temporal'));
    const marker = path.join(bin, 'go-ran');
    fakeGo(bin, marker, 1);
    const cacheDir = fresh('empty-cache');
    hits = 0;
    const r = await find({ PATH: [bin, ...cleanPath()], cacheDir, infoUrl: siteUrl });
    expect(r).toMatchObject({ bin: onPath, source: 'PATH' });
    expect(r.lines).toEqual([`using ${onPath} from the PATH`]);
    expect(hits).toBe(0);
    expect(existsSync(marker)).toBe(false);
  });

  test("in Herald's cache: nothing is downloaded or built", async () => {
    const bin = fresh('go-only');
    const marker = path.join(bin, 'go-ran');
    fakeGo(bin, marker, 1);
    const cacheDir = fresh('cache');
    const cached = fakeTemporal(path.join(cacheDir, 'temporal'));
    hits = 0;
    const r = await find({ PATH: [bin, ...cleanPath()], cacheDir, infoUrl: siteUrl });
    expect(r).toMatchObject({ bin: cached, source: 'cache' });
    expect(hits).toBe(0);
    expect(existsSync(marker)).toBe(false);
  });

  test('downloaded by the Temporal SDK earlier (same cache folder): used without asking the network', async () => {
    const bin = fresh('go-only');
    const marker = path.join(bin, 'go-ran');
    fakeGo(bin, marker, 1);
    const cacheDir = fresh('sdk-cache');
    const downloaded = fakeTemporal(path.join(cacheDir, `temporal-sdk-typescript-${SDK_VERSION}`));
    hits = 0;
    const r = await find({ PATH: [bin, ...cleanPath()], cacheDir, infoUrl: siteUrl });
    expect(r).toMatchObject({ bin: downloaded, source: 'download' });
    expect(hits).toBe(0);
    expect(existsSync(marker)).toBe(false);
  });
});

test('no temporal, no network and no Go: fails within 10 s naming every step tried', async () => {
  const cacheDir = fresh('nothing');
  const r = await find({ PATH: cleanPath(), cacheDir, infoUrl: silentUrl });
  expect(r.error).toBeDefined();
  expect(r.ms).toBeLessThan(10_000);
  for (const step of ['TEMPORAL_BIN', 'the PATH', "Herald's cache", "the Temporal SDK's download", 'no `go` on the PATH']) {
    expect(r.error).toContain(step);
  }
  expect(r.error).toContain(new URL(silentUrl).origin);
});

describe('`npm start` with no temporal anywhere and no network', () => {
  let herald: NpmStart | null = null;
  afterAll(async () => {
    if (herald && herald.child.exitCode === null) await stopNpmStart(herald);
  });

  test('tries the download, builds with Go within 10 s showing progress, and comes up', async () => {
    const bin = fresh('go-bin');
    const marker = path.join(bin, 'go-ran');
    fakeGo(bin, marker, 12);
    const cacheHome = fresh('xdg-cache');
    const dataDir = fresh('data');
    const port = await freePort();
    herald = spawnNpmStart({
      dataDir,
      port,
      apiKeys: 'find:find-temporal-key',
      taskQueue: `herald-find-temporal-${process.pid}`,
      temporalAddress: '',
      env: {
        PATH: [bin, ...cleanPath()].join(path.delimiter),
        TEMPORAL_BIN: '',
        XDG_CACHE_HOME: cacheHome,
        HERALD_TEMPORAL_PORT: String(await freePort()),
        HERALD_TEMPORAL_UI_PORT: String(await freePort()),
        HERALD_TEMPORAL_DOWNLOAD_URL: silentUrl,
      },
    });
    // When each line first appeared.
    const seen = new Map<string, number>();
    const poll = setInterval(() => {
      for (const line of herald!.output().split('\n')) if (!seen.has(line)) seen.set(line, Date.now());
    }, 100);
    try {
      await waitReady(herald, 300_000);
    } finally {
      clearInterval(poll);
    }
    for (const line of herald.output().split('\n')) if (!seen.has(line)) seen.set(line, Date.now());
    const at = (re: RegExp) => {
      const hit = [...seen.entries()].find(([line]) => re.test(line));
      if (!hit) throw new Error(`no line matching ${re} in:\n${herald!.output().slice(-4000)}`);
      return hit[1];
    };

    const asked = at(/downloading the Temporal dev server with the Temporal SDK/);
    const gaveUp = at(/the Temporal SDK's download failed: could not reach http:\/\/127\.0\.0\.1/);
    const building = at(/building the Temporal CLI from source with Go/);
    expect(gaveUp - asked).toBeLessThan(10_000);
    expect(building - asked).toBeLessThan(10_000);
    at(/usually takes 10-15 minutes/);
    at(/go build \d+(\.\d)?s: (downloading|compiling) \S+ \(\d+ modules downloaded, \d+ packages compiled\)/);
    at(/built .*temporal in/);
    at(/Temporal ready at/);

    expect(readFileSync(marker, 'utf8')).toContain('install');
    const log = readFileSync(path.join(cacheHome, 'herald', 'go-build-temporal.log'), 'utf8');
    expect(log).toContain('go: downloading go.temporal.io/server v1.29.1');
    expect(log).toContain('github.com/temporalio/cli/cmd/temporal');
    expect(existsSync(path.join(cacheHome, 'herald', 'bin', 'temporal'))).toBe(true);

    const res = await fetch(`http://127.0.0.1:${port}/ready`);
    expect(res.status).toBe(200);
    const stopped = await stopNpmStart(herald);
    expect(stopped.code).toBe(0);
  });
});
