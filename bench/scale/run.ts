/**
 * Training at scale on one machine: a long-tailed window of N distinct (user, item) pairs (more
 * events than pairs) read into the columnar table and trained on.
 *
 * The read is an in-process stand-in for the point-in-time scan: every generated event goes
 * through the same PairAggregator.add the scan feeds (id checks, rateEvent, sum in arrival order),
 * in rounds that interleave a pair's repeat events with everyone else's, as a scan's pages do.
 * Then the path the serving fit takes: the table → its ratings matrix → AlsModel.fit.
 * The reference is the accumulator training used before (a Map keyed by user\0item, one object per
 * pair: map-accumulator.ts), fed the same events in its own process.
 *
 * Each engine runs in a child process so its peak RSS is its own.
 *
 *   npx tsx bench/scale/run.ts --pairs 20000000 [--reference] [--iterations 3] [--factors 32] [--record]
 *   npx tsx bench/scale/run.ts --pairs 20000000 --engine map     # the old accumulator alone
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AlsModel } from '../../src/als/index.ts';
import { rateEvent, type RatingRules } from '../../src/events/rating.ts';
import { PairAggregator } from '../../src/train/pair-aggregator.ts';
import { pairCount, tableMatrix, withoutTimes } from '../../src/train/ratings-table.ts';
import { recordFigures, round } from '../record.ts';
import { MapAccumulator } from './map-accumulator.ts';

const { values: opt } = parseArgs({
  options: {
    pairs: { type: 'string', default: '1000000' },
    engine: { type: 'string' },
    reference: { type: 'boolean', default: false },
    iterations: { type: 'string', default: '3' },
    factors: { type: 'string', default: '32' },
    threads: { type: 'string', default: '2' },
    seed: { type: 'string', default: '42' },
    record: { type: 'boolean', default: false },
    'heap-mb': { type: 'string', default: '16384' },
  },
});

const PAIRS = Number(opt.pairs);
const SEED = Number(opt.seed);
const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 1);
const RULES: RatingRules = { weights: { view: 1, cart: 3, purchase: 5 }, windowDays: 60, halfLifeDays: 14 };
const TYPES = ['view', 'view', 'view', 'cart', 'purchase'];
const MB = 2 ** 20;
const HERE = path.dirname(fileURLToPath(import.meta.url));

/** A window's shape: users' degrees Pareto-tailed (mean ≈ 17), items' popularity a steep power law. */
const N_ITEMS = Math.max(2_000, Math.round(PAIRS / 40));
const MAX_DEGREE = Math.min(5_000, Math.floor(N_ITEMS / 4));

/** A fast integer mix of (seed, a, b, c): the generator calls it several times per event. */
function hash32(seed: number, a: number, b: number, c = 0): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ a ^ (h >>> 15), 0xc2b2ae35);
  h = Math.imul(h ^ b ^ (h >>> 13), 0x27d4eb2f);
  h = Math.imul(h ^ c ^ (h >>> 16), 0x165667b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return (h ^ (h >>> 12)) >>> 0;
}

function unit(h: number): number {
  return (h >>> 0) / 2 ** 32;
}

function degree(u: number): number {
  const d = Math.floor(5 * (1 - unit(hash32(SEED, u, 1))) ** (-1 / 1.4));
  return Math.min(MAX_DEGREE, Math.max(1, d));
}

/** Events of pair k of user u: 1 + a geometric tail (p = 0.4), at most 6. */
function eventsOf(u: number, k: number): number {
  const h = hash32(SEED, u, k, 7);
  let c = 1;
  while (c < 6 && ((h >>> (c * 5)) & 31) < 13) c++;
  return c;
}

/** User u's distinct items, the same every time it is asked (a stamp array dedupes). */
const stamp = new Int32Array(N_ITEMS);
function itemsOf(u: number, d: number, out: Int32Array): void {
  let s = hash32(SEED, u, 2) | 0;
  const next = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  for (let k = 0; k < d; k++) {
    let i = Math.floor(N_ITEMS * next() ** 3);
    for (let tries = 0; stamp[i] === u + 1 && tries < 8; tries++) i = Math.floor(N_ITEMS * next() ** 3);
    while (stamp[i] === u + 1) i = (i + 1) % N_ITEMS;
    stamp[i] = u + 1;
    out[k] = i;
  }
}

/** Users in order, with the degrees that add up to exactly `pairs` (the last one cut). */
function users(pairs: number): Int32Array {
  const ds: number[] = [];
  for (let total = 0, u = 0; total < pairs; u++) {
    const d = Math.min(degree(u), pairs - total);
    ds.push(d);
    total += d;
  }
  return Int32Array.from(ds);
}

