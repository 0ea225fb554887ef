// Backfill benchmark: years of history through the real path. The seeded generator writes
// `--years` of events as JSON Lines; `recsys import events FILE` produces them to Kafka while
// `recsys ingest` (its own process, started first) stores them in the event store. Prints events/s
// end to end (import start → every event searchable), the event-store indices and shards the
// history uses with the projection to ten years, the DLQ count (0 for valid events) and stored vs
// produced. Reference: the previous layout (one index of one shard per day) for the same history.
//
//   npx tsx bench/backfill/run.ts [--events 5000000] [--years 3] [--partitions 6] [--bulk 5000] [--batch 5000] [--keep]
import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { bucketOf } from '../../src/config/buckets.ts';
import { PROJECT_ROOT } from '../../src/config/index.ts';
import { iterateEvents } from '../../src/demo/generate.ts';
import { setup } from '../../src/setup/index.ts';
import { benchContext, disposeBench, settingsEnv } from '../common.ts';
import { recordFigures, type BenchFigures } from '../record.ts';

const { values: a } = parseArgs({
  options: {
    events: { type: 'string', default: '5000000' },
    years: { type: 'string', default: '3' },
    users: { type: 'string' },
    items: { type: 'string' },
    seed: { type: 'string', default: '11' },
    partitions: { type: 'string', default: '6' },
    bulk: { type: 'string', default: '5000' },
    batch: { type: 'string', default: '5000' },
    'stall-seconds': { type: 'string', default: '120' },
    keep: { type: 'boolean', default: false },
  },
});
const N = Number(a.events);
const YEARS = Number(a.years);
const DAYS = Math.round(YEARS * 365.25);
const DAY = 86_400_000;
const ctx = benchContext(
  'backfill',
  { ingest: { batchSize: Number(a.bulk) } },
  { KAFKA_PARTITIONS: a.partitions },
);
const { es, names, config } = ctx;
const log = (msg: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);

async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  s.close();
  return port;
}

/** `recsys <args>` in its own process under the benchmark's prefixes. */
function recsys(args: string[], env: Record<string, string>) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(PROJECT_ROOT, 'src', 'cli', 'index.ts'), ...args],
    {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        RECSYS_INDEX_PREFIX: ctx.tag,
        RECSYS_TOPIC_PREFIX: ctx.tag,
        KAFKA_PARTITIONS: a.partitions!,
        ...settingsEnv('backfill', { ingest: { batchSize: Number(a.bulk) } }),
        LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => process.env['BENCH_VERBOSE'] && process.stderr.write(d));
  const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
  return { child, exited, output: () => out };
}

