// Ingest benchmark: sustained events/s from Kafka into Elasticsearch, and produce → searchable
// latency p50/p99 at a paced load. Real Kafka and ES (local, or ES_URL / KAFKA_BROKERS).
//   npx tsx bench/ingest/run.ts [--events 1000000] [--rate 20000] [--latency-events 100000] [--partitions 6] [--bulk 5000]
import { parseArgs } from 'node:util';
import type { Registry } from 'prom-client';
import { benchContext, disposeBench, percentile as pct } from '../common.ts';
import { iterateEvents } from '../../src/demo/generate.ts';
import { createRegistry } from '../../src/infra/metrics.ts';
import { EventProducer } from '../../src/ingest/producer.ts';
import { startIngest } from '../../src/ingest/service.ts';
import { setup } from '../../src/setup/index.ts';
import { recordFigures, round } from '../record.ts';

const { values: a } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    rate: { type: 'string', default: '20000' },
    'latency-events': { type: 'string', default: '100000' },
    partitions: { type: 'string', default: '6' },
    bulk: { type: 'string', default: '5000' },
    keep: { type: 'boolean', default: false },
  },
});
const N = Number(a.events);
const RATE = Number(a.rate);
const LAT_N = Number(a['latency-events']);
/** sustained events/s the ingest must reach (issue 15, "Performance at 1M items"; 20,000 before) */
const TARGET = 50_000;
const ctx = benchContext(
  'ingest',
  { ingest: { batchSize: Number(a.bulk) } },
  { KAFKA_PARTITIONS: a.partitions },
);
const { es, names } = ctx;

async function storedCount(): Promise<number> {
  await es.indices.refresh({ index: names.eventsPattern, ignore_unavailable: true, allow_no_indices: true });
  return (await es.count({ index: names.eventsPattern, ignore_unavailable: true, allow_no_indices: true }))
    .count;
}

const PHASES = [
  'kafka_fetch',
  'transform',
  'ledger_claims',
  'ledger_owners',
  'bulk',
  'settle',
  'dead_letters',
  'commit',
] as const;

/** Indexing, refresh and merge time of the event buckets and of the ledger, and the ES process's CPU, as cumulative counters. */
async function esFigures() {
  const stats = await es.indices.stats({
    index: `${names.eventsIndexPrefix}*,${names.eventIds}`,
    metric: ['indexing', 'refresh', 'merge'],
  });
  const sum = (ledger: boolean) => {
    const out = { docs: 0, indexMs: 0, refreshMs: 0, mergeMs: 0 };
    for (const [index, st] of Object.entries(stats.indices ?? {})) {
      if ((index === names.eventIds) !== ledger) continue;
      out.docs += st.primaries?.indexing?.index_total ?? 0;
      out.indexMs += st.primaries?.indexing?.index_time_in_millis ?? 0;
      out.refreshMs += st.primaries?.refresh?.total_time_in_millis ?? 0;
      out.mergeMs += st.primaries?.merges?.total_time_in_millis ?? 0;
    }
    return out;
  };
  const nodes = await es.nodes.stats({ metric: 'process' });
  const cpuMs = Object.values(nodes.nodes).reduce((a, n) => a + (n.process?.cpu?.total_in_millis ?? 0), 0);
  return { events: sum(false), ledger: sum(true), cpuMs };
}

async function counterByLabel(registry: Registry, name: string, label: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const metric = registry.getSingleMetric(name);
  if (!metric) return out;
  for (const v of (await metric.get()).values) {
    if (v.labels['topic'] !== names.topics.events) continue;
    const key = String(v.labels[label] ?? '');
    out.set(key, (out.get(key) ?? 0) + v.value);
  }
  return out;
}

/** Events the ingest has finished with: newly written, known duplicates or dead-lettered. */
async function ackedCount(registry: Registry): Promise<number> {
  let n = 0;
  for (const name of [
    'recsys_ingest_indexed_total',
    'recsys_ingest_duplicates_total',
    'recsys_ingest_dead_lettered_total',
  ])
    for (const v of (await counterByLabel(registry, name, 'topic')).values()) n += v;
  return n;
}

