import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per process, created at start and passed to whoever records metrics. */
export function createRegistry(defaults = true): Registry {
  const registry = new Registry();
  if (defaults) collectDefaultMetrics({ register: registry, prefix: 'recsys_' });
  return registry;
}

export interface IngestMetrics {
  consumed: Counter<'topic'>;
  indexed: Counter<'topic'>;
  duplicates: Counter<'topic'>;
  retried: Counter<'topic' | 'reason'>;
  deadLettered: Counter<'topic' | 'reason'>;
  lag: Gauge<'topic' | 'partition'>;
  batchSeconds: Histogram<'topic'>;
  /**
   * wall seconds per step of the consumer, summed over chunks (several partitions run at once, so the
   * sum can exceed the elapsed time): kafka_fetch (fetch + decode rounds, on the critical path of every
   * partition), transform (JSON, validation, documents, attribution lookups), ledger_claims,
   * ledger_owners, bulk, settle (attribution follow-ups), dead_letters, commit (offsets + heartbeat)
   */
  phaseSeconds: Counter<'topic' | 'phase'>;
  /** chunks (bulk-sized slices of a consumed batch) stored */
  chunks: Counter<'topic'>;
  esUnavailable: Gauge;
  /** actions on served lists: attributed (model known) or unattributed (id not ours / forged / unknown) */
  attributions: Counter<'result'>;
  /** actions carrying a recommendation_id that earned no credit, by reason (see ingest/attribution.ts) */
  unattributed: Counter<'reason'>;
  /** how attributions got their position: immediate, pending, resolved_by_events, resolved_by_served, failed */
  attributionPositions: Counter<'outcome'>;
}

export function ingestMetrics(registry: Registry): IngestMetrics {
  const r = { registers: [registry] };
  return {
    consumed: new Counter({
      name: 'recsys_ingest_consumed_total',
      help: 'Messages consumed from Kafka',
      labelNames: ['topic'],
      ...r,
    }),
    indexed: new Counter({
      name: 'recsys_ingest_indexed_total',
      help: 'Documents newly written to Elasticsearch',
      labelNames: ['topic'],
      ...r,
    }),
    duplicates: new Counter({
      name: 'recsys_ingest_duplicates_total',
      help: 'Messages whose _id was already stored (replays)',
      labelNames: ['topic'],
      ...r,
    }),
    retried: new Counter({
      name: 'recsys_ingest_retried_total',
      help: 'Bulk items or requests retried',
      labelNames: ['topic', 'reason'],
      ...r,
    }),
    deadLettered: new Counter({
      name: 'recsys_ingest_dead_lettered_total',
      help: 'Messages sent to the dead-letter topic',
      labelNames: ['topic', 'reason'],
      ...r,
    }),
    lag: new Gauge({
      name: 'recsys_ingest_consumer_lag',
      help: 'Messages behind the log end per partition',
      labelNames: ['topic', 'partition'],
      ...r,
    }),
    batchSeconds: new Histogram({
      name: 'recsys_ingest_batch_seconds',
      help: 'Time to store one consumed batch',
      labelNames: ['topic'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      ...r,
    }),
    phaseSeconds: new Counter({
      name: 'recsys_ingest_phase_seconds_total',
      help: 'Wall seconds spent per consumer step (kafka_fetch, transform, ledger_claims, ledger_owners, bulk, settle, dead_letters, commit), summed over chunks',
      labelNames: ['topic', 'phase'],
      ...r,
    }),
    chunks: new Counter({
      name: 'recsys_ingest_chunks_total',
      help: 'Bulk-sized chunks of consumed batches handled',
      labelNames: ['topic'],
      ...r,
    }),
    esUnavailable: new Gauge({
      name: 'recsys_ingest_es_unavailable',
      help: '1 while Elasticsearch cannot be reached and the consumer waits',
      ...r,
    }),
    attributions: new Counter({
      name: 'recsys_ingest_attributions_total',
      help: 'Actions carrying a recommendation_id, by result (attributed | repeat | unattributed)',
      labelNames: ['result'],
      ...r,
    }),
    unattributed: new Counter({
      name: 'recsys_ingest_unattributed_total',
      help: 'Actions carrying a recommendation_id that earned no credit, by reason (invalid_id | other_user | before_serve | outside_window | list_not_found)',
      labelNames: ['reason'],
      ...r,
    }),
    attributionPositions: new Counter({
      name: 'recsys_ingest_attribution_positions_total',
      help: 'Positions of attributed actions, by how they were set (immediate | pending | resolved_by_events | resolved_by_served | failed)',
      labelNames: ['outcome'],
      ...r,
    }),
  };
}