/** Feeds every event of the window to `add`, round by round (round r: each pair's (r+1)-th event). */
function generate(add: (user: string, item: string, weight: number, ts: number) => void): number {
  const degrees = users(PAIRS);
  const items = new Int32Array(MAX_DEGREE);
  let events = 0;
  for (let round = 0; round < 6; round++) {
    stamp.fill(0);
    let any = false;
    for (let u = 0; u < degrees.length; u++) {
      const d = degrees[u]!;
      itemsOf(u, d, items);
      const user = `user-${u}`;
      for (let k = 0; k < d; k++) {
        if (eventsOf(u, k) <= round) continue;
        any = true;
        const h = hash32(SEED, u, k, round);
        const ts = NOW - Math.floor(unit(h) * 59 * DAY);
        const type = TYPES[(h >>> 3) % TYPES.length]!;
        add(user, `sku-${items[k]!}`, rateEvent({ event_type: type }, ts, RULES, NOW), ts);
        events++;
      }
    }
    if (!any) break;
  }
  return events;
}

function rssMb(): number {
  return process.memoryUsage.rss() / MB;
}

function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

interface ChildResult {
  engine: 'table' | 'map';
  pairs: number;
  events: number;
  users?: number;
  items?: number;
  read_seconds: number;
  /** RSS growth over the read (and, for the table, handing over the table), per pair and per event */
  read_peak_rss_mb: number;
  read_bytes_per_pair: number;
  read_bytes_per_event: number;
  /** the aggregator's own accounting at the end of the read */
  accounted_bytes_per_pair?: number;
  train_seconds_per_iteration?: number;
  peak_rss_mb: number;
  baseline_rss_mb: number;
  factors_mb?: number;
  /** (peak RSS − baseline − factors) / pairs */
  bytes_per_pair?: number;
  failed?: string;
}

async function child(engine: 'table' | 'map'): Promise<ChildResult> {
  // warm the generator's code paths before measuring the baseline
  const baseline = rssMb();
  let readPeak = baseline;
  let tick = 0;
  const sample = () => {
    if ((++tick & 0xfffff) === 0) readPeak = Math.max(readPeak, rssMb());
  };
  const t0 = performance.now();
  if (engine === 'map') {
    const acc = new MapAccumulator();
    let events = 0;
    try {
      events = generate((u, i, w, ts) => {
        acc.add(u, i, w, ts);
        sample();
      });
    } catch (e) {
      return {
        engine,
        pairs: acc.size,
        events,
        read_seconds: (performance.now() - t0) / 1000,
        read_peak_rss_mb: round(readPeak - baseline),
        read_bytes_per_pair: round(((readPeak - baseline) * MB) / Math.max(1, acc.size)),
        read_bytes_per_event: NaN,
        peak_rss_mb: round(peakRssMb()),
        baseline_rss_mb: round(baseline),
        failed: `${(e as Error).name}: ${(e as Error).message} at ${acc.size.toLocaleString('en')} pairs`,
      };
    }
    const readSeconds = (performance.now() - t0) / 1000;
    readPeak = Math.max(readPeak, rssMb());
    return {
      engine,
      pairs: acc.size,
      events,
      read_seconds: round(readSeconds, 2),
      read_peak_rss_mb: round(readPeak - baseline),
      read_bytes_per_pair: round(((readPeak - baseline) * MB) / acc.size),
      read_bytes_per_event: round(((readPeak - baseline) * MB) / events),
      peak_rss_mb: round(peakRssMb()),
      baseline_rss_mb: round(baseline),
    };
  }

  // the aggregator is unreachable once the table is handed over, as in the scan reader; the
  // serving fit needs ratings only, so the times go as the candidate drops them after its split
  const read = () => {
    const agg = new PairAggregator();
    const events = generate((u, i, w, ts) => {
      agg.add(u, i, w, ts);
      sample();
    });
    readPeak = Math.max(readPeak, rssMb());
    const accounted = agg.bytes() / agg.pairs;
    const full = agg.table();
    readPeak = Math.max(readPeak, peakRssMb());
    return { events, accounted, table: withoutTimes(full) };
  };
  const { events, accounted, table } = read();
  const readSeconds = (performance.now() - t0) / 1000;
  const pairs = pairCount(table);
  console.error(
    `[table] read ${events.toLocaleString('en')} events → ${pairs.toLocaleString('en')} pairs in ${readSeconds.toFixed(1)} s; RSS +${(readPeak - baseline).toFixed(0)} MB`,
  );
  const matrix = tableMatrix(table);
  const k = Number(opt.factors);
  const model = await AlsModel.fit(matrix, {
    factors: k,
    regularization: 0.1,
    alpha: 1,
    iterations: Number(opt.iterations),
    solver: 'cg',
    cgSteps: 3,
    seed: SEED,
    threads: Number(opt.threads),
    weighting: 'linear',
  });
  const perIt = model.secondsPerIteration.reduce((a, b) => a + b, 0) / model.secondsPerIteration.length;
  const kp = (k + 7) & ~7;
  // in the engine's memory (row stride kp) and the fit's unpadded copies
  const factorsMb = ((matrix.nUsers + matrix.nItems) * (kp + k) * 4) / MB;
  const peak = peakRssMb();
  return {
    engine,
    pairs,
    events,
    users: matrix.nUsers,
    items: matrix.nItems,
    read_seconds: round(readSeconds, 2),
    read_peak_rss_mb: round(readPeak - baseline),
    read_bytes_per_pair: round(((readPeak - baseline) * MB) / pairs),
    read_bytes_per_event: round(((readPeak - baseline) * MB) / events),
    accounted_bytes_per_pair: round(accounted),
    train_seconds_per_iteration: round(perIt, 2),
    peak_rss_mb: round(peak),
    baseline_rss_mb: round(baseline),
    factors_mb: round(factorsMb),
    bytes_per_pair: round(((peak - baseline - factorsMb) * MB) / pairs),
  };
}

