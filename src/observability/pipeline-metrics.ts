// The worker's pipeline histograms, fed by the workflow-side observer (workflow-interceptors.ts) through a sink.
import type { InjectedSinks } from '@temporalio/worker';
import { Histogram, type Registry } from 'prom-client';
import type { PipelineMetricsSinks } from './pipeline-metrics-sinks';

export interface PipelineMetrics {
  stageSeconds: Histogram<'stage'>;
  publishLatenessSeconds: Histogram<'platform'>;
}

function histogram<T extends string>(registry: Registry, name: string, help: string, labelNames: T[], buckets: number[]): Histogram<T> {
  // A second worker on the same registry (tests, `npm start`) shares the metric instead of throwing.
  return (registry.getSingleMetric(name) as Histogram<T> | undefined) ?? new Histogram<T>({ name, help, labelNames, buckets, registers: [registry] });
}

export function createPipelineMetrics(registry: Registry): PipelineMetrics {
  return {
    // Stages run from under a second (adapt) to days (an approval or a publish time a week ahead).
    stageSeconds: histogram(registry, 'herald_stage_duration_seconds', 'Time a pipeline spent in each stage (workflow time)', ['stage'], [
      0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14_400, 86_400, 604_800,
    ]),
    // Late by a workflow task (a second or less) to late by a quota wait (hours); negative buckets catch a clock running early.
    publishLatenessSeconds: histogram(
      registry,
      'herald_publish_lateness_seconds',
      'Published time minus publishAt of scheduled posts, by platform',
      ['platform'],
      [-1, 0, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600, 14_400],
    ),
  };
}

/** The sink the workflow-side observer calls; never during replay (the SDK's default), so nothing is counted twice. */
export function pipelineMetricsSinks(metrics: PipelineMetrics): InjectedSinks<PipelineMetricsSinks> {
  return {
    heraldPipelineMetrics: {
      stageEnded: { fn: (_info, stage, seconds) => metrics.stageSeconds.observe({ stage }, seconds) },
      published: { fn: (_info, platform, seconds) => metrics.publishLatenessSeconds.observe({ platform }, seconds) },
    },
  };
}
