// Retention benchmark: does the cost of a recommendation request depend on how much history the
// event store holds? The same catalogue, users and deployed model are served (API in its own
// process, autocannon on loopback) with (a) one week of events in the store, then (b) three years
// (the rest bulk-loaded straight into the buckets, names.eventsIndex). Prints req/s and p50/p99 for
// both, the ratio 3y/1w (target ≥ 0.9), and the events indices' search.query_total around each
// load: the request path must run no event-store search. A third row, (a'), measures the week again
// after retention dropped the older buckets (and the older events in the kept ones are deleted):
// the 1-week reference is the mean of (a) and (a'), so drift of a shared machine cancels.
//
//   npx tsx bench/retention/run.ts [--events 5000000] [--years 3] [--connections 8] [--duration 20] [--warmup 5] [--mode ann] [--keep]
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../../src/config/index.ts';
import { deployModel } from '../../src/deploy/index.ts';
import { applyRetention } from '../../src/ingest/event-store.ts';
import {
  generateCatalog,
  iterateEvents,
  itemMetadata,
  userMetadata,
  type Catalog,
} from '../../src/demo/generate.ts';
import { createRng } from '../../src/random/rng.ts';
import { setup } from '../../src/setup/index.ts';
import {
  benchContext,
  disposeBench,
  httpLoad,
  loadEventsDirect,
  settingsEnv,
  type LoadResult,
} from '../common.ts';
import { recordFigures, round } from '../record.ts';

const { values: a } = parseArgs({
  options: {
    events: { type: 'string', default: '5000000' },
    years: { type: 'string', default: '3' },
    'recent-days': { type: 'string', default: '7' },
    users: { type: 'string' },
    items: { type: 'string' },
    factors: { type: 'string', default: '64' },
    seed: { type: 'string', default: '5' },
    connections: { type: 'string', default: '8' },
    duration: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '5' },
    mode: { type: 'string', default: 'ann' },
    k: { type: 'string', default: '10' },
    keep: { type: 'boolean', default: false },
  },
});
const N = Number(a.events);
const DAY = 86_400_000;
const DAYS = Math.round(Number(a.years) * 365.25);
const RECENT = Number(a['recent-days']);
const K = Number(a.factors);
const ctx = benchContext('retention');
const { es, names } = ctx;
const log = (msg: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);

function bulkLoad(gen: Iterable<{ event_id: string; timestamp: string }>): Promise<number> {
  return loadEventsDirect(ctx, gen, { onProgress: (n) => n % 500_000 < 10_000 && log(`  loaded ${n}`) });
}

/** Loads end with background merges: wait for them, so they do not skew the latencies. */
async function settle(index = names.eventsPattern): Promise<void> {
  await es.indices.refresh({ index });
  for (;;) {
    const s = await es.indices.stats({ index, metric: ['merge'] });
    if ((s._all.total?.merges?.current ?? 0) === 0) break;
    await new Promise((r) => setTimeout(r, 2_000));
  }
}

async function eventStore(): Promise<{
  events: number;
  indices: number;
  queryTotal: number;
  itemSegments: number;
}> {
  const s = await es.indices.stats({ index: names.eventsPattern, metric: ['search', 'docs'] });
  const items = await es.indices.stats({ index: names.itemsAlias, metric: ['segments'] });
  return {
    events: s._all.primaries?.docs?.count ?? 0,
    indices: Object.keys(s.indices ?? {}).length,
    queryTotal: s._all.total?.search?.query_total ?? 0,
    itemSegments: items._all.primaries?.segments?.count ?? 0,
  };
}

async function deploy(catalog: Catalog): Promise<void> {
  for (let i = 0; i < catalog.items.length; i += 5000) {
    const r = await ctx.repos.metadata.upsertItems(
      catalog.items.slice(i, i + 5000).map((x) => itemMetadata(x) as unknown as Record<string, unknown>),
    );
    if (r.errors.length) throw new Error(`item metadata refused: ${JSON.stringify(r.errors[0])}`);
  }
  for (let i = 0; i < catalog.users.length; i += 5000) {
    const r = await ctx.repos.metadata.upsertUsers(catalog.users.slice(i, i + 5000).map(userMetadata));
    if (r.errors.length) throw new Error(`user metadata refused: ${JSON.stringify(r.errors[0])}`);
  }
  await es.indices.refresh({ index: `${names.itemMetadata},${names.userMetadata}` });
  // a synthetic model: seeded factors, popularity by catalogue rank, five recent items per user
  const rng = createRng(Number(a.seed));
  const itemIds = catalog.items.map((x) => x.item_id);
  const userIds = catalog.users.map((u) => u.user_id);
  const itemFactors = Float32Array.from({ length: itemIds.length * K }, () => rng.gaussian() * 0.3);
  const userFactors = Float32Array.from({ length: userIds.length * K }, () => rng.gaussian() * 0.3);
  const recentItems = new Map(
    userIds.map((u) => [
      u,
      Array.from({ length: 5 }, () => itemIds[Math.floor(rng.next() * itemIds.length)]!),
    ]),
  );
  const popularity = new Map(itemIds.map((id, i) => [id, 1 / (1 + i)]));
  const r = await deployModel(ctx, {
    modelId: 'mretention',
    factors: K,
    itemIds,
    itemFactors,
    userIds,
    userFactors,
    recentItems,
    popularity,
  });
  log(`deployed ${r.items} items, ${r.users} users in ${r.seconds.toFixed(0)} s`);
  // a fresh deploy keeps merging its HNSW segments for a while: measure only once that is over
  await settle(`${names.itemsAlias},${names.usersAlias}`);
}