function runChild(engine: 'table' | 'map'): ChildResult {
  const script = fileURLToPath(import.meta.url);
  const args = [
    `--max-old-space-size=${opt['heap-mb']}`,
    ...process.execArgv,
    script,
    '--engine',
    engine,
    '--pairs',
    String(PAIRS),
    '--iterations',
    opt.iterations!,
    '--factors',
    opt.factors!,
    '--threads',
    opt.threads!,
    '--seed',
    opt.seed!,
  ];
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as ChildResult;
  } catch {
    return {
      engine,
      pairs: 0,
      events: 0,
      read_seconds: NaN,
      read_peak_rss_mb: NaN,
      read_bytes_per_pair: NaN,
      read_bytes_per_event: NaN,
      peak_rss_mb: NaN,
      baseline_rss_mb: NaN,
      failed: `exit ${r.status ?? r.signal}: ${r.stdout.slice(-500)}`,
    };
  }
}

if (opt.engine === 'table' || opt.engine === 'map') {
  console.log(JSON.stringify(await child(opt.engine)));
} else {
  const results: ChildResult[] = [runChild('table')];
  if (opt.reference) results.push(runChild('map'));
  const t = results[0]!;
  const ref = results.find((r) => r.engine === 'map');
  const latest = {
    pairs: t.pairs,
    events: t.events,
    users: t.users,
    items: t.items,
    read_seconds: t.read_seconds,
    train_seconds_per_iteration: t.train_seconds_per_iteration,
    peak_rss_mb: t.peak_rss_mb,
    bytes_per_pair: t.bytes_per_pair,
    read_bytes_per_pair: t.read_bytes_per_pair,
    read_bytes_per_event: t.read_bytes_per_event,
    factors_mb: t.factors_mb,
    factors: Number(opt.factors),
    iterations: Number(opt.iterations),
    read_path: 'in-process stand-in: generated events through PairAggregator.add (what the scan feeds)',
    ...(t.failed ? { failed: t.failed } : {}),
    ...(ref ? { reference_map_accumulator: ref } : {}),
  };
  const out = path.join(HERE, 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'latest.json'), `${JSON.stringify(latest, null, 2)}\n`);
  console.log(JSON.stringify(latest, null, 2));
  if (opt.record && !t.failed) {
    const rows: Array<Array<string | number | null>> = [
      [
        'columnar table (PairAggregator → CSR → AlsModel.fit)',
        t.pairs,
        t.events,
        t.read_seconds,
        t.read_bytes_per_pair,
        t.read_bytes_per_event,
        t.train_seconds_per_iteration ?? null,
        t.peak_rss_mb,
        t.bytes_per_pair ?? null,
        ref && !ref.failed ? round(ref.read_bytes_per_pair / t.read_bytes_per_pair, 2) : null,
      ],
    ];
    if (ref)
      rows.push([
        ref.failed ? `Map accumulator (before): ${ref.failed}` : 'Map accumulator (before), read only',
        ref.pairs,
        ref.events || null,
        ref.failed ? null : ref.read_seconds,
        ref.read_bytes_per_pair,
        ref.failed ? null : ref.read_bytes_per_event,
        null,
        ref.peak_rss_mb,
        null,
        ref.failed ? null : 1,
      ]);
    await recordFigures({
      bench: 'scale',
      variant: `${Math.round(PAIRS / 1e6)}m`,
      title: `training at scale: ${PAIRS.toLocaleString('en')} distinct pairs read into the columnar table and trained (k=${opt.factors}, ${opt.iterations} iterations, ${opt.threads} threads)`,
      tables: [
        {
          title:
            'read = generated long-tailed events through PairAggregator.add (the scan’s accumulator), in-process; bytes/pair beyond the factors = (peak RSS − baseline − factors) / pairs',
          columns: [
            'accumulator',
            'pairs',
            'events',
            'read s',
            'read bytes/pair',
            'read bytes/event',
            's/iteration',
            'peak RSS MB',
            'bytes/pair beyond factors',
            '× less read memory than the Map',
          ],
          rows,
          ...(ref && !ref.failed
            ? { reference: 'Map accumulator (before)', ratio: '× less read memory than the Map' }
            : {}),
        },
      ],
    });
  }
}
