// Bundles of changed copies of the workflow code, to prove that the replay test catches a change that would break
// running pipelines (and lets the same change through behind `patched`). Every file of src/workflows is copied to a
// directory under .data/test (inside the project, so `@temporalio/workflow` resolves from its node_modules), imports
// of the rest of src are pointed back at src, and `alter` rewrites content-pipeline.ts.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { ROOT, TEST_DATA_DIR } from '../helpers/env';

const WORKFLOWS_DIR = path.join(ROOT, 'src', 'workflows');
const quiet = { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} } as never;

export async function bundleVariant(name: string, alter: (contentPipelineSource: string) => string): Promise<string> {
  const dir = path.join(TEST_DATA_DIR, `workflow-variant-${name}-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  try {
    for (const file of readdirSync(WORKFLOWS_DIR).filter((f) => f.endsWith('.ts'))) {
      let text = readFileSync(path.join(WORKFLOWS_DIR, file), 'utf8');
      // '../domain/ids' -> '<root>/src/domain/ids'; './messages' stays (it is copied too).
      text = text.replace(/from '(\.\.\/[^']+)'/g, (_m, rel: string) => `from '${path.join(WORKFLOWS_DIR, rel).split(path.sep).join('/')}'`);
      if (file === 'content-pipeline.ts') text = alter(text);
      writeFileSync(path.join(dir, file), text);
    }
    const { code } = await bundleWorkflowCode({ workflowsPath: path.join(dir, 'index.ts'), logger: quiet });
    return code;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * contentPipeline's "adapting" step, as it stands in the source: the status is saved (saveState), then the variants
 * are made (adaptVariants). Throws when the source no longer has this shape, so the proof is never silently skipped.
 */
const ADAPTING_STEP = /( *)(await (?:run\.)?setStatus\('adapting', \{ images \}\);)\n\n *const variants = (await (?:adaptVariants|\(run\.lean \? adaptVariantsLocal : adaptVariants\))\(\{[\s\S]*?\n *\}\));\n/;

function adaptingStep(source: string): RegExpExecArray {
  const m = ADAPTING_STEP.exec(source);
  if (!m) {
    throw new Error(
      "content-pipeline.ts no longer has \"await run.setStatus('adapting', { images }); const variants = await adaptVariants({...});\": " +
        'update ADAPTING_STEP in test/replay/workflow-variants.ts to two adjacent steps of the current code',
    );
  }
  return m;
}

/** The two steps swapped: adaptVariants first, then the status is saved. A change that breaks running pipelines. */
export function swapAdaptingSteps(source: string): string {
  const m = adaptingStep(source);
  const [whole, indent, status, call] = m;
  return source.replace(whole, `${indent}const variants = ${call};\n${indent}${status}\n`);
}

/** The same swap behind `patched`: pipelines already past this point replay the old order; new ones take the new. */
export function swapAdaptingStepsPatched(source: string): string {
  const m = adaptingStep(source);
  const [whole, indent, status, call] = m;
  if (!source.includes('  proxyActivities,\n')) throw new Error('content-pipeline.ts: the @temporalio/workflow import list has changed');
  const replaced = source.replace(
    whole,
    `${indent}let variants: Awaited<ReturnType<typeof adaptVariants>>;\n` +
      `${indent}if (patched('adapt-before-adapting-status')) {\n` +
      `${indent}  variants = ${call};\n` +
      `${indent}  ${status}\n` +
      `${indent}} else {\n` +
      `${indent}  ${status}\n` +
      `${indent}  variants = ${call};\n` +
      `${indent}}\n`,
  );
  // The source may import patched already (for a patch of its own).
  return /^ {2}patched,$/m.test(source) ? replaced : replaced.replace('  proxyActivities,\n', '  patched,\n  proxyActivities,\n');
}
