// Query benchmark: deploys a synthetic model (default 1,000,000 items × 64 factors, 10,000 users)
// with deployModel, starts the API in a child process, measures recall@10 of ann and lsh against
// exact over a user sample, then load-tests each mode with and without a category filter with
// autocannon on loopback. Prints a table and writes bench/query/results/<items>x<factors>.json.
//
//   npx tsx bench/query/run.ts                       # full size (deploy takes a long while)
//   npx tsx bench/query/run.ts --items 100000 --users 5000 --duration 10
//   npx tsx bench/query/run.ts --reuse               # skip the deploy if the prefix has a live model
//   npx tsx bench/query/run.ts --cleanup             # delete the prefix's indices and topics at the end
//   npx tsx bench/query/run.ts --forcemerge          # merge the items index to one segment first
//   npx tsx bench/query/run.ts --reuse --modes ann --ann-factor 50   # ann with num_candidates = 50·k
//   npx tsx bench/query/run.ts --modes exact,ann,lsh                 # also LSH (deploys with its tables)
//   npx tsx bench/query/run.ts --factors-source als  # factors ALS trained on a generated shop (100k users)
//   npx tsx bench/query/run.ts --similar-ann false   # deploy without the item graph ([deploy] similar_ann)
//   npx tsx bench/query/run.ts --reuse --ann-exact-max-scored 0   # ann always on the graph (API and the straight-to-ES body)
//
// Not part of npm test. Uses its own index/topic prefix (default bq-<items>-).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { createContext } from '../../src/app/context.ts';
import { loadConfig, PROJECT_ROOT, type SettingsOverrides } from '../../src/config/index.ts';
import { deployModel } from '../../src/deploy/index.ts';
import { setup } from '../../src/setup/index.ts';
import { alsBenchModel, generateBenchModel, rng } from './data.ts';
import { httpLoad, percentile, settingsEnv, type LoadResult } from '../common.ts';
import { recordFigures, round } from '../record.ts';
import { LiveModelResolver } from '../../src/model/live-model.ts';
import { planVectorSearch } from '../../src/query/plan.ts';
import { vectorSearchBody } from '../../src/query/search-body.ts';
import { DEFAULT_QUERY_OPTIONS, type Filters, type Mode } from '../../src/query/types.ts';

const { values: args } = parseArgs({
  options: {
    items: { type: 'string', default: '1000000' },
    users: { type: 'string', default: '10000' },
    factors: { type: 'string', default: '64' },
    categories: { type: 'string', default: '20' },
    clusters: { type: 'string', default: '256' },
    seed: { type: 'string', default: '7' },
    duration: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '8' },
    'recall-users': { type: 'string', default: '200' },
    'direct-users': { type: 'string', default: '100' },
    modes: { type: 'string', default: 'exact,ann' },
    k: { type: 'string', default: '10' },
    prefix: { type: 'string' },
    reuse: { type: 'boolean', default: false },
    forcemerge: { type: 'boolean', default: false },
    'ann-factor': { type: 'string' },
    'ann-min': { type: 'string' },
    cleanup: { type: 'boolean', default: false },
    // similar items rows (item → item, cosine space) for these modes, e.g. --similar ann,exact
    similar: { type: 'string', default: 'ann' },
    // [deploy] similar_ann: false builds no graph for similar items
    'similar-ann': { type: 'string' },
    // [serving] ann_exact_max_scored for the API and the straight-to-ES bodies (0: ann always on the graph)
    'ann-exact-max-scored': { type: 'string' },
    // factors: planted (clustered, log-normal norms) or als (trained on a generated shop, see data.ts)
    'factors-source': { type: 'string', default: 'planted' },
    'als-users': { type: 'string', default: '100000' },
    'als-mean': { type: 'string', default: '30' },
    'als-iterations': { type: 'string', default: '6' },
  },
});
const N_ITEMS = Number(args.items);
const ALS = args['factors-source'] === 'als';
const N_USERS = ALS ? Number(args['als-users']) : Number(args.users);
const FACTORS = Number(args.factors);
const K = Number(args.k);
const MODES = args.modes!.split(',') as Array<'exact' | 'ann' | 'lsh'>;
const prefix = args.prefix ?? `bq-${N_ITEMS}${ALS ? '-als' : ''}-`;
const MODEL_ID = 'mbench';