async function topicTotal(topic: string): Promise<number> {
  const admin = ctx.kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((s, p) => s + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

async function stored(): Promise<number> {
  await es.indices.refresh({ index: names.eventsPattern, ignore_unavailable: true, allow_no_indices: true });
  return (await es.count({ index: names.eventsPattern, ignore_unavailable: true, allow_no_indices: true }))
    .count;
}

/** Distinct buckets of a granularity over [from, to). */
function bucketsBetween(from: number, to: number, g: 'day' | 'month'): number {
  const s = new Set<string>();
  for (let t = from; t < to; t += DAY / 2) s.add(bucketOf(new Date(t), g));
  s.add(bucketOf(new Date(to - 1), g));
  return s.size;
}

async function main() {
  // 1. the history as a file (not timed: a backfill starts from an export that exists)
  const dir = mkdtempSync(path.join(os.tmpdir(), 'recsys-backfill-'));
  const file = path.join(dir, 'events.jsonl');
  const now = Date.now();
  const start = now - DAYS * DAY;
  const users = Number(a.users ?? Math.max(2000, Math.round(N / 100)));
  const items = Number(a.items ?? Math.max(1000, Math.round(N / 500)));
  let t = Date.now();
  const out = createWriteStream(file);
  const days = new Set<string>();
  let written = 0;
  let first = Infinity;
  let last = -Infinity;
  for (const e of iterateEvents({
    users,
    items,
    days: DAYS,
    seed: Number(a.seed),
    events: N,
    malformedFraction: 0,
    startDate: new Date(start),
  })) {
    const ms = Date.parse(e.timestamp);
    if (ms < first) first = ms;
    if (ms > last) last = ms;
    days.add(e.timestamp.slice(0, 10));
    if (!out.write(`${JSON.stringify(e)}\n`)) await once(out, 'drain');
    written++;
  }
  out.end();
  await once(out, 'finish');
  log(
    `generated ${written} events (${users} users, ${items} items, ${DAYS} days) into ${file} (${(statSync(file).size / 1e6).toFixed(0)} MB) in ${((Date.now() - t) / 1000).toFixed(0)} s`,
  );

  let figures: Omit<BenchFigures, 'bench'> | undefined;
  try {
    await setup(es, ctx.kafka, config, names, ctx.log);
    // 2. ingest first (as in production: it runs all the time), then the import
    const ingest = recsys(['ingest'], { INGEST_METRICS_PORT: String(await freePort()) });
    await new Promise((r) => setTimeout(r, 3000));
    t = Date.now();
    const imp = recsys(
      ['import', 'events', file, '--batch', a.batch!, '--rejects', path.join(dir, 'rejected.jsonl')],
      {},
    );
    let importSeconds = NaN;
    void imp.exited.then(() => (importSeconds = (Date.now() - t) / 1000));
    let n = 0;
    let lastChange = Date.now();
    let importCode: number | undefined;
    void imp.exited.then((c) => (importCode = c));
    for (;;) {
      await new Promise((r) => setTimeout(r, 2000));
      const s = await stored();
      if (s !== n) lastChange = Date.now();
      n = s;
      process.stderr.write(
        `\r  stored ${n}/${written}${importCode === undefined ? ' (import running)' : ''}   `,
      );
      if (importCode !== undefined && importCode !== 0)
        throw new Error(`import exited with ${importCode}: ${imp.output()}`);
      if (importCode !== undefined && n >= written) break;
      if (Date.now() - lastChange > Number(a['stall-seconds']) * 1000) {
        log(`no progress for ${a['stall-seconds']} s: stopping at ${n}`);
        break;
      }
    }
    const e2eSeconds = (Date.now() - t) / 1000;
    process.stderr.write('\n');
    ingest.child.kill('SIGTERM');
    await ingest.exited;
    const summary = /events: (\d+) accepted, (\d+) rejected/.exec(imp.output());
    const accepted = summary ? Number(summary[1]) : NaN;
    const rejected = summary ? Number(summary[2]) : NaN;
    const produced = await topicTotal(names.topics.events);
    const dlq = await topicTotal(names.topics.dlq);
    const finalStored = await stored();
    await es.indices.refresh({ index: names.eventIds });
    const ledger = (await es.count({ index: names.eventIds })).count;
    const rows = (await es.cat.indices({
      index: `${names.eventsIndexPrefix}*`,
      h: ['index', 'pri', 'rep'],
      format: 'json',
    })) as Array<{ index: string; pri: string; rep: string }>;
    const eventIndices = rows.length;
    const eventShards = rows.reduce((s, r) => s + Number(r.pri), 0);
    const ledgerShards = Number(
      (
        (await es.cat.indices({ index: names.eventIds, h: ['pri'], format: 'json' })) as Array<{
          pri: string;
        }>
      )[0]?.pri ?? 1,
    );
    const shards = eventShards + ledgerShards;
    const g = config.events.bucket;
    const tenYears = Math.round(10 * 365.25);
    const tenYearBuckets = g === 'month' || g === 'day' ? bucketsBetween(now - tenYears * DAY, now, g) : NaN;
    const tenYearShards = tenYearBuckets + ledgerShards;
    const dailyShards = days.size; // previous layout: events-YYYY.MM.DD, one shard each, per day with events
    const dailyTenYears = bucketsBetween(now - tenYears * DAY, now, 'day');

    console.log(
      `\nbackfill benchmark: ${written.toLocaleString('en')} generated events over ${YEARS} years (${new Date(first).toISOString().slice(0, 10)} … ${new Date(last).toISOString().slice(0, 10)}), ${users} users, ${items} items`,
    );
    console.log(
      `  path: JSON Lines file → recsys import events (batch ${a.batch}) → Kafka (${a.partitions} partitions) → recsys ingest (bulk ${a.bulk}, dedup ledger) → ${names.eventsIndexPrefix}<${g}>; [events] bucket = ${g}\n`,
    );
    const table = [
      {
        figure: 'end to end (import start → all searchable)',
        value: `${Math.round(finalStored / e2eSeconds)} events/s`,
        detail: `${e2eSeconds.toFixed(1)} s`,
        reference: '',
        ratio: '',
      },
      {
        figure: 'import → Kafka alone',
        value: `${Math.round(accepted / importSeconds)} events/s`,
        detail: `${importSeconds.toFixed(1)} s, ${rejected} rejected`,
        reference: '',
        ratio: '',
      },
      {
        figure: `event-store indices (${YEARS} y)`,
        value: eventIndices,
        detail: `${eventShards} shards + ${ledgerShards} ledger shard = ${shards}`,
        reference: `daily layout: ${dailyShards} indices/shards`,
        ratio: `${(dailyShards / shards).toFixed(1)}× fewer`,
      },
      {
        figure: 'shards projected for 10 years',
        value: tenYearShards,
        detail: `${tenYearBuckets} ${g} buckets + ledger; limit ≤ 150: ${tenYearShards <= 150 ? 'met' : 'NOT met'}`,
        reference: `daily layout: ${dailyTenYears}`,
        ratio: `${(dailyTenYears / tenYearShards).toFixed(1)}× fewer`,
      },
      {
        figure: 'DLQ messages',
        value: dlq,
        detail: dlq === 0 ? 'met (0 for valid events)' : 'NOT 0',
        reference: '',
        ratio: '',
      },
      {
        figure: 'produced to Kafka / accepted by import',
        value: produced,
        detail: `${accepted} accepted`,
        reference: '',
        ratio: '',
      },
      {
        figure: 'stored',
        value: finalStored,
        detail: `${finalStored === produced ? '= produced' : `≠ produced (${finalStored - produced})`}; ledger entries ${ledger}`,
        reference: '',
        ratio: '',
      },
    ];
    console.table(table);
    figures = {
      title: `backfill: ${written.toLocaleString('en')} events over ${YEARS} years (${users.toLocaleString('en')} users, ${items.toLocaleString('en')} items), JSON Lines → recsys import events → Kafka → recsys ingest, [events] bucket = ${g}`,
      tables: [
        {
          title: 'end to end, shards and completeness',
          columns: ['figure', 'value', 'detail', 'reference', 'ratio'],
          rows: table.map((r) => [r.figure, r.value, r.detail, r.reference || null, r.ratio || null]),
          reference: 'the previous layout: one index of one shard per day with events',
          ratio: 'ratio',
        },
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await disposeBench(ctx, a.keep);
  }
  if (figures) await recordFigures({ bench: 'backfill', ...figures });
}

await main();