async function main() {
  await setup(es, ctx.kafka, ctx.config, names, ctx.log);
  const producer = new EventProducer(ctx.kafka, names.topics.events);
  const gen = {
    users: 20_000,
    items: 10_000,
    days: 30,
    seed: 99,
    events: Math.ceil((N + LAT_N) * 1.3),
    malformedFraction: 0,
    startDate: new Date(Date.now() - 30 * 86_400_000),
  };
  const it = iterateEvents(gen);

  // 1. throughput: a backlog of N events, then the consumer drains it
  let t0 = Date.now();
  let batch = [];
  let produced = 0;
  // manual next(): a for-of break would close the generator the latency phase still needs
  for (let r = it.next(); !r.done; r = it.next()) {
    const e = r.value;
    batch.push({ key: e.user_id, value: JSON.stringify(e) });
    if (batch.length === 10_000) {
      await producer.sendRaw(batch);
      produced += batch.length;
      batch = [];
      if (produced >= N) break;
    }
  }
  if (batch.length && produced < N) {
    await producer.sendRaw(batch);
    produced += batch.length;
  }
  const produceSecs = (Date.now() - t0) / 1000;
  console.error(`produced ${produced} in ${produceSecs.toFixed(1)} s`);

  const registry = createRegistry(false);
  const esBefore = await esFigures();
  const cpuBefore = process.cpuUsage();
  t0 = Date.now();
  const svc = await startIngest(ctx, registry);
  // drained = every event acknowledged by ES (written, a duplicate or dead-lettered), read from the
  // consumer's own counters every 200 ms: polling _count forced a refresh of the buckets every second
  // (ES work production does not do) and rounded the drain up to the next poll; checked once at the end
  let acked = 0;
  while ((acked = await ackedCount(registry)) < produced) {
    await new Promise((r) => setTimeout(r, 200));
    process.stderr.write(`\r  acknowledged ${acked}/${produced}`);
  }
  const drainSecs = (Date.now() - t0) / 1000;
  console.error('');
  const nodeCpu = process.cpuUsage(cpuBefore);
  const esAfter = await esFigures();
  const phases = await counterByLabel(registry, 'recsys_ingest_phase_seconds_total', 'phase');
  const chunks =
    (await counterByLabel(registry, 'recsys_ingest_chunks_total', 'topic')).get(names.topics.events) ?? 0;
  const stored = await storedCount();
  if (stored !== produced) console.error(`WARNING: ${stored} events stored of ${produced} produced`);

  // 2. latency at a paced rate: sample 1 in 200 events, poll search by id until visible
  const sent = new Map<string, number>();
  const lat: number[] = [];
  let stop = false;
  const poller = (async () => {
    while (!stop || sent.size) {
      const ids = [...sent.keys()].slice(0, 1000);
      if (ids.length) {
        const r = await es.search({
          index: names.eventsPattern,
          size: ids.length,
          query: { ids: { values: ids } },
          _source: false,
        });
        const now = Date.now();
        for (const h of r.hits.hits) {
          lat.push(now - sent.get(h._id!)!);
          sent.delete(h._id!);
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const tick = 100; // ms
  const perTick = Math.max(1, Math.round((RATE * tick) / 1000));
  let n = 0;
  const startLat = Date.now();
  while (n < LAT_N) {
    const msgs = [];
    const sampled: string[] = [];
    for (let i = 0; i < perTick && n < LAT_N; i++, n++) {
      const e = it.next().value!;
      msgs.push({ key: e.user_id, value: JSON.stringify(e) });
      if (n % 200 === 0) sampled.push(e.event_id);
    }
    const at = Date.now();
    await producer.sendRaw(msgs);
    for (const id of sampled) sent.set(id, at);
    const next = startLat + (n / perTick) * tick;
    await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
  }
  const achievedRate = LAT_N / ((Date.now() - startLat) / 1000);
  stop = true;
  await poller;
  lat.sort((x, y) => x - y);
  await svc.stop();
  await producer.disconnect();

  console.log('\ningest benchmark (Kafka → Elasticsearch, this machine)');
  console.log(
    `  partitions ${a.partitions}, bulk ${a.bulk} docs, refresh_interval 1s, 1 consumer process, up to 6 partitions in flight`,
  );
  console.log(`  produce (idempotent, acks=all)   ${(produced / produceSecs).toFixed(0)} events/s`);
  console.log(
    `  sustained ingest of ${produced}      ${(produced / drainSecs).toFixed(0)} events/s  (${drainSecs.toFixed(1)} s; target ≥ ${TARGET})  ratio ${(produced / drainSecs / TARGET).toFixed(2)}× target`,
  );
  console.log(
    `  latency produce→searchable @ ${achievedRate.toFixed(0)} ev/s: p50 ${pct(lat, 50)} ms, p99 ${pct(lat, 99)} ms (n=${lat.length}; target p99 < 2000 ms)`,
  );
  console.log(
    `\n  where the consumer's time went during the drain (wall s summed over ${chunks} chunks; up to 6 partitions run at once, so the sum exceeds the ${drainSecs.toFixed(1)} s drain):`,
  );
  console.log('  phase            total s   ms/chunk   share');
  const total = PHASES.reduce((t, p) => t + (phases.get(p) ?? 0), 0);
  for (const p of PHASES) {
    const v = phases.get(p) ?? 0;
    console.log(
      `  ${p.padEnd(15)} ${v.toFixed(1).padStart(8)} ${(chunks ? (v * 1000) / chunks : 0).toFixed(1).padStart(10)} ${((100 * v) / (total || 1)).toFixed(1).padStart(6)} %`,
    );
  }
  console.log(
    `  ${'sum'.padEnd(15)} ${total.toFixed(1).padStart(8)} ${(chunks ? (total * 1000) / chunks : 0).toFixed(1).padStart(10)}   (kafka_fetch: fetch rounds, which every partition waits for; the rest per chunk)`,
  );
  console.log(
    `  chunks in flight on average: ${((total - (phases.get('kafka_fetch') ?? 0)) / drainSecs).toFixed(2)} (steps other than kafka_fetch, summed, over the drain)`,
  );
  const phaseRows = PHASES.map((p) => {
    const v = phases.get(p) ?? 0;
    return [p, round(v, 1), round(chunks ? (v * 1000) / chunks : 0, 1), round((100 * v) / (total || 1), 1)];
  });
  const d = (k: 'events' | 'ledger') => ({
    docs: esAfter[k].docs - esBefore[k].docs,
    index: (esAfter[k].indexMs - esBefore[k].indexMs) / 1000,
    refresh: (esAfter[k].refreshMs - esBefore[k].refreshMs) / 1000,
    merge: (esAfter[k].mergeMs - esBefore[k].mergeMs) / 1000,
  });
  for (const k of ['events', 'ledger'] as const) {
    const x = d(k);
    console.log(
      `  ES ${k.padEnd(6)} ${x.docs} docs indexed: indexing ${x.index.toFixed(1)} s (${x.docs ? ((x.index * 1e6) / x.docs).toFixed(0) : '–'} µs/doc), refresh ${x.refresh.toFixed(1)} s, merges ${x.merge.toFixed(1)} s`,
    );
  }
  console.log(
    `  CPU during the drain: Elasticsearch ${((esAfter.cpuMs - esBefore.cpuMs) / 1000).toFixed(1)} s (${((esAfter.cpuMs - esBefore.cpuMs) / 1000 / drainSecs).toFixed(2)} cores), this Node process ${((nodeCpu.user + nodeCpu.system) / 1e6).toFixed(1)} s (${((nodeCpu.user + nodeCpu.system) / 1e6 / drainSecs).toFixed(2)} cores)`,
  );
  await disposeBench(ctx, a.keep);

  const perDoc = (x: ReturnType<typeof d>) => (x.docs ? round((x.index * 1e6) / x.docs, 0) : null);
  const cores = (ms: number) => round(ms / 1000 / drainSecs, 2);
  await recordFigures({
    bench: 'ingest',
    title: `ingest: ${produced.toLocaleString('en')} events Kafka → Elasticsearch (dedup ledger, ${a.partitions} partitions, bulk ${a.bulk}), sustained events/s and produce → searchable latency`,
    tables: [
      {
        title: 'throughput and latency',
        columns: ['figure', 'value', 'target', '× target'],
        rows: [
          ['produce (idempotent, acks=all), events/s', Math.round(produced / produceSecs), null, null],
          [
            'sustained ingest, events/s',
            Math.round(produced / drainSecs),
            `≥ ${TARGET.toLocaleString('en')}`,
            round(produced / drainSecs / TARGET, 2),
          ],
          [`produce → searchable at ${Math.round(achievedRate)} ev/s, p50 ms`, pct(lat, 50), null, null],
          [
            `produce → searchable at ${Math.round(achievedRate)} ev/s, p99 ms`,
            pct(lat, 99),
            '< 2,000',
            round(pct(lat, 99) / 2000, 2),
          ],
          ['ES indexing per event, µs', perDoc(d('events')), null, null],
          ['ES indexing per ledger claim, µs', perDoc(d('ledger')), null, null],
          ['CPU during the drain: Elasticsearch, cores', cores(esAfter.cpuMs - esBefore.cpuMs), null, null],
          [
            'CPU during the drain: the consumer, cores',
            cores((nodeCpu.user + nodeCpu.system) / 1000),
            null,
            null,
          ],
        ],
        reference: `the target of ${TARGET.toLocaleString('en')} events/s sustained and p99 < 2 s`,
        ratio: '× target',
      },
      {
        title: `where the consumer's time went during the drain (wall s summed over ${chunks} chunks, up to 6 partitions at once)`,
        columns: ['phase', 'total s', 'ms/chunk', 'share %'],
        rows: phaseRows,
      },
    ],
  });
}

await main();
