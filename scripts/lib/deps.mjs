// Installing dependencies and reading .env. Plain Node, no npm dependencies (this runs before `npm ci`).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { isWindows } from './proc.mjs';

function mtimeMs(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return null;
  }
}

/**
 * Runs `npm ci` when node_modules is missing or older than package-lock.json. Without `strict` a refused lockfile falls
 * back to `npm install`; CI passes strict, so a lockfile that `npm ci` refuses fails there.
 */
export function ensureDeps(root, { strict = false } = {}) {
  const lock = path.join(root, 'package-lock.json');
  const installed = path.join(root, 'node_modules', '.package-lock.json');
  const lockTime = mtimeMs(lock);
  const installedTime = mtimeMs(installed);
  const missing = !fs.existsSync(path.join(root, 'node_modules')) || installedTime === null;
  if (!missing && (lockTime === null || lockTime <= installedTime)) return;

  console.log(missing ? 'Installing dependencies (npm ci)...' : 'package-lock.json changed: reinstalling dependencies (npm ci)...');
  const npm = (args, stdio) => spawnSync('npm', [...args, '--no-audit', '--no-fund'], { cwd: root, stdio, shell: isWindows });
  // stderr is held back so that a lockfile mismatch does not print npm's whole usage text before the retry.
  let res = npm(['ci'], ['inherit', 'inherit', strict ? 'inherit' : 'pipe']);
  if (res.status !== 0 && !res.error && res.signal === null && !strict) {
    const stderr = String(res.stderr ?? '');
    // `npm ci` refuses a lockfile that lacks optional platform packages (a registry or mirror that serves only some
    // platforms' binaries produces such lockfiles); `npm install` tolerates it and keeps the locked versions.
    if (/in sync/.test(stderr)) console.log('npm ci: package-lock.json is not in sync with package.json; using npm install instead...');
    else process.stderr.write(`${stderr}\nnpm ci failed: retrying with npm install...\n`);
    res = npm(['install'], 'inherit');
  } else if (res.stderr?.length) {
    process.stderr.write(res.stderr);
  }
  if (res.status !== 0) {
    throw new Error(`installing dependencies failed (exit ${res.status ?? res.signal}${res.error ? `: ${res.error.message}` : ''})`);
  }
}

/**
 * Variables from `<root>/.env` (KEY=VALUE lines, # comments, optional quotes, optional `export `). Values already in the
 * environment win. Returns {} when there is no .env.
 */
export function readDotEnv(root) {
  let text;
  try {
    text = fs.readFileSync(path.join(root, '.env'), 'utf8');
  } catch {
    return {};
  }
  const out = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2];
    const quoted = /^(["'])((?:\\.|(?!\1).)*)\1\s*(?:#.*)?$/.exec(value);
    if (quoted) {
      value = quoted[2];
      if (quoted[1] === '"') value = value.replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1');
    } else {
      value = value.replace(/(^|\s+)#.*$/, '').trim();
    }
    out[m[1]] = value;
  }
  return out;
}