const SIMILAR = args.similar ? (args.similar.split(',') as Array<'exact' | 'ann'>) : [];
const settings: SettingsOverrides = {
  serving: {
    defaultMode: 'ann',
    ...(args['ann-exact-max-scored'] ? { annExactMaxScored: Number(args['ann-exact-max-scored']) } : {}),
  },
  ...(args['similar-ann']
    ? { deploy: { similarAnn: args['similar-ann'] === 'auto' ? 'auto' : args['similar-ann'] === 'true' } }
    : {}),
};
const env = {
  ...process.env,
  RECSYS_INDEX_PREFIX: prefix,
  RECSYS_TOPIC_PREFIX: prefix,
  LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'warn',
  // the API child reads the same settings
  ...settingsEnv('query', settings),
};
const ctx = createContext(loadConfig({ env, overrides: settings }));
const { es, names } = ctx;
const log = (msg: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);

async function liveModel(): Promise<string | undefined> {
  try {
    return Object.keys(await es.indices.getAlias({ name: names.itemsAlias }))[0];
  } catch {
    return undefined;
  }
}

async function deploy(): Promise<Record<string, unknown>> {
  await setup(es, ctx.kafka, ctx.config, names, ctx.log);
  let t = Date.now();
  const shape = {
    items: N_ITEMS,
    users: N_USERS,
    factors: FACTORS,
    categories: Number(args.categories),
    clusters: Number(args.clusters),
    seed: Number(args.seed),
  };
  const trained = ALS
    ? await alsBenchModel({
        ...shape,
        meanPerUser: Number(args['als-mean']),
        iterations: Number(args['als-iterations']),
      })
    : undefined;
  const model = trained ?? generateBenchModel(shape);
  const genSeconds = (Date.now() - t) / 1000;
  const als = trained
    ? {
        interactions: trained.interactions,
        train_s: trained.trainSeconds,
        items_with_factor: countNonZeroRows(trained.itemFactors, FACTORS),
      }
    : undefined;
  log(
    `generated ${N_ITEMS} × ${FACTORS} items, ${N_USERS} users in ${genSeconds.toFixed(1)} s${als ? ` (ALS on ${als.interactions} interactions, ${als.train_s.toFixed(0)} s; ${als.items_with_factor} items with a factor)` : ''}`,
  );

  t = Date.now();
  const r = rng(Number(args.seed) + 1);
  const CHUNK = 5000;
  for (let start = 0; start < N_ITEMS; start += CHUNK) {
    const docs = [];
    for (let i = start; i < Math.min(N_ITEMS, start + CHUNK); i++) {
      docs.push({
        item_id: model.itemIds[i]!,
        name: `Item ${i}`,
        category: model.categories[model.itemCategory[i]!]!,
        price: Math.round(r.uniform() * 50_000) / 100,
        available: r.uniform() < 0.9,
        tags: [`t${i % 50}`],
      });
    }
    const rep = await ctx.repos.metadata.upsertItems(docs);
    if (rep.errors.length) throw new Error(`metadata upsert failed: ${JSON.stringify(rep.errors[0])}`);
    if ((start / CHUNK) % 20 === 0) log(`metadata ${start + docs.length}/${N_ITEMS}`);
  }
  await es.indices.refresh({ index: names.itemMetadata });
  const metaSeconds = (Date.now() - t) / 1000;
  log(`metadata written in ${metaSeconds.toFixed(1)} s`);

  t = Date.now();
  let lastLog = 0;
  const report = await deployModel(
    ctx,
    {
      modelId: MODEL_ID,
      factors: FACTORS,
      itemIds: model.itemIds,
      itemFactors: model.itemFactors,
      userIds: model.userIds,
      userFactors: model.userFactors,
      recentItems: model.recent,
      popularity: new Map(model.itemIds.map((id, i) => [id, model.popularity[i]!])),
    },
    {
      // LSH is off by default ([deploy] lsh); build it only when its rows are asked for
      buildLsh: MODES.includes('lsh'),
      onProgress: (phase, done, total) => {
        if (Date.now() - lastLog > 15_000 || done === total) {
          lastLog = Date.now();
          log(`deploy ${phase} ${done}/${total}`);
        }
      },
    },
  );
  log(`deployed in ${report.seconds.toFixed(0)} s (${JSON.stringify(report.timings)})`);
  t = Date.now();
  if (args.forcemerge) {
    // fewer, larger HNSW graphs: faster ann, but not what a fresh deploy serves
    const segments = await ctx.repos.modelIndices.forceMerge(MODEL_ID, { maxSegments: 1 });
    log(`force-merged to ${segments} segment(s) in ${((Date.now() - t) / 1000).toFixed(0)} s`);
  } else await mergesSettled();
  const mergeSeconds = (Date.now() - t) / 1000;
  return {
    factors_source: args['factors-source'],
    ...(als ? { als } : {}),
    generate_s: genSeconds,
    metadata_s: metaSeconds,
    deploy_s: report.seconds,
    deploy_timings: report.timings,
    merge_wait_s: mergeSeconds,
    forcemerge: args.forcemerge,
  };
}

