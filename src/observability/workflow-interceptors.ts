// Workflow-side observer bundled into every worker's workflow code (WORKFLOW_INTERCEPTOR_MODULES in
// src/worker/create-worker.ts). It reads the state every contentPipeline saves (the saveState activity's input, local or not) and
// reports stage durations and publish lateness through a sink. It schedules nothing and changes no command, so
// recorded histories replay unchanged; sinks are not called during replay, so a stage that spans a worker restart is
// counted once, by the worker that saw it end.
import {
  proxySinks,
  type ActivityInput,
  type LocalActivityInput,
  type Next,
  type WorkflowInterceptors,
  type WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';
import type { PipelineState, PipelineStatus } from '../domain/types';
import type { PipelineMetricsSinks, PipelineStage } from './pipeline-metrics-sinks';

const STAGE_OF: Partial<Record<PipelineStatus, PipelineStage>> = {
  generating: 'generate',
  illustrating: 'illustrate',
  adapting: 'adapt',
  awaiting_approval: 'approval_wait',
  scheduled: 'scheduled_wait',
  publishing: 'publish',
};

const { heraldPipelineMetrics } = proxySinks<PipelineMetricsSinks>();

class PipelineStateObserver implements WorkflowOutboundCallsInterceptor {
  private current: { status: PipelineStatus; since: number } | null = null;
  private readonly reported = new Set<number>();

  scheduleActivity(input: ActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleActivity'>): Promise<unknown> {
    this.observeSave(input);
    return next(input);
  }

  /** Lean pipelines save as a local activity (patched 'lean-pipeline'). */
  scheduleLocalActivity(input: LocalActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleLocalActivity'>): Promise<unknown> {
    this.observeSave(input);
    return next(input);
  }

  private observeSave(input: { activityType: string; args: unknown[] }): void {
    const state = input.activityType === 'saveState' ? (input.args[0] as { state?: PipelineState } | undefined)?.state : undefined;
    if (state) this.observe(state);
  }

  private observe(state: PipelineState): void {
    const at = Date.parse(state.updatedAt);
    if (Number.isNaN(at)) return;
    if (this.current?.status !== state.status) {
      const stage = this.current ? STAGE_OF[this.current.status] : undefined;
      if (stage && this.current) heraldPipelineMetrics.stageEnded(stage, Math.max(0, at - this.current.since) / 1000);
      this.current = { status: state.status, since: at };
    }
    const publishAt = state.publishAt ? Date.parse(state.publishAt) : NaN;
    if (Number.isNaN(publishAt)) return;
    state.publications.forEach((p, index) => {
      if (p.status !== 'published' || !p.publishedAt || this.reported.has(index)) return;
      this.reported.add(index);
      heraldPipelineMetrics.published(p.platform, (Date.parse(p.publishedAt) - publishAt) / 1000);
    });
  }
}

export const interceptors = (): WorkflowInterceptors => ({ outbound: [new PipelineStateObserver()] });
