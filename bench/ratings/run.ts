// Ratings read benchmark: the ways training can read the event store, on the same events:
// a point-in-time scan aggregated in Node with 1, 2 and 4 parallel slices ([training] read_slices), and a
// composite aggregation in Elasticsearch. Each row is compared with the single-slice scan (the
// reference) and with the composite reader, as ratios of events/s.
//   npx tsx bench/ratings/run.ts [--events 1000000] [--slices 1,2,4] [--reps 2] [--half-life 0|14] [--days 60] [--no-composite] [--keep]
import { parseArgs } from 'node:util';
import { iterateEvents } from '../../src/demo/generate.ts';
import { setup } from '../../src/setup/index.ts';
import { readRatingsByComposite, readRatingsByScan, type RatingsReader } from '../../src/train/ratings.ts';
import { benchContext, disposeBench, loadEventsDirect } from '../common.ts';
import { recordFigures, round } from '../record.ts';

const { values: a } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    slices: { type: 'string', default: '1,2,4' },
    reps: { type: 'string', default: '2' },
    days: { type: 'string', default: '60' },
    'half-life': { type: 'string', default: '14' },
    'no-composite': { type: 'boolean', default: false },
    target: { type: 'string', default: '200000' },
    keep: { type: 'boolean', default: false },
  },
});
const N = Number(a.events);
const DAYS = Number(a.days);
const REPS = Math.max(1, Number(a.reps));
const SLICES = a.slices!.split(',').map(Number);
const TARGET = Number(a.target);
const ctx = benchContext('ratings');
const { es, names } = ctx;

async function load(): Promise<number> {
  const t0 = Date.now();
  const gen = iterateEvents({
    users: Math.max(1000, Math.round(N / 170)),
    items: Math.max(1000, Math.round(N / 250)),
    days: DAYS,
    seed: 3,
    events: Math.ceil(N * 1.2),
    malformedFraction: 0,
    startDate: new Date(Date.now() - DAYS * 86_400_000),
  });
  await loadEventsDirect(ctx, gen, { limit: N });
  await es.indices.refresh({ index: names.eventsPattern });
  await es.indices.forcemerge(
    { index: names.eventsPattern, max_num_segments: 1 },
    { requestTimeout: 3_600_000 },
  );
  const stored = (await es.count({ index: names.eventsPattern })).count;
  console.error(
    `loaded ${stored} events into ${(await ctx.repos.events.bucketIndices()).length} bucket indices in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );
  return stored;
}

async function main() {
  await setup(es, ctx.kafka, ctx.config, names, ctx.log);
  const stored = await load();

  const rules = { weights: ctx.config.events.weights, windowDays: 0, halfLifeDays: Number(a['half-life']) };
  const readers: Array<[string, RatingsReader, number | undefined]> = SLICES.map((s) => [
    `PIT scan, ${s} slice${s > 1 ? 's' : ''}`,
    readRatingsByScan,
    s,
  ]);
  if (!a['no-composite']) readers.push(['composite agg', readRatingsByComposite, undefined]);
  const results: Array<{ name: string; slices?: number; seconds: number; pairs: number }> = [];
  for (const [name, reader, slices] of readers) {
    const times: number[] = [];
    let pairs = 0;
    for (let rep = 0; rep < REPS; rep++) {
      const t = Date.now();
      pairs = (await reader(ctx.repos.events, { rules, ...(slices !== undefined ? { slices } : {}) })).length;
      times.push((Date.now() - t) / 1000);
    }
    const seconds = Math.min(...times);
    results.push({ name, ...(slices !== undefined ? { slices } : {}), seconds, pairs });
    console.error(`${name}: ${times.map((s) => s.toFixed(2)).join(', ')} s`);
  }

  const rate = (s: number) => stored / s;
  const ref = results.find((r) => r.slices === SLICES[0]) ?? results[0]!;
  const comp = results.find((r) => r.slices === undefined);
  console.log(
    `\nratings read benchmark: ${stored.toLocaleString('en')} events over ${DAYS} days, half-life ${rules.halfLifeDays} d, best of ${REPS}; reference = ${ref.name}`,
  );
  console.table(
    results.map((r) => ({
      reader: r.name,
      seconds: r.seconds.toFixed(2),
      'events/s': Math.round(rate(r.seconds)),
      [`vs ${ref.name}`]: `${(ref.seconds / r.seconds).toFixed(2)}×`,
      ...(comp ? { 'vs composite': `${(comp.seconds / r.seconds).toFixed(2)}×` } : {}),
      'target ≥ events/s': TARGET,
      met: r.slices === undefined ? '-' : rate(r.seconds) >= TARGET ? 'yes' : 'no',
      '(user, item) pairs': r.pairs,
    })),
  );
  const scans = results.filter((r) => r.slices !== undefined);
  const best = scans.reduce((x, y) => (y.seconds < x.seconds ? y : x));
  console.log(
    `  best scan: ${best.name}, ${Math.round(rate(best.seconds))} events/s → target ${TARGET} events/s ${rate(best.seconds) >= TARGET ? 'MET' : 'NOT met'} (${(rate(best.seconds) / TARGET).toFixed(2)}× target)`,
  );
  console.log(
    `  scaling with slices (events/s relative to ${ref.name}): ${scans.map((r) => `${r.slices}: ${(ref.seconds / r.seconds).toFixed(2)}×`).join(', ')}`,
  );
  await disposeBench(ctx, a.keep);
  const refColumn = `× ${ref.name}`;
  await recordFigures({
    bench: 'ratings',
    title: `ratings read: the training read of ${stored.toLocaleString('en')} events (${DAYS} days of monthly buckets), PIT scan with 1–n slices vs a composite aggregation`,
    tables: [
      {
        title: `best of ${REPS}, half-life ${rules.halfLifeDays} d; target ≥ ${TARGET.toLocaleString('en')} events/s`,
        columns: [
          'reader',
          'seconds',
          'events/s',
          refColumn,
          '× composite',
          '× target',
          '(user, item) pairs',
        ],
        rows: results.map((r) => [
          r.name,
          round(r.seconds, 2),
          Math.round(rate(r.seconds)),
          round(ref.seconds / r.seconds, 2),
          comp ? round(comp.seconds / r.seconds, 2) : null,
          round(rate(r.seconds) / TARGET, 2),
          r.pairs,
        ]),
        reference: ref.name,
        ratio: refColumn,
      },
    ],
  });
}

await main();
