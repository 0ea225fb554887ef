// Ratings read benchmark: the two ways training can read the event store, on the same ~1M events:
// a point-in-time scan aggregated in Node vs a composite aggregation in Elasticsearch.
//   npx tsx bench/ratings/run.ts [--events 1000000] [--half-life 0|14]
import { parseArgs } from 'node:util';
import { iterateEvents } from '../../src/demo/generate.ts';
import { setup } from '../../src/setup/index.ts';
import { readRatingsByComposite, readRatingsByScan, type RatingsReader } from '../../src/train/ratings.ts';
import { benchContext, disposeBench } from '../common.ts';

const { values: a } = parseArgs({ options: { events: { type: 'string', default: '1000000' }, 'half-life': { type: 'string', default: '14' }, keep: { type: 'boolean', default: false } } });
const N = Number(a.events);
const ctx = benchContext('ratings');
const { es, names } = ctx;

async function main() {
  await setup(es, ctx.kafka, ctx.config, names, ctx.log);
  const t0 = Date.now();
  let ops: unknown[] = [];
  let n = 0;
  const inflight = new Set<Promise<void>>();
  const gen = iterateEvents({ users: 6000, items: 4000, days: 60, seed: 3, events: Math.ceil(N * 1.2), malformedFraction: 0, startDate: new Date(Date.now() - 60 * 86_400_000) });
  for (let r = gen.next(); !r.done && n < N; r = gen.next(), n++) {
    const e = r.value;
    ops.push({ create: { _index: names.eventsIndex(new Date(e.timestamp)), _id: e.event_id } }, e);
    if (ops.length >= 20_000) {
      const p = es.bulk({ operations: ops, filter_path: 'errors' }).then(() => undefined);
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
      ops = [];
      if (inflight.size >= 2) await Promise.race(inflight);
    }
  }
  if (ops.length) await es.bulk({ operations: ops });
  await Promise.all(inflight);
  await es.indices.refresh({ index: names.eventsPattern });
  await es.indices.forcemerge({ index: names.eventsPattern, max_num_segments: 1 });
  const stored = (await es.count({ index: names.eventsPattern })).count;
  console.error(`loaded ${stored} events in ${((Date.now() - t0) / 1000).toFixed(0)} s`);

  const rules = { weights: ctx.config.events.weights, windowDays: 0, halfLifeDays: Number(a['half-life']) };
  const rows: string[] = [];
  const seconds: Record<string, number> = {};
  for (const [name, reader] of [['PIT scan + Node', readRatingsByScan], ['composite agg', readRatingsByComposite]] as Array<[string, RatingsReader]>) {
    const best: number[] = [];
    let pairs = 0;
    for (let rep = 0; rep < 2; rep++) {
      const t = Date.now();
      pairs = (await reader(ctx.repos.events, { rules })).length;
      best.push((Date.now() - t) / 1000);
    }
    seconds[name] = Math.min(...best);
    rows.push(`  ${name.padEnd(18)} ${seconds[name]!.toFixed(2).padStart(7)} s   ${(stored / seconds[name]!).toFixed(0).padStart(8)} events/s   ${pairs} (user, item) pairs`);
  }
  console.log(`\nratings read benchmark: ${stored} events, half-life ${rules.halfLifeDays} d (best of 2)`);
  for (const r of rows) console.log(r);
  const [scan, comp] = [seconds['PIT scan + Node']!, seconds['composite agg']!];
  console.log(`  composite / scan time ratio ${(comp / scan).toFixed(2)}× → ${comp < scan ? 'composite' : 'scan'} is faster`);
  await disposeBench(ctx, a.keep);
}

await main();
