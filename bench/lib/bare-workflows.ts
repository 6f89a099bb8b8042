// The baseline the issue 11 benches compare Herald with: a bare Temporal workflow of the pipeline's shape and nothing
// else (10 activities in sequence, then 4 child workflows of one activity each, each child followed by one more
// activity in the parent: 18 activities). Every activity does nothing. Bundled by bench/lib/bare-worker.ts.
import { executeChild, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { BareActivities } from './bare-activities';

const { nothing } = proxyActivities<BareActivities>({ startToCloseTimeout: '1 minute' });

export const SEQUENTIAL_STEPS = 10;
export const CHILDREN = 4;

export async function barePublication(): Promise<void> {
  await nothing();
}

export async function barePipeline(): Promise<void> {
  for (let i = 0; i < SEQUENTIAL_STEPS; i++) await nothing();
  const id = workflowInfo().workflowId;
  await Promise.all(
    Array.from({ length: CHILDREN }, async (_, i) => {
      await executeChild(barePublication, { workflowId: `${id}-child-${i}` });
      await nothing();
    }),
  );
}
