// The workflow code, bundled once and cached under DATA_DIR instead of by every worker at start-up. Bundling (webpack)
// in the worker process raised its start-up peak by about 120 MB, and about 60 MB of it stayed (webpack's and swc's
// modules, and what the V8 heap kept after the build). scripts/bundle-workflows.mjs bundles in a short-lived process
// of its own; the worker reads the file and passes the code (`workflowBundle: { code }`). The file is named by a hash of everything that can change it (the
// sources under src/ other than the browser console, package-lock.json, the bundler script and the interceptor
// modules), so an edited workflow is bundled again on the next start and never served stale.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';

const SRC = path.resolve(__dirname, '..');
const ROOT = path.resolve(SRC, '..');
export const BUNDLER = path.join(ROOT, 'scripts', 'bundle-workflows.mjs');
const BUNDLE_TIMEOUT_MS = 300_000;
// Another worker may be starting with an older bundle it just found: only bundles this much older than the new one go.
const KEEP_OLD_BUNDLES_MS = 10 * 60_000;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (p !== path.join(SRC, 'console')) out.push(...sourceFiles(p));
    } else if (e.isFile()) {
      out.push(p);
    }
  }
  return out;
}

/** A hash of everything the bundle is made from: the same key means the same bundle. */
export function workflowBundleKey(workflowsPath: string, interceptorModules: string[]): string {
  const h = createHash('sha256');
  h.update(JSON.stringify([workflowsPath, interceptorModules]));
  const files = [...sourceFiles(SRC).sort(), path.join(ROOT, 'package-lock.json'), BUNDLER];
  for (const f of files) {
    h.update(`\0${path.relative(ROOT, f)}\0`);
    try {
      h.update(fs.readFileSync(f));
    } catch {
      h.update('(missing)');
    }
  }
  return h.digest('hex').slice(0, 20);
}

function runBundler(out: string, workflowsPath: string, interceptorModules: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BUNDLER, out, workflowsPath, ...interceptorModules], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString()).slice(-4000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), BUNDLE_TIMEOUT_MS);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0 && fs.existsSync(out)) resolve();
      else reject(new Error(`bundling the workflow code failed (${signal ?? `exit ${code}`}): ${stderr.trim()}`));
    });
  });
}

function readIfThere(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * The bundled workflow code for these interceptor modules, read at once: the cached file under
 * `<dataDir>/workflow-bundle` when it matches the sources, else bundled now in a child process (bundles of earlier code
 * there that are more than 10 minutes old are removed). Throws when bundling fails; the caller falls back to bundling
 * in process.
 */
export async function prebuiltWorkflowBundle(o: { dataDir: string; workflowsPath: string; interceptorModules: string[]; logger: Logger }): Promise<{ code: string; codePath: string; built: boolean; ms: number }> {
  const started = Date.now();
  const dir = path.resolve(o.dataDir, 'workflow-bundle');
  const key = workflowBundleKey(o.workflowsPath, o.interceptorModules);
  const codePath = path.join(dir, `workflows-${key}.js`);
  const cached = readIfThere(codePath);
  if (cached !== undefined) return { code: cached, codePath, built: false, ms: Date.now() - started };
  fs.mkdirSync(dir, { recursive: true });
  o.logger.info({ codePath }, 'bundling the workflow code (once per change of the code)');
  await runBundler(codePath, o.workflowsPath, o.interceptorModules);
  const code = fs.readFileSync(codePath, 'utf8');
  // Bundles of earlier code, and temporary files of runs that died.
  for (const f of fs.readdirSync(dir)) {
    if (f !== path.basename(codePath) && /^workflows-[0-9a-f]+\.js(\.tmp-\d+)?$/.test(f)) {
      const p = path.join(dir, f);
      try {
        const keep = f.includes('.tmp-') ? BUNDLE_TIMEOUT_MS : KEEP_OLD_BUNDLES_MS;
        if (Date.now() - fs.statSync(p).mtimeMs > keep) fs.rmSync(p, { force: true });
      } catch {
        // another worker removed it first
      }
    }
  }
  return { code, codePath, built: true, ms: Date.now() - started };
}
