// What workflow code reports to the worker's Prometheus registry. Types only: the workflow bundle imports this too.
import type { Sinks } from '@temporalio/workflow';

/** A pipeline stage as the stage-duration histogram names it. */
export type PipelineStage = 'generate' | 'illustrate' | 'adapt' | 'approval_wait' | 'scheduled_wait' | 'publish';

export interface PipelineMetricsSinks extends Sinks {
  heraldPipelineMetrics: {
    /** A stage ended after `seconds` of workflow time. */
    stageEnded(stage: PipelineStage, seconds: number): void;
    /** A post went out `seconds` after its publishAt (negative: early). */
    published(platform: string, seconds: number): void;
  };
}
