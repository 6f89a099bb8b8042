#!/usr/bin/env node
// Bundles Herald's workflow code (webpack, through the Temporal SDK's bundleWorkflowCode) into one file, in a process of
// its own: src/worker/workflow-bundle.ts runs it once per change of the code and caches the result under DATA_DIR, so a
// worker never loads webpack (in the worker it raised the start-up peak by about 120 MB, about 60 MB of it kept).
//
//   node scripts/bundle-workflows.mjs <out.js> <workflowsPath> [workflowInterceptorModule...]
//
// Writes <out.js> atomically (a temporary file renamed into place), so workers starting at the same time never read a
// half-written bundle. Exit 0 on success; 1 with the error on stderr.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const [out, workflowsPath, ...workflowInterceptorModules] = process.argv.slice(2);
if (!out || !workflowsPath) {
  console.error('usage: node scripts/bundle-workflows.mjs <out.js> <workflowsPath> [workflowInterceptorModule...]');
  process.exit(2);
}

const quiet = () => undefined;
const logger = { trace: quiet, debug: quiet, info: quiet, log: quiet, warn: (msg, meta) => console.error(msg, meta ?? ''), error: (msg, meta) => console.error(msg, meta ?? '') };

try {
  const { bundleWorkflowCode } = require('@temporalio/worker');
  const { code } = await bundleWorkflowCode({ workflowsPath, workflowInterceptorModules, logger });
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, code);
  fs.renameSync(tmp, out);
  process.exit(0);
} catch (err) {
  console.error(err?.stack ?? String(err));
  process.exit(1);
}
