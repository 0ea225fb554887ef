/**
 * Autotune benchmark: the tuner's pick (successive halving within [tune] budget_factor fits, on a
 * validation split of the training part) against a full grid search of the same space on the same
 * validation split; both picks are then trained on the training part and scored on the same
 * holdout (the latest 20 % of each user).
 * Two kinds of data: the demo shop's events (weights 1–5 per event, summed) and planted explicit
 * 1–5 star ratings. Pure computation: no Elasticsearch, no Kafka.
 *
 *   npx tsx bench/tune/run.ts [--scale 1] [--budget 3] [--threads 2] [--data demo,planted] [--no-grid]
 *
 * Prints per data kind: the configured defaults, the tuner's pick and the grid's pick on the
 * holdout (ratios to the grid's pick), search seconds vs one fit vs the whole grid; and the grid
 * points that are best across both kinds (worst-case validation ratio to each kind's best): the
 * evidence for the defaults.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../../src/config/index.ts';
import { alsParams } from '../../src/config/als-params.ts';
import { generateDataset } from '../../src/demo/generate.ts';
import { rateEvent, ratingRules } from '../../src/events/rating.ts';
import { DEFAULT_SPACE, searchTrainPart, spaceFor, validationSplit } from '../../src/train/autotune.ts';
import {
  alsScorer,
  evaluateRanking,
  gridPoints,
  plantedInteractions,
  plantedToInteractions,
  pointKey,
  popularityBaseline,
  splitToMatrices,
  temporalSplit,
  type Interaction,
  type SearchPoint,
} from '../../src/train/evaluate/index.ts';
import { AlsModel } from '../../src/als/index.ts';
import { tableFromRows } from '../../src/train/ratings-table.ts';
import type { AlsParams } from '../../src/types/index.ts';
import { recordFigures, round } from '../record.ts';

const { values: opt } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    budget: { type: 'string', default: '3' },
    threads: { type: 'string', default: '2' },
    data: { type: 'string', default: 'demo,planted' },
    'no-grid': { type: 'boolean', default: false },
  },
});
const scale = Number(opt.scale);
const config = loadConfig({ env: {}, file: null, overrides: { als: { threads: Number(opt.threads) } } });

function demoRows(): Interaction[] {
  const data = generateDataset({
    users: Math.round(3000 * scale),
    items: Math.round(1500 * scale),
    events: Math.round(200_000 * scale),
    days: 42,
    seed: 7,
    malformedFraction: 0,
  });
  const rules = ratingRules(config);
  const now = Date.parse(data.events.at(-1)!.timestamp);
  const pairs = new Map<string, Interaction & { lastMs: number }>();
  for (const e of data.events) {
    const ts = Date.parse(e.timestamp);
    const key = `${e.user_id}\u0000${e.item_id}`;
    const w = rateEvent(e, ts, rules, now);
    const p = pairs.get(key);
    if (p) {
      p.weight += w;
      if (ts > p.lastMs) p.lastMs = p.lastTs = ts;
    } else pairs.set(key, { userId: e.user_id, itemId: e.item_id, weight: w, lastTs: ts, lastMs: ts });
  }
  return [...pairs.values()]
    .filter((p) => p.weight > 0)
    .map(({ userId, itemId, weight, lastTs }) => ({ userId, itemId, weight, lastTs }));
}

function plantedRows(): Interaction[] {
  return plantedToInteractions(
    plantedInteractions({
      nUsers: Math.round(4000 * scale),
      nItems: Math.round(2000 * scale),
      rank: 12,
      meanPerUser: 25,
      seed: 3,
    }),
  );
}

const base: AlsParams = alsParams(config.als);
const fmt = (x: number, d = 4) => x.toFixed(d);
const show = (p: SearchPoint) => `k=${p.factors} λ=${p.regularization} α=${p.alpha} ${p.weighting}`;

interface KindResult {
  name: string;
  grid: Map<string, number>;
  best: number;
}
const kinds: KindResult[] = [];
/** one row per data kind for bench/figures/tune.json; the grid's cells stay null with --no-grid */
const figureRows: Array<Array<string | number | null>> = [];