function countNonZeroRows(flat: Float32Array, k: number): number {
  let n = 0;
  for (let i = 0; i < flat.length; i += k) if (flat.subarray(i, i + k).some((x) => x !== 0)) n++;
  return n;
}

/** Background merges after a bulk load would skew the latencies: wait until none runs. */
async function mergesSettled(): Promise<void> {
  const index = names.itemsIndex(MODEL_ID);
  for (;;) {
    const s = await es.indices.stats({ index, metric: ['merge'] });
    if ((s._all.primaries?.merges?.current ?? 0) === 0) break;
    await new Promise((r) => setTimeout(r, 5_000));
  }
}

async function segmentCount(): Promise<number> {
  const s = await es.indices.stats({ index: names.itemsAlias, metric: ['segments'] });
  return s._all.primaries?.segments?.count ?? 0;
}

async function startApi(): Promise<{ url: string; child: ChildProcess }> {
  const overrides: Record<string, number> = {};
  if (args['ann-factor']) overrides['annCandidatesFactor'] = Number(args['ann-factor']);
  if (args['ann-min']) overrides['annMinCandidates'] = Number(args['ann-min']);
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(PROJECT_ROOT, 'bench', 'query', 'serve.ts'), JSON.stringify(overrides)],
    { env, stdio: ['ignore', 'pipe', 'inherit'], cwd: PROJECT_ROOT },
  );
  const rl = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    rl.once('line', (line) => resolve((JSON.parse(line) as { url: string }).url));
    child.once('exit', (code) => reject(new Error(`API exited with ${code}`)));
  });
  return { url, child };
}

const category = (u: number) => `cat${(u * 7) % Number(args.categories)}`;
const userPath = (u: number, mode: string, filtered: boolean) =>
  `/v1/users/u${u}/recommendations?k=${K}&mode=${mode}${filtered ? `&category=${category(u)}` : ''}`;

/** The personal (model-scored) item ids of one API answer, in order. */
async function personalIds(url: string, p: string): Promise<string[]> {
  const res = await fetch(url + p);
  if (!res.ok) throw new Error(`${p} → ${res.status} ${await res.text()}`);
  return ((await res.json()) as { items: Array<{ item_id: string; source: string }> }).items
    .filter((i) => i.source === 'personal')
    .map((i) => i.item_id);
}