async function startApi(): Promise<{ url: string; child: ChildProcess }> {
  const env = {
    ...process.env,
    RECSYS_INDEX_PREFIX: ctx.tag,
    RECSYS_TOPIC_PREFIX: ctx.tag,
    LOG_LEVEL: 'warn',
    ...settingsEnv('retention', { serving: { defaultMode: a.mode as 'exact' | 'ann' | 'lsh' } }),
  };
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(PROJECT_ROOT, 'bench', 'query', 'serve.ts')],
    { env, stdio: ['ignore', 'pipe', 'inherit'], cwd: PROJECT_ROOT },
  );
  const rl = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    rl.once('line', (line) => resolve((JSON.parse(line) as { url: string }).url));
    child.once('exit', (code) => reject(new Error(`API exited with ${code}`)));
  });
  return { url, child };
}

async function load(url: string, userIds: string[], seconds: number, seed: number): Promise<LoadResult> {
  const rng = createRng(seed);
  return httpLoad(url, {
    connections: Number(a.connections),
    seconds,
    nextPath: () =>
      `/v1/users/${userIds[Math.floor(rng.next() * userIds.length)]}/recommendations?k=${a.k}&mode=${a.mode}`,
  });
}

async function measure(label: string, url: string, userIds: string[]) {
  await load(url, userIds, Number(a.warmup), 1);
  const before = await eventStore();
  const m = await load(url, userIds, Number(a.duration), 2);
  const after = await eventStore();
  log(`${label}: ${m.rps.toFixed(0)} req/s, p50 ${m.p50.toFixed(1)} ms, p99 ${m.p99.toFixed(1)} ms`);
  return { label, ...m, store: after, queriesBefore: before.queryTotal, queriesAfter: after.queryTotal };
}

