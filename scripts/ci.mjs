#!/usr/bin/env node
// CI (`.ci/run`): installs with `npm ci`, then typecheck, lint, the compose file's check (dclint), the unit tier on Node 24, and the whole suite
// (`npm test`). Every step runs even when an earlier one fails; the exit code is nonzero when any failed. The last line
// is always `<n> passed, <n> failed`, summed from jest's JSON results of the unit tier and the whole suite (a test
// suite that fails to run counts as one failed test, a run that writes no results as one more).
// Arguments go to jest in the `npm test` step only (`.ci/run test/system` runs the other steps and that folder).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDeps } from './lib/deps.mjs';
import { node24BinDir } from './lib/node24.mjs';
import { isWindows, killGroup } from './lib/proc.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const resultsDir = path.join(root, '.data', 'ci');
const MIN = 60_000;
const CLOSED_PG = 'postgres://postgres@127.0.0.1:1/none';
const say = (msg) => console.log(`ci: ${msg}`);

/** Runs a command with inherited output in its own process group; kills the group after timeoutMs. */
function run(cmd, args, { env = process.env, timeoutMs }) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(cmd, args, { cwd: root, env, stdio: 'inherit', detached: !isWindows, shell: isWindows });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, timeoutMs);
    const done = (code) => {
      clearTimeout(timer);
      resolve({ ok: code === 0 && !timedOut, code, timedOut, seconds: (Date.now() - started) / 1000 });
    };
    child.once('error', () => done(127));
    child.once('exit', (code, signal) => done(code ?? (signal ? 1 : 0)));
  });
}

function readResults(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

const steps = [];
const totals = { passed: 0, failed: 0 };

function record(name, res, detail = '') {
  const how = res.timedOut ? 'timed out' : res.ok ? 'ok' : `failed (exit ${res.code})`;
  steps.push({ name, ok: res.ok });
  say(`${name}: ${how} in ${res.seconds.toFixed(0)} s${detail}`);
}

/** A jest run: adds its results to the totals. */
async function jestStep(name, npmArgs, { env, timeoutMs, jestArgs = [] }) {
  const file = path.join(resultsDir, `${name.replace(/\W+/g, '-')}.json`);
  fs.rmSync(file, { force: true });
  say(`${name}...`);
  const res = await run('npm', [...npmArgs, '--', '--json', `--outputFile=${file}`, ...jestArgs], { env, timeoutMs });
  const r = readResults(file);
  if (!r) {
    totals.failed += 1;
    record(name, { ...res, ok: false }, `; no results in ${path.relative(root, file)} (counted as 1 failed)`);
    return;
  }
  const failed = r.numFailedTests + r.numRuntimeErrorTestSuites;
  totals.passed += r.numPassedTests;
  totals.failed += failed;
  const broken = r.numRuntimeErrorTestSuites ? `, ${r.numRuntimeErrorTestSuites} suite(s) failed to run` : '';
  record(name, { ...res, ok: res.ok && failed === 0 }, `: ${r.numPassedTests} passed, ${failed} failed${broken}`);
}

async function main() {
  fs.mkdirSync(resultsDir, { recursive: true });
  say(`Node ${process.versions.node}, ${root}`);
  try {
    ensureDeps(root, { strict: true });
  } catch (err) {
    say(`install: ${err.message}`);
    return 1;
  }

  record('typecheck', await run('npm', ['run', 'typecheck'], { timeoutMs: 10 * MIN }));
  record('lint', await run('npm', ['run', 'lint'], { timeoutMs: 10 * MIN }));
  record('compose file against the Compose specification', await run('npm', ['run', 'lint:compose'], { timeoutMs: 2 * MIN }));

  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  if (!pkg.scripts?.['test:unit']) {
    record('unit tier on Node 24', { ok: false, code: 1, seconds: 0 }, ': package.json has no test:unit script');
  } else {
    let binDir = null;
    try {
      binDir = node24BinDir({ say });
    } catch (err) {
      record('unit tier on Node 24', { ok: false, code: 1, seconds: 0 }, `: ${err.message}`);
    }
    if (binDir) {
      // No service at all: the databases and Redis on a closed port, no Temporal (the unit tier must not need them).
      const env = {
        ...process.env,
        PATH: `${binDir}${path.delimiter}${process.env.PATH ?? ''}`,
        DATABASE_URL: CLOSED_PG,
        TEST_DATABASE_URL: CLOSED_PG,
        REDIS_URL: 'redis://127.0.0.1:1',
      };
      delete env.TEMPORAL_ADDRESS;
      delete env.TEST_TEMPORAL_ADDRESS;
      await jestStep('unit tier on Node 24', ['run', 'test:unit'], { env, timeoutMs: 10 * MIN });
    }
  }

  await jestStep('npm test', ['test'], { env: process.env, timeoutMs: 50 * MIN, jestArgs: process.argv.slice(2) });

  const failedSteps = steps.filter((s) => !s.ok).map((s) => s.name);
  if (failedSteps.length) say(`failed: ${failedSteps.join(', ')}`);
  return failedSteps.length || totals.failed ? 1 : 0;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  say(`error: ${err?.stack ?? err}`);
}
console.log(`${totals.passed} passed, ${totals.failed} failed`);
process.exit(code);