async function recall(url: string): Promise<Record<string, number>> {
  const n = Math.min(Number(args['recall-users']), N_USERS);
  const out: Record<string, number> = {};
  const sample = Array.from({ length: n }, (_, i) => Math.floor((i * N_USERS) / n));
  const ids = (p: string) => personalIds(url, p);
  for (const filtered of [false, true]) {
    const sums: Record<string, number> = { ann: 0, lsh: 0 };
    for (const u of sample) {
      const exact = new Set(await ids(userPath(u, 'exact', filtered)));
      for (const mode of ['ann', 'lsh'] as const) {
        if (!MODES.includes(mode)) continue;
        const got = await ids(userPath(u, mode, filtered));
        sums[mode]! += got.filter((id) => exact.has(id)).length / Math.max(1, exact.size);
      }
    }
    for (const mode of ['ann', 'lsh']) out[`${mode}${filtered ? '+category' : ''}`] = sums[mode]! / n;
  }
  return out;
}

/**
 * API latency vs the same knn search sent straight to Elasticsearch: one connection each,
 * sequential, the same users, alternating API and ES per user so both see the same machine load.
 * The ES body is built by the service's own builder with the model's tuned num_candidates and the
 * user's seen items excluded, i.e. what the API sends for its one items search.
 */
async function direct(
  url: string,
  mode: Mode,
  filtered: boolean,
): Promise<{
  apiP50: number;
  apiP99: number;
  esP50: number;
  esP99: number;
  getP50: number;
  wholeP50?: number;
  scored?: number;
  routed?: number;
}> {
  const n = Math.min(Number(args['direct-users']), N_USERS);
  const modelId = (await liveModel())!.slice(names.itemsIndex('').length);
  const resolver = new LiveModelResolver(ctx.repos, names, ctx.log, 5_000, ctx.config.serving.filterFields);
  const tuned = (await resolver.annCandidates(modelId))?.mips;
  const hashers = mode === 'lsh' ? await resolver.hashers(modelId) : undefined;
  // the body is planned as the API plans it (query/plan.ts): exact narrowed by the norm probe,
  // filtered or not; ann whose bound keeps ≤ annExactMaxScored items sent as that exact search.
  // For exact the same search without the bound is timed too, and the share of items it scores
  const probe = mode === 'exact' || mode === 'ann' ? await resolver.loadNormProbe(modelId) : undefined;
  let routed = 0;
  const whole: number[] = [];
  const scored: number[] = [];
  const options = {
    ...DEFAULT_QUERY_OPTIONS,
    ...(args['ann-factor'] ? { annCandidatesFactor: Number(args['ann-factor']) } : {}),
    ...(args['ann-min'] ? { annMinCandidates: Number(args['ann-min']) } : {}),
    annExactMaxScored: ctx.config.serving.annExactMaxScored,
  };
  const api: number[] = [];
  const direct: number[] = [];
  const gets: number[] = [];
  for (let i = 0; i < n; i++) {
    const u = Math.floor((i * N_USERS) / n);
    const t0 = performance.now();
    // the API's other round trip, timed too: API − (GET + search) is the API's own time
    const user = await ctx.repos.users.vector(names.usersIndex(modelId), `u${u}`);
    gets.push(performance.now() - t0);
    if (!user?.factor) continue;
    const filters: Filters = { terms: filtered ? { category: [category(u)] } : {}, booleans: {}, ranges: {} };
    const lshTerms = hashers ? hashers.queryMipsTerms(user.factor) : undefined;
    const plan = planVectorSearch({
      space: 'mips',
      req: { mode: mode as Mode, k: K, filters },
      vector: user.factor,
      exclude: new Set(user.recent_items),
      tuned,
      probe: () => probe,
      annExactMaxScored: options.annExactMaxScored,
    });
    if (mode === 'ann' && plan.mode === 'exact') routed++;
    const body = vectorSearchBody(
      {
        space: 'mips',
        mode: plan.mode,
        k: K,
        vector: plan.vector,
        filters,
        exclude: user.recent_items,
        lshTerms,
        numCandidates: plan.numCandidates,
        normHead: plan.normHead,
        minNorm: plan.minNorm,
      },
      options,
    );
    let t = performance.now();
    const res = await fetch(url + userPath(u, mode, filtered));
    await res.arrayBuffer();
    api.push(performance.now() - t);
    t = performance.now();
    await es.search({ index: names.itemsIndex(modelId), ...body });
    direct.push(performance.now() - t);
    if (probe && mode === 'exact') {
      const all = vectorSearchBody(
        { space: 'mips', mode, k: K, vector: user.factor, filters, exclude: user.recent_items },
        options,
      );
      t = performance.now();
      await es.search({ index: names.itemsIndex(modelId), ...all });
      whole.push(performance.now() - t);
      const filter = [
        ...(filtered ? [{ term: { category: category(u) } }] : []),
        ...(plan.minNorm === undefined ? [] : [{ range: { factor_norm: { gte: plan.minNorm } } }]),
      ];
      const kept = (await es.count({ index: names.itemsIndex(modelId), query: { bool: { filter } } })).count;
      scored.push(kept / N_ITEMS);
    }
  }
  for (const xs of [api, direct, gets, whole]) xs.sort((a, b) => a - b);
  const narrowed =
    probe && mode === 'exact'
      ? {
          wholeP50: percentile(whole, 50),
          scored: scored.reduce((a, b) => a + b, 0) / Math.max(1, scored.length),
        }
      : {};
  if (probe && mode === 'ann')
    log(
      `ann${filtered ? ' +category' : ''}: ${routed} of ${api.length} requests answered by exact search over ≤ ${options.annExactMaxScored} items ([serving] ann_exact_max_scored)`,
    );
  return {
    apiP50: percentile(api, 50),
    apiP99: percentile(api, 99),
    esP50: percentile(direct, 50),
    esP99: percentile(direct, 99),
    getP50: percentile(gets, 50),
    ...narrowed,
    ...(probe && mode === 'ann' ? { routed: routed / Math.max(1, api.length) } : {}),
  };
}