async function main() {
  await setup(es, ctx.kafka, ctx.config, names, ctx.log);
  const now = Date.now();
  const users = Number(a.users ?? Math.max(2000, Math.round(N / 100)));
  const items = Number(a.items ?? Math.max(1000, Math.round(N / 500)));
  const gen = { users, items, seed: Number(a.seed), malformedFraction: 0 };
  const catalog = generateCatalog({ ...gen, days: DAYS });
  await deploy(catalog);
  const userIds = catalog.users.map((u) => u.user_id);

  // (a) the last week only
  let t = Date.now();
  const recentEvents = Math.round((N * RECENT) / DAYS);
  const nRecent = await bulkLoad(
    iterateEvents(
      { ...gen, days: RECENT, events: recentEvents, startDate: new Date(now - RECENT * DAY) },
      catalog,
    ),
  );
  await settle();
  log(`(a) loaded ${nRecent} events of the last ${RECENT} days in ${((Date.now() - t) / 1000).toFixed(0)} s`);
  const api = await startApi();
  const rows = [];
  try {
    // the first requests after a deploy meet a cold API process and cold vector files: one full
    // pass is thrown away before (a), so (a) is not penalised for coming first
    await load(api.url, userIds, Number(a.duration), 0);
    rows.push(await measure(`(a) ${RECENT} days`, api.url, userIds));

    // (b) the years before it, straight into the buckets
    t = Date.now();
    const nOld = await bulkLoad(
      iterateEvents(
        { ...gen, days: DAYS - RECENT, events: N - recentEvents, startDate: new Date(now - DAYS * DAY) },
        catalog,
      ),
    );
    await settle();
    log(`(b) loaded ${nOld} older events in ${((Date.now() - t) / 1000).toFixed(0)} s`);
    rows.push(await measure(`(b) ${a.years} years`, api.url, userIds));

    // (a') control for drift (other load on the machine, caches): back to the same week. Retention
    // drops the buckets wholly older than it; the older events sharing its buckets are deleted by id.
    t = Date.now();
    const dropped = (await applyRetention(ctx, { now, retentionDays: RECENT })).dropped;
    const kept = new Set((await ctx.repos.events.bucketIndices()).map((b) => b.index));
    let ops: unknown[] = [];
    for (const e of iterateEvents(
      { ...gen, days: DAYS - RECENT, events: N - recentEvents, startDate: new Date(now - DAYS * DAY) },
      catalog,
    )) {
      const index = names.eventsIndex(new Date(e.timestamp));
      if (kept.has(index)) ops.push({ delete: { _index: index, _id: e.event_id } });
      if (ops.length >= 20_000) {
        await es.bulk({ operations: ops, filter_path: 'errors' });
        ops = [];
      }
    }
    if (ops.length) await es.bulk({ operations: ops, filter_path: 'errors' });
    await settle();
    log(
      `(a') retention dropped ${dropped.length} buckets, older events removed from the ${kept.size} kept in ${((Date.now() - t) / 1000).toFixed(0)} s`,
    );
    rows.push(await measure(`(a') ${RECENT} days again`, api.url, userIds));
  } finally {
    api.child.kill('SIGTERM');
    await new Promise((r) => api.child.once('exit', r));
  }

  const [w, y, w2] = rows as [(typeof rows)[0], (typeof rows)[0], (typeof rows)[0]];
  console.log(
    `\nretention benchmark: GET /v1/users/<u>/recommendations?k=${a.k}&mode=${a.mode}, ${users} users (random), ${items} items × ${K} factors, ${a.connections} connections, ${a.duration} s per row after ${a.warmup} s warm-up\n`,
  );
  console.table(
    rows.map((r) => ({
      store: r.label,
      'events stored': r.store.events,
      'event indices': r.store.indices,
      'items segments': r.store.itemSegments,
      'req/s': Math.round(r.rps),
      'p50 ms': r.p50.toFixed(1),
      'p99 ms': r.p99.toFixed(1),
      'non-2xx': r.non2xx,
      errors: r.errors,
      'events query_total before': r.queriesBefore,
      'after load': r.queriesAfter,
      'event-store searches': r.queriesAfter - r.queriesBefore,
    })),
  );
  // the reference is the mean of the week measured before and after the years (drift cancels)
  const ref = { rps: (w.rps + w2.rps) / 2, p50: (w.p50 + w2.p50) / 2, p99: (w.p99 + w2.p99) / 2 };
  const ratio = y.rps / ref.rps;
  console.log(
    `  3y / 1w (1w = mean of (a) and (a')): req/s ${ratio.toFixed(2)}× (target ≥ 0.9: ${ratio >= 0.9 ? 'met' : 'NOT met'}), p50 ${(y.p50 / ref.p50).toFixed(2)}×, p99 ${(y.p99 / ref.p99).toFixed(2)}×`,
  );
  console.log(
    `  drift check: (a') / (a) req/s ${(w2.rps / w.rps).toFixed(2)}× (far from 1 = the machine was not quiet; rerun)`,
  );
  console.log(
    `  event-store searches during the 3-year load: ${y.queriesAfter - y.queriesBefore} (${y.queriesAfter === y.queriesBefore ? 'none: the request path does not search the event store' : 'the request path searched the event store'})`,
  );
  await disposeBench(ctx, a.keep);
  await recordFigures({
    bench: 'retention',
    title: `retention: does the request cost depend on the history stored? GET recommendations (k=${a.k}, mode=${a.mode}) with ${RECENT} days vs ${a.years} years of events, ${users.toLocaleString('en')} users, ${items.toLocaleString('en')} items × ${K}, ${a.connections} connections`,
    tables: [
      {
        title: `${a.duration} s per row after ${a.warmup} s warm-up; target: req/s with ${a.years} years ≥ 0.9 × with ${RECENT} days, no event-store search per request`,
        columns: [
          'store',
          'events stored',
          'event indices',
          'req/s',
          'p50 ms',
          'p99 ms',
          'non-2xx',
          'event-store searches',
          'req/s × 1 week',
        ],
        rows: rows.map((r) => [
          r.label,
          r.store.events,
          r.store.indices,
          Math.round(r.rps),
          round(r.p50, 1),
          round(r.p99, 1),
          r.non2xx + r.errors,
          r.queriesAfter - r.queriesBefore,
          round(r.rps / ref.rps, 2),
        ]),
        reference:
          "one week of events: the mean of (a) and (a'), measured before and after the years, so drift cancels",
        ratio: 'req/s × 1 week',
      },
    ],
    notes: [
      `drift check: (a') / (a) req/s ${(w2.rps / w.rps).toFixed(2)}× (far from 1: the machine was not quiet)`,
    ],
  });
}

await main();