for (const name of opt.data.split(',')) {
  const rows = name === 'demo' ? demoRows() : plantedRows();
  const split = temporalSplit(rows, 0.2);
  const { train, test } = splitToMatrices(split);
  const trainPart = tableFromRows(split.train);
  console.log(
    `\n## ${name}: ${train.nUsers} users × ${train.nItems} items, ${rows.length} interactions (train part ${split.train.length}, holdout ${split.test.length})`,
  );
  const score = async (p: SearchPoint): Promise<{ ndcg: number; seconds: number }> => {
    const t0 = performance.now();
    const model = await AlsModel.fit(train, { ...base, ...p });
    const seconds = (performance.now() - t0) / 1000;
    return { ndcg: evaluateRanking(alsScorer(model), train, test, { k: 10 }).ndcg, seconds };
  };
  const popularity = evaluateRanking(popularityBaseline(train), train, test, { k: 10 }).ndcg;
  const defaults: SearchPoint = {
    factors: base.factors,
    regularization: base.regularization,
    alpha: base.alpha,
    weighting: base.weighting ?? 'linear',
  };
  const d = await score(defaults);
  console.log(
    `one fit (defaults ${show(defaults)}): ${fmt(d.seconds, 2)} s, holdout nDCG@10 ${fmt(d.ndcg)}; popularity ${fmt(popularity)}`,
  );

  const t0 = performance.now();
  const search = (await searchTrainPart(trainPart, {
    base,
    pinned: new Set(),
    space: DEFAULT_SPACE,
    holdout: 0.2,
    budgetFactor: Number(opt.budget),
  }))!;
  const searchSeconds = (performance.now() - t0) / 1000;
  const picked = await score(search.best.params);
  const rungs = [...new Set(search.trials.map((t) => t.rung))]
    .sort()
    .map(
      (r) =>
        `${search.trials.filter((t) => t.rung === r).length}@${search.trials.find((t) => t.rung === r)!.iterations}it`,
    );
  console.log(
    `tuner: ${search.trials.length} trials (${rungs.join(', ')}), ${fmt(searchSeconds, 2)} s = ${fmt(searchSeconds / d.seconds, 2)} fits (budget ${fmt(search.budgetSeconds, 2)} s for one fit ≈ ${fmt(search.fitSeconds, 2)} s on the validation part, in work units)`,
  );
  console.log(
    `tuner's pick ${show(search.best.params)}: validation ${fmt(search.best.ndcg)}, holdout ${fmt(picked.ndcg)}`,
  );

  const row: Array<string | number | null> = [
    `${name} (${train.nUsers.toLocaleString('en')} × ${train.nItems.toLocaleString('en')})`,
    round(d.ndcg, 4),
    null,
    round(picked.ndcg, 4),
    null,
    null,
    round(popularity, 4),
    `${search.trials.length} trials, ${searchSeconds.toFixed(1)} s = ${(searchSeconds / d.seconds).toFixed(2)} fits`,
    null,
  ];
  figureRows.push(row);
  if (opt['no-grid']) continue;
  // the full grid as a grid search runs it: every point on the same validation split as the tuner,
  // the best by validation then trained on the training part and scored on the holdout
  const v = validationSplit(trainPart, 0.2, base.seed);
  const space = spaceFor(DEFAULT_SPACE, base, new Set(), v.train.nUsers, v.train.nItems);
  const grid = new Map<string, number>();
  let gridSeconds = 0;
  let bestPoint = defaults;
  let best = -1;
  for (const p of gridPoints(space)) {
    const t1 = performance.now();
    const model = await AlsModel.fit(v.train, { ...base, ...p });
    const ndcg = evaluateRanking(alsScorer(model), v.train, v.validation, { k: 10 }).ndcg;
    gridSeconds += (performance.now() - t1) / 1000;
    grid.set(pointKey(p), ndcg);
    if (ndcg > best) {
      best = ndcg;
      bestPoint = p;
    }
  }
  const gridPick = await score(bestPoint);
  console.log(
    `full grid: ${grid.size} points, ${fmt(gridSeconds, 1)} s (${fmt(gridSeconds / searchSeconds, 1)}× the search); best by validation ${show(bestPoint)}: validation ${fmt(best)}, holdout ${fmt(gridPick.ndcg)}`,
  );
  console.log(
    `| ${name} | defaults ${fmt(d.ndcg)} (${fmt(d.ndcg / gridPick.ndcg, 3)}×) | tuner ${fmt(picked.ndcg)} (${fmt(picked.ndcg / gridPick.ndcg, 3)}×) | grid ${fmt(gridPick.ndcg)} | popularity ${fmt(popularity)} | search ${fmt(searchSeconds / d.seconds, 2)} fits, grid ${fmt(gridSeconds / d.seconds, 0)} fits |`,
  );
  row[2] = round(d.ndcg / gridPick.ndcg, 2);
  row[4] = round(picked.ndcg / gridPick.ndcg, 2);
  row[5] = round(gridPick.ndcg, 4);
  row[8] = `${grid.size} points, ${gridSeconds.toFixed(0)} s (${(gridSeconds / searchSeconds).toFixed(0)}× the search)`;
  kinds.push({ name, grid, best });
}

if (kinds.length > 1) {
  console.log('\n## grid points best across all kinds (validation nDCG, worst ratio to each kind’s best)');
  const keys = [...kinds[0]!.grid.keys()].filter((k) => kinds.every((x) => x.grid.has(k)));
  const ranked = keys
    .map((k) => ({
      k,
      worst: Math.min(...kinds.map((x) => x.grid.get(k)! / x.best)),
      each: kinds.map((x) => `${x.name} ${fmt(x.grid.get(k)! / x.best, 3)}`),
    }))
    .sort((a, b) => b.worst - a.worst);
  for (const r of ranked.slice(0, 8))
    console.log(`${r.k.replaceAll('|', ' ')}: worst ${fmt(r.worst, 3)} (${r.each.join(', ')})`);
  const cur = pointKey({
    factors: base.factors,
    regularization: base.regularization,
    alpha: base.alpha,
    weighting: base.weighting ?? 'linear',
  });
  const c = ranked.find((r) => r.k === cur);
  if (c)
    console.log(
      `configured defaults ${cur.replaceAll('|', ' ')}: worst ${fmt(c.worst, 3)} (${c.each.join(', ')}), rank ${ranked.indexOf(c) + 1} of ${ranked.length}`,
    );
}

await recordFigures({
  bench: 'tune',
  title:
    'autotune: the tuner (coordinate descent, then the best third confirmed, within [tune] budget_factor fits) against a full grid search of the same space, on the demo shop and planted star ratings',
  tables: [
    {
      title: `holdout nDCG@10 (latest 20 % of each user); both pick on a validation split of the training part; scale ${opt.scale}, budget ${opt.budget} fits`,
      columns: [
        'data (users × items)',
        'defaults',
        'defaults × grid',
        'tuner',
        'tuner × grid',
        'full grid search',
        'popularity',
        'search cost',
        'grid cost',
      ],
      rows: figureRows,
      reference: "the full grid search's pick, trained and scored the same way",
      ratio: 'tuner × grid',
    },
  ],
});