async function load(url: string, mode: string, filtered: boolean, seconds: number): Promise<LoadResult> {
  const r = rng(mode.length * 31 + (filtered ? 1 : 0));
  return httpLoad(url, {
    connections: Number(args.connections),
    seconds,
    nextPath: () => userPath(Math.floor(r.uniform() * N_USERS), mode, filtered),
  });
}

const similarPath = (i: number, mode: string, filtered: boolean) =>
  `/v1/items/i${i}/similar?k=${K}&mode=${mode}${filtered ? `&category=${category(i)}` : ''}`;
async function loadSimilar(
  url: string,
  mode: string,
  filtered: boolean,
  seconds: number,
): Promise<LoadResult> {
  const r = rng(mode.length * 53 + (filtered ? 1 : 0));
  return httpLoad(url, {
    connections: Number(args.connections),
    seconds,
    nextPath: () => similarPath(Math.floor(r.uniform() * N_ITEMS), mode, filtered),
  });
}

/** Similar items: ann (graph, or exact when deployed without it) against exact, same items. */
async function similarRecall(url: string): Promise<Record<string, number>> {
  const n = Math.min(Number(args['recall-users']), N_ITEMS);
  const out: Record<string, number> = {};
  const ids = (p: string) => personalIds(url, p);
  for (const filtered of [false, true]) {
    let sum = 0;
    for (let j = 0; j < n; j++) {
      const i = Math.floor((j * N_ITEMS) / n);
      const exact = new Set(await ids(similarPath(i, 'exact', filtered)));
      sum +=
        (await ids(similarPath(i, 'ann', filtered))).filter((id) => exact.has(id)).length /
        Math.max(1, exact.size);
    }
    out[`similar ann${filtered ? '+category' : ''}`] = sum / n;
  }
  return out;
}

