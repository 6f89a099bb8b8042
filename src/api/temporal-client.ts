import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor, type ClientInterceptors, type ConnectionOptions } from '@temporalio/client';
import { temporalConnectionOptions, type Config } from '../config';

type GrpcInterceptor = NonNullable<ConnectionOptions['interceptors']>[number];

/** How long one Temporal call made for an API request may take before the request is answered 503. */
export const TEMPORAL_CALL_DEADLINE_MS = 4_000;

/** Calls that wait on purpose (an Update's outcome, a workflow's result): the server ends their long poll, no deadline. */
const LONG_POLLS = new Set(['UpdateWorkflowExecution', 'PollWorkflowExecutionUpdate', 'GetWorkflowExecutionHistory', 'ExecuteMultiOperation']);

function deadlineInterceptor(ms: number): GrpcInterceptor {
  return (options, nextCall) => {
    const method = options.method_definition.path.slice(options.method_definition.path.lastIndexOf('/') + 1);
    const call = nextCall(options.deadline === undefined && !LONG_POLLS.has(method) ? { ...options, deadline: Date.now() + ms } : options);
    // The next interceptor (the SDK's retry interceptor) returns an InterceptingCall; passing it on is enough.
    return call as ReturnType<GrpcInterceptor>;
  };
}

/**
 * The API's own Temporal client, on its own connection to the same server as `base`, with the configured TLS and API key. The SDK's defaults suit workers
 * (an unreachable server is retried for about 15 s, a call may wait forever); a request must not hang, so here every
 * call but a long poll has a deadline of TEMPORAL_CALL_DEADLINE_MS, an unreachable server is retried for about 2 s
 * only, and a lost connection is tried again every 2 s at most, so the API recovers as soon as Temporal is back. The
 * connection is lazy: the API starts (and /health answers) while Temporal is down. `interceptors`: tracing's, when on.
 */
export function createApiTemporalClient(base: Client, config: Config, interceptors?: ClientInterceptors): Client {
  const from = base.connection instanceof Connection ? base.connection.options : null;
  // TLS and the API key come from the configuration (the SDK keeps an API key out of the options it exposes).
  const connection = Connection.lazy({
    ...temporalConnectionOptions(config),
    address: from?.address ?? config.temporal.address,
    ...(from ? { metadata: from.metadata } : {}),
    channelArgs: {
      ...from?.channelArgs,
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2_000,
    },
    interceptors: [deadlineInterceptor(TEMPORAL_CALL_DEADLINE_MS), makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: 5 }))],
  });
  return new Client({ connection, namespace: base.options.namespace ?? config.temporal.namespace, interceptors });
}
