// Prometheus metrics of the resilience layer, registered on the registry the caller passes (one per Herald instance).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface ResilienceMetrics {
  calls: Counter<'provider' | 'outcome'>;
  /** Only calls that reached the provider: a refused call (breaker, rate limit) took no provider time. */
  callSeconds: Histogram<'provider' | 'outcome'>;
  refusals: Counter<'provider'>;
  used: Gauge<'provider' | 'kind' | 'window'>;
  limit: Gauge<'provider' | 'kind' | 'window'>;
  breakerState: Gauge<'provider'>;
  breakerTransitions: Counter<'provider' | 'from' | 'to'>;
  cacheHits: Counter<'provider'>;
  cacheMisses: Counter<'provider'>;
  fallbackActive: Gauge;
}

export const BREAKER_STATE_VALUE = { closed: 0, half_open: 1, open: 2 } as const;

/** `refresh` fills the gauges from the shared state when Prometheus scrapes (it is shared by the gauges; keep it cheap). */
export function createResilienceMetrics(registry: Registry, refresh: () => Promise<void>): ResilienceMetrics {
  // Reuse a metric already on this registry (a second instance on the same registry) instead of throwing.
  const counter = <T extends string>(name: string, help: string, labelNames: T[]) =>
    (registry.getSingleMetric(name) as Counter<T> | undefined) ?? new Counter<T>({ name, help, labelNames, registers: [registry] });
  const gauge = <T extends string>(name: string, help: string, labelNames: T[], collect?: () => Promise<void>) =>
    (registry.getSingleMetric(name) as Gauge<T> | undefined) ?? new Gauge<T>({ name, help, labelNames, registers: [registry], collect });
  return {
    calls: counter('herald_provider_calls_total', 'Provider calls through the resilience layer, by outcome (ok, rate_limited, breaker_open, error)', ['provider', 'outcome']),
    callSeconds:
      (registry.getSingleMetric('herald_provider_call_duration_seconds') as Histogram<'provider' | 'outcome'> | undefined) ??
      new Histogram({
        name: 'herald_provider_call_duration_seconds',
        help: 'Time of provider calls that reached the provider, by outcome (ok, rate_limited, error)',
        labelNames: ['provider', 'outcome'],
        // From a cached-token refresh (tens of ms) to an image model or a slow LLM (a minute).
        buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80],
        registers: [registry],
      }),
    refusals: counter('herald_rate_limit_refusals_total', 'Calls the rate limiter refused before they reached the provider', ['provider']),
    used: gauge('herald_rate_limit_used', 'Units used in each rate-limit window (configured windows; window="reported" is what the provider said)', ['provider', 'kind', 'window'], refresh),
    limit: gauge('herald_rate_limit_limit', 'Size of each rate-limit window', ['provider', 'kind', 'window'], refresh),
    breakerState: gauge('herald_breaker_state', 'Circuit breaker state: 0 closed, 1 half_open, 2 open', ['provider'], refresh),
    breakerTransitions: counter('herald_breaker_transitions_total', 'Circuit breaker state changes seen by this process', ['provider', 'from', 'to']),
    cacheHits: counter('herald_cache_hits_total', 'Response cache hits', ['provider']),
    cacheMisses: counter('herald_cache_misses_total', 'Response cache misses', ['provider']),
    fallbackActive: gauge('herald_redis_fallback_active', '1 while Redis is unreachable and this process uses in-process state', []),
  };
}