async function main(): Promise<void> {
  const started = Date.now();
  let figures: Parameters<typeof recordQueryFigures>[0] | undefined;
  let deployInfo: Record<string, unknown> = { reused: true };
  if (args.reuse && (await liveModel())) log(`reusing the live model under prefix ${prefix}`);
  else deployInfo = await deploy();
  const { count } = await es.count({ index: names.itemsAlias });
  const segments = await segmentCount();
  const api = await startApi();
  log(`API at ${api.url}; ${count} items live in ${segments} segments`);
  try {
    log(`recall@${K} over ${args['recall-users']} users…`);
    const rec = {
      ...(await recall(api.url)),
      ...(SIMILAR.includes('ann') ? await similarRecall(api.url) : {}),
    };
    const ann = (await new LiveModelResolver(ctx.repos, names, ctx.log).annCandidates(MODEL_ID)) ?? {};
    log(`ann tuning of the live model: ${JSON.stringify(ann)}`);
    // as measured at deploy: recall per space and case, the query scale, the norm head's size
    const measured = (
      (await ctx.repos.models.get(MODEL_ID, { includes: ['ann'] })) as { ann?: unknown } | undefined
    )?.ann;
    log(`ann as the deploy measured it: ${JSON.stringify(measured)}`);
    const rows: Array<Record<string, string | number>> = [];
    for (const mode of MODES) {
      for (const filtered of [false, true]) {
        await load(api.url, mode, filtered, Number(args.warmup));
        const m = await load(api.url, mode, filtered, Number(args.duration));
        const d = await direct(api.url, mode, filtered);
        const recallKey = `${mode}${filtered ? '+category' : ''}`;
        rows.push({
          mode,
          filter: filtered ? 'category' : '-',
          'p50 ms': m.p50.toFixed(1),
          'p95 ms': m.p95.toFixed(1),
          'p99 ms': m.p99.toFixed(1),
          'req/s': m.rps.toFixed(0),
          'recall@10': mode === 'exact' ? '1 (ref)' : (rec[recallKey]?.toFixed(3) ?? '-'),
          'seq API p50': d.apiP50.toFixed(1),
          'seq ES p50': d.esP50.toFixed(1),
          'API/ES': (d.apiP50 / d.esP50).toFixed(2),
          'seq ES p99': d.esP99.toFixed(1),
          'seq user GET p50': d.getP50.toFixed(1),
          // exact without filters: the same search over the whole catalogue, and the share of items the norm bound keeps
          'seq ES p50 whole': d.wholeP50?.toFixed(1) ?? '-',
          'scored share': d.scored?.toFixed(3) ?? '-',
          // ann without filters: share of requests answered by exact search over few items
          'ann as exact': d.routed?.toFixed(2) ?? '-',
          non2xx: m.non2xx,
          errors: m.errors,
        });
        log(`${mode} ${filtered ? '+category' : ''}: p50 ${m.p50} ms, ${m.rps.toFixed(0)} req/s`);
      }
    }
    for (const mode of SIMILAR) {
      for (const filtered of [false, true]) {
        await loadSimilar(api.url, mode, filtered, Number(args.warmup));
        const m = await loadSimilar(api.url, mode, filtered, Number(args.duration));
        rows.push({
          mode: `similar ${mode}${mode === 'ann' && ann.cosine?.exactOnly ? ' (no graph: exact)' : ''}`,
          filter: filtered ? 'category' : '-',
          'p50 ms': m.p50.toFixed(1),
          'p95 ms': m.p95.toFixed(1),
          'p99 ms': m.p99.toFixed(1),
          'req/s': m.rps.toFixed(0),
          'recall@10':
            mode === 'exact'
              ? '1 (ref)'
              : (rec[`similar ann${filtered ? '+category' : ''}`]?.toFixed(3) ?? '-'),
          non2xx: m.non2xx,
          errors: m.errors,
        });
        log(`similar ${mode} ${filtered ? '+category' : ''}: p50 ${m.p50} ms, ${m.rps.toFixed(0)} req/s`);
      }
    }
    console.log(
      `\n${N_ITEMS.toLocaleString('en')} items × ${FACTORS} factors (${segments} segments), ${N_USERS.toLocaleString('en')} users, k=${K}, ${args.connections} connections, ${args.duration} s per row (exclude_seen on); seq = one connection, sequential, ${args['direct-users']} users, API vs the same knn body straight to ES\n`,
    );
    console.table(rows);
    const dir = path.join(PROJECT_ROOT, 'bench', 'query', 'results');
    mkdirSync(dir, { recursive: true });
    const suffix =
      (ALS ? '-als' : '') +
      (args['similar-ann'] === 'false' ? '-nosimilargraph' : '') +
      (args['ann-factor'] || args['ann-min']
        ? `-ann${args['ann-factor'] ?? 10}x${args['ann-min'] ?? 100}`
        : '');
    const file = path.join(dir, `${N_ITEMS}x${FACTORS}${suffix}.json`);
    writeFileSync(
      file,
      JSON.stringify(
        {
          at: new Date().toISOString(),
          items: N_ITEMS,
          users: N_USERS,
          factors: FACTORS,
          segments,
          k: K,
          connections: Number(args.connections),
          duration_s: Number(args.duration),
          deploy: deployInfo,
          ann,
          ann_measured: measured,
          recall: rec,
          rows,
          total_s: (Date.now() - started) / 1000,
        },
        null,
        2,
      ),
    );
    console.log(`\nwritten to ${path.relative(PROJECT_ROOT, file)}`);
    figures = { rows, segments, deployInfo, ann };
  } finally {
    api.child.kill('SIGTERM');
    await new Promise((r) => api.child.once('exit', r));
    if (args.cleanup) {
      await es.indices
        .delete({ index: `${prefix}*`, ignore_unavailable: true, expand_wildcards: 'all' })
        .catch(() => undefined);
      await es.indices.deleteIndexTemplate({ name: `${prefix}*` }).catch(() => undefined);
      const admin = ctx.kafka.admin();
      await admin.connect();
      const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
      if (topics.length) await admin.deleteTopics({ topics });
      await admin.disconnect();
    }
    await ctx.close();
  }
  if (figures) await recordQueryFigures(figures);
}

