import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface ApiMetrics {
  duration: Histogram<'endpoint' | 'mode' | 'status'>;
  requests: Counter<'endpoint' | 'status'>;
  servedLogFailures: Counter;
  normBound: Counter<'outcome'>;
  /** answers given when a request's budget ran out or its backend was unavailable */
  fallbacks: Counter<'endpoint' | 'answer'>;
  /** 0 closed, 1 half-open, 2 open */
  breakerState: Gauge<'backend'>;
}

/** API metrics on the given registry (reused if this registry already has them). */
export function apiMetrics(registry: Registry): ApiMetrics {
  const reuse = <T>(name: string, make: () => T): T =>
    (registry.getSingleMetric(name) as T | undefined) ?? make();
  const registers = [registry];
  return {
    duration: reuse(
      'recsys_api_request_duration_seconds',
      () =>
        new Histogram({
          name: 'recsys_api_request_duration_seconds',
          help: 'API request latency by endpoint, scoring mode and HTTP status',
          labelNames: ['endpoint', 'mode', 'status'],
          buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
          registers,
        }),
    ),
    requests: reuse(
      'recsys_api_requests_total',
      () =>
        new Counter({
          name: 'recsys_api_requests_total',
          help: 'API requests by endpoint and HTTP status',
          labelNames: ['endpoint', 'status'],
          registers,
        }),
    ),
    servedLogFailures: reuse(
      'recsys_api_served_log_failures_total',
      () =>
        new Counter({
          name: 'recsys_api_served_log_failures_total',
          help: 'Served-list records that could not be produced to Kafka',
          registers,
        }),
    ),
    normBound: reuse(
      'recsys_api_norm_bound_total',
      () =>
        new Counter({
          name: 'recsys_api_norm_bound_total',
          help: "Norm-bounded exact searches: held = the answer proved exact, widened = searched again without the bound (the probe's copy of item attributes was stale)",
          labelNames: ['outcome'],
          registers,
        }),
    ),
    fallbacks: reuse(
      'recsys_api_fallback_answers_total',
      () =>
        new Counter({
          name: 'recsys_api_fallback_answers_total',
          help: 'Requests answered without their backend: answer = degraded (cached popular list), unavailable (503 + Retry-After) or pending (events accepted, broker acknowledgement still outstanding)',
          labelNames: ['endpoint', 'answer'],
          registers,
        }),
    ),
    breakerState: reuse(
      'recsys_circuit_breaker_state',
      () =>
        new Gauge({
          name: 'recsys_circuit_breaker_state',
          help: 'Circuit breaker per backend: 0 closed, 1 half-open (probing), 2 open (failing fast)',
          labelNames: ['backend'],
          registers,
        }),
    ),
  };
}
