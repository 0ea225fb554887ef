// Ingest benchmark: sustained events/s from Kafka into Elasticsearch, and produce → searchable
// latency p50/p99 at a paced load. Real Kafka and ES (local, or ES_URL / KAFKA_BROKERS).
//   npx tsx bench/ingest/run.ts [--events 1000000] [--rate 20000] [--latency-events 100000] [--partitions 6] [--bulk 5000]
import { parseArgs } from 'node:util';
import { benchContext, disposeBench, percentile as pct } from '../common.ts';
import { iterateEvents } from '../../src/demo/generate.ts';
import { createRegistry } from '../../src/infra/metrics.ts';
import { EventProducer } from '../../src/ingest/producer.ts';
import { startIngest } from '../../src/ingest/service.ts';
import { setup } from '../../src/setup/index.ts';

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
const ctx = benchContext('ingest', { KAFKA_PARTITIONS: a.partitions, INGEST_BATCH_SIZE: a.bulk });
const { es, names } = ctx;

async function storedCount(): Promise<number> {
  await es.indices.refresh({ index: names.eventsPattern, ignore_unavailable: true, allow_no_indices: true });
  return (await es.count({ index: names.eventsPattern, ignore_unavailable: true, allow_no_indices: true })).count;
}

async function main() {
  await setup(es, ctx.kafka, ctx.config, names, ctx.log);
  const producer = new EventProducer(ctx.kafka, names.topics.events);
  const gen = { users: 20_000, items: 10_000, days: 30, seed: 99, events: Math.ceil((N + LAT_N) * 1.3), malformedFraction: 0, startDate: new Date(Date.now() - 30 * 86_400_000) };
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

  t0 = Date.now();
  const svc = await startIngest(ctx, createRegistry(false));
  let stored = 0;
  while ((stored = await storedCount()) < produced) {
    await new Promise((r) => setTimeout(r, 1000));
    process.stderr.write(`\r  stored ${stored}/${produced}`);
  }
  const drainSecs = (Date.now() - t0) / 1000;
  console.error('');

  // 2. latency at a paced rate: sample 1 in 200 events, poll search by id until visible
  const sent = new Map<string, number>();
  const lat: number[] = [];
  let stop = false;
  const poller = (async () => {
    while (!stop || sent.size) {
      const ids = [...sent.keys()].slice(0, 1000);
      if (ids.length) {
        const r = await es.search({ index: names.eventsPattern, size: ids.length, query: { ids: { values: ids } }, _source: false });
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
    const next = startLat + ((n / perTick) * tick);
    await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
  }
  const achievedRate = LAT_N / ((Date.now() - startLat) / 1000);
  stop = true;
  await poller;
  lat.sort((x, y) => x - y);
  await svc.stop();
  await producer.disconnect();

  console.log('\ningest benchmark (Kafka → Elasticsearch, this machine)');
  console.log(`  partitions ${a.partitions}, bulk ${a.bulk} docs, refresh_interval 1s, 1 consumer process, up to 6 partitions in flight`);
  console.log(`  produce (idempotent, acks=all)   ${(produced / produceSecs).toFixed(0)} events/s`);
  console.log(`  sustained ingest of ${produced}      ${(produced / drainSecs).toFixed(0)} events/s  (${drainSecs.toFixed(1)} s; target ≥ 20000)  ratio ${(produced / drainSecs / 20000).toFixed(2)}× target`);
  console.log(`  latency produce→searchable @ ${achievedRate.toFixed(0)} ev/s: p50 ${pct(lat, 50)} ms, p99 ${pct(lat, 99)} ms (n=${lat.length}; target p99 < 2000 ms)`);
  await disposeBench(ctx, a.keep);
}

await main();