/** 1000000 → 1m, 100000 → 100k: the variant's name in bench/figures/. */
const short = (n: number) => (n % 1e6 === 0 ? `${n / 1e6}m` : n % 1e3 === 0 ? `${n / 1e3}k` : String(n));

async function recordQueryFigures(f: {
  rows: Array<Record<string, string | number>>;
  segments: number;
  deployInfo: Record<string, unknown>;
  ann: unknown;
}): Promise<void> {
  const columns = [...new Set(f.rows.flatMap((r) => Object.keys(r)))];
  const asCell = (x: string | number | undefined) =>
    x === undefined || x === '-' ? null : typeof x === 'string' && /^-?\d+(\.\d+)?$/.test(x) ? Number(x) : x;
  const timings = (f.deployInfo['deploy_timings'] ?? {}) as Record<string, number>;
  const deploySeconds = f.deployInfo['deploy_s'];
  await recordFigures({
    bench: 'query',
    variant: `${ALS ? 'als' : 'planted'}-${short(N_ITEMS)}`,
    title: `query: ${N_ITEMS.toLocaleString('en')} items × ${FACTORS} (${ALS ? 'factors trained by AlsModel.fit on a generated shop' : 'planted clustered factors'}), ${N_USERS.toLocaleString('en')} users, ${args.connections} connections through the API; recall@${K} against exact, and the same search sent straight to Elasticsearch`,
    tables: [
      {
        title: `${f.segments} segments, ${args.duration} s per row, exclude_seen on; seq = one connection, sequential, ${args['direct-users']} users`,
        columns,
        rows: f.rows.map((r) => columns.map((c) => asCell(r[c]))),
        reference:
          'recall: mode=exact over the same users; API/ES: the same knn body sent straight to Elasticsearch',
        ratio: 'API/ES',
      },
      ...(typeof deploySeconds === 'number'
        ? [
            {
              title: 'the deploy before the load',
              columns: ['phase', 's'],
              rows: [
                ['deploy', round(deploySeconds, 1)],
                ...Object.entries(timings).map(([p, v]): [string, number] => [p, round(v, 1)]),
              ],
            },
          ]
        : []),
    ],
    notes: [
      `ann tuning of the live model (num_candidates, as the deploy measured it): ${JSON.stringify(f.ann)}`,
    ],
  });
}

await main();
