#!/usr/bin/env node
// Builds the browser console (src/console, Preact) into .data/console with esbuild: index.html plus hashed app-*.js and
// app-*.css (earlier ones kept for 15 minutes), and build.json (the input files, so a later run knows whether the build
// is stale). The API serves that folder at / and /console/*. `node scripts/build-console.mjs` always builds;
// scripts/run.mjs calls ensureConsole() before `npm start`, `npm run api` and `npm test`, which builds only when the
// output is missing or older than a source.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import zlib from 'node:zlib';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CONSOLE_SRC = path.join(root, 'src', 'console');
export const CONSOLE_OUT = path.join(root, '.data', 'console');
const MANIFEST = path.join(CONSOLE_OUT, 'build.json');
const KEEP_OLD_BUNDLES_MS = 15 * 60_000;
// Besides the bundle's own inputs: what changes the output without being one of them.
const ALSO_WATCHED = [fileURLToPath(import.meta.url), path.join(root, 'package-lock.json'), path.join(CONSOLE_SRC, 'index.html')];

function filesUnder(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath ?? e.path, e.name));
}

const mtime = (file) => {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return Infinity; // a missing input (deleted or renamed) makes the build stale
  }
};

/** Why the build must run again, or null when .data/console is newer than everything it was built from. */
export function staleReason() {
  let manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(MANIFEST, 'utf8'));
  } catch {
    return 'not built yet';
  }
  if (!manifest.files.every((f) => fs.existsSync(path.join(CONSOLE_OUT, f)))) return 'output files missing';
  const inputs = [...manifest.inputs.map((f) => path.join(root, f)), ...filesUnder(CONSOLE_SRC), ...ALSO_WATCHED];
  const newer = inputs.find((f) => mtime(f) > manifest.builtAtMs);
  return newer ? `${path.relative(root, newer)} changed` : null;
}

/** Builds into .data/console (replacing what was there). Resolves { ms, files }. */
export async function buildConsole() {
  const started = Date.now();
  const esbuild = await import('esbuild');
  const staging = `${CONSOLE_OUT}.tmp-${process.pid}-${started}`;
  fs.rmSync(staging, { recursive: true, force: true });
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: { app: path.join(CONSOLE_SRC, 'main.tsx') },
    outdir: staging,
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    bundle: true,
    // The browser platform refuses Node builtins: anything under src/ the console imports must be browser-safe.
    platform: 'browser',
    format: 'esm',
    target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    sourcemap: 'linked',
    metafile: true,
    legalComments: 'none',
    define: { 'process.env.NODE_ENV': '"production"' },
    // twitter-text's ES build exports only a default object, so src/domain/text-count's named imports (X's counting,
    // which approvals count live) fail there; its CommonJS build gives them.
    alias: { 'twitter-text': './node_modules/twitter-text/dist/index.js' },
    logLevel: 'silent',
  });
  const outputs = Object.keys(result.metafile.outputs).map((f) => path.basename(f));
  const js = outputs.find((f) => /^app-.*\.js$/.test(f));
  const css = outputs.find((f) => /^app-.*\.css$/.test(f));
  if (!js || !css) throw new Error(`console build produced no ${js ? 'stylesheet' : 'script'} (outputs: ${outputs.join(', ')})`);
  const html = fs.readFileSync(path.join(CONSOLE_SRC, 'index.html'), 'utf8')
    .replaceAll('%APP_JS%', `/console/${js}`)
    .replaceAll('%APP_CSS%', `/console/${css}`);
  fs.writeFileSync(path.join(staging, 'index.html'), html);
  // Compressed once here, so the API sends a third of the bytes to a browser that takes gzip, at no cost per request.
  const zipped = [js, css].map((f) => {
    fs.writeFileSync(path.join(staging, `${f}.gz`), zlib.gzipSync(fs.readFileSync(path.join(staging, f)), { level: 9 }));
    return `${f}.gz`;
  });
  const files = ['index.html', ...outputs, ...zipped];
  const inputs = Object.keys(result.metafile.inputs).filter((f) => !f.startsWith('node_modules/'));
  fs.writeFileSync(path.join(staging, 'build.json'), JSON.stringify({ builtAtMs: started, files, inputs }, null, 2));
  publish(staging, files);
  return { ms: Date.now() - started, files };
}

/**
 * Moves a finished build into .data/console while an API may be serving it (another `npm test` in the same tree, a
 * running `npm start`): the hashed bundles first, then index.html and build.json each replaced by a rename, so a page
 * never names a bundle that is not there. Earlier bundles stay a while for pages loaded just before; older ones go.
 */
function publish(staging, files) {
  fs.mkdirSync(CONSOLE_OUT, { recursive: true });
  const last = ['index.html', 'build.json'];
  for (const f of [...files.filter((f) => !last.includes(f)), ...last]) fs.renameSync(path.join(staging, f), path.join(CONSOLE_OUT, f));
  fs.rmSync(staging, { recursive: true, force: true });
  const keepSince = Date.now() - KEEP_OLD_BUNDLES_MS;
  for (const f of fs.readdirSync(CONSOLE_OUT)) {
    const file = path.join(CONSOLE_OUT, f);
    if (!files.includes(f) && f !== 'build.json' && fs.statSync(file).mtimeMs < keepSince) fs.rmSync(file, { recursive: true, force: true });
  }
}

/** Builds when missing or stale; says so in one line. */
export async function ensureConsole(say = (msg) => console.log(`herald: ${msg}`)) {
  const reason = staleReason();
  if (!reason) return false;
  const { ms } = await buildConsole();
  say(`console built (${reason}) in ${ms} ms: ${path.relative(root, CONSOLE_OUT)}`);
  return true;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  buildConsole().then(
    ({ ms, files }) => console.log(`console built in ${ms} ms: ${files.join(', ')}`),
    (err) => {
      console.error(`console build failed: ${err?.message ?? err}`);
      process.exit(1);
    },
  );
}
