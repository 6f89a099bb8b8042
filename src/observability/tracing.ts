// OpenTelemetry traces, exported over OTLP/HTTP (JSON) to OTEL_EXPORTER_OTLP_ENDPOINT. Loaded only when that is set
// (callers import this module lazily), so a Herald without an endpoint loads none of it. One tracer provider per
// process: the API and the worker of `npm start` share it.
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ClientInterceptors } from '@temporalio/client';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { InjectedSinks, WorkerOptions } from '@temporalio/worker';
import { installProviderSpans } from './provider-span';

export const TRACER_NAME = 'herald';

export interface Tracing {
  endpoint: string;
  /** For every Temporal client that starts or signals workflows: the start span and the context in the headers. */
  clientInterceptors: ClientInterceptors;
  /**
   * Activity spans (children of the workflow's), the sink that exports the workflow's own spans, and the workflow
   * interceptors to bundle into the workflow code.
   */
  worker: {
    activity: NonNullable<NonNullable<WorkerOptions['interceptors']>['activity']>;
    sinks: InjectedSinks<any>;
    workflowModules: string[];
  };
  /** Sends what is buffered. */
  flush(): Promise<void>;
}

let current: Tracing | null = null;

/** `${endpoint}/v1/traces`, as the OTLP specification derives the traces URL from the base endpoint. */
export function tracesUrl(endpoint: string): string {
  return `${endpoint.replace(/\/+$/, '')}/v1/traces`;
}

/**
 * Starts tracing for this process (once; a second call with the same endpoint returns the same one). Registers the
 * global tracer provider, an AsyncLocalStorage context manager and W3C trace-context propagation.
 */
export function startTracing(endpoint: string): Tracing {
  if (current) {
    if (current.endpoint !== endpoint) throw new Error(`tracing already exports to ${current.endpoint}; one endpoint per process`);
    return current;
  }
  const resource = new Resource({ 'service.name': 'herald' });
  // Short delay: a trace is most useful while the pipeline it shows is still running.
  const spanProcessor: SpanProcessor = new BatchSpanProcessor(new OTLPTraceExporter({ url: tracesUrl(endpoint) }), { scheduledDelayMillis: 1000 });
  const provider = new BasicTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register({ contextManager: new AsyncLocalStorageContextManager(), propagator: new W3CTraceContextPropagator() });
  installProviderCallSpans();
  const started: Tracing = {
    endpoint,
    clientInterceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] },
    worker: {
      activity: [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) })],
      sinks: { exporter: makeWorkflowExporter(spanProcessor, resource) },
      workflowModules: [require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')],
    },
    flush: () => provider.forceFlush(),
  };
  current = started;
  return started;
}

function installProviderCallSpans(): void {
  const tracer = trace.getTracer(TRACER_NAME);
  installProviderSpans((info, fn) =>
    tracer.startActiveSpan(
      `${info.method} ${info.provider}`,
      { kind: SpanKind.CLIENT, attributes: { 'herald.provider': info.provider, 'http.request.method': info.method, 'server.address': info.host } },
      async (span) => {
        try {
          const answer = await fn();
          span.setAttribute('http.response.status_code', answer.status);
          if (answer.status >= 400) span.setStatus({ code: SpanStatusCode.ERROR });
          return answer;
        } catch (err) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
          throw err;
        } finally {
          span.end();
        }
      },
    ),
  );
}
