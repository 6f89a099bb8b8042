#!/usr/bin/env node
'use strict';
// `npx herald ...`: runs src/cli/main.ts with tsx in a child node process (so `require.main === module` holds there
// and both CommonJS and ESM dependencies load), in the caller's working directory.
const { spawn } = require('node:child_process');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

const root = path.resolve(__dirname, '..');
let tsxLoader;
try {
  tsxLoader = require.resolve('tsx', { paths: [root] });
} catch {
  console.error(`herald: dependencies are not installed; run \`npm ci\` in ${root} first`);
  process.exit(1);
}

const child = spawn(
  process.execPath,
  ['--import', pathToFileURL(tsxLoader).href, path.join(root, 'src', 'cli', 'main.ts'), ...process.argv.slice(2)],
  { stdio: 'inherit' },
);

// The child shares our process group, so a Ctrl-C on the terminal reaches it directly: forwarding SIGINT would
// deliver it twice. Signals sent to this process alone (SIGTERM, SIGHUP) are passed on.
process.on('SIGINT', () => {});
for (const signal of ['SIGTERM', 'SIGHUP']) {
  process.on(signal, () => child.kill(signal));
}

child.on('error', (err) => {
  console.error(`herald: could not start node: ${err.message}`);
  process.exit(1);
});
child.on('exit', (code, signal) => {
  if (signal) {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
    return;
  }
  process.exit(code ?? 1);
});
