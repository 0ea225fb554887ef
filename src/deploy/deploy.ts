import { gramian } from '../als/index.ts';
import { filterFieldMappings } from '../catalog/item-fields.ts';
import type { AppContext } from '../app/context.ts';
import { modelLifecycle, type ModelLifecycle } from '../model/lifecycle.ts';
import { DEFAULT_LOAD_RETRY, type LoadDoc, type Refusal } from '../repositories/bulk-load.ts';
import { withRetry } from '../infra/retry.ts';
import type { Metadata } from '../repositories/items.ts';
import { idProblem } from '../types/ids.ts';
import { SkipLog, truncateId, type SkipSummary } from '../types/skipped.ts';
import { vectorSearchBody, type Space } from '../query/search-body.ts';
import { DEFAULT_QUERY_OPTIONS, type Filters } from '../query/types.ts';
import { graphNoFaster, sampleIndices, tuneAnnCandidates, type AnnTuning } from './ann-tuning.ts';
import { itemDocument, userDocument } from './documents.ts';
import { chooseMipsGraph, type MipsBoundSample } from './mips-graph.ts';
import { chooseNormHead, inNormHead, type NormHead } from './norm-head.ts';
import { chooseModelLsh, ModelHashers } from './lsh-setup.ts';

export interface DeployInput {
  modelId: string;
  factors: number;
  itemIds: string[];
  /** nItems × factors, row-major */
  itemFactors: Float32Array;
  userIds: string[];
  userFactors: Float32Array;
  /** user_id → items the user interacted with (served as exclude_seen) */
  recentItems?: Map<string, string[]>;
  /** item_id → popularity (recent weighted events) */
  popularity?: Map<string, number>;
  /** per item (itemIds order): the weighting's BM25 norm, written on the item document for fold-in */
  itemNorms?: Float32Array;
  /** fixed LSH (L, b, seed) instead of tuning on the factors */
  lsh?: { tables: number; bits: number; seed: number };
}

export interface DeployOptions {
  onProgress?: (phase: 'items' | 'users', done: number, total: number) => void;
  /** model versions kept for rollback (the new one included) */
  keep?: number;
  /** the lifecycle to go live through (default: one for ctx); lets the API's resolver see the swap at once */
  lifecycle?: ModelLifecycle;
  /** build and keep the version (status staged, for an experiment) instead of making it live */
  stage?: boolean;
  /**
   * Build LSH tables and bucket terms (mode=lsh); default DEPLOY_LSH, always when input.lsh fixes
   * them. Without them mode=lsh answers 409 lsh_unavailable.
   */
  buildLsh?: boolean;
  /**
   * Build the unit vectors' HNSW graph (similar items, mode=ann); default DEPLOY_SIMILAR_ANN.
   * Without it similar items are searched exactly and the deploy builds one graph, not two.
   * 'auto': unless the live model's deploy timed its graph no faster than exact search.
   */
  similarAnn?: 'auto' | boolean;
  /**
   * Build the raw factors' HNSW graph (user → item, mode=ann); default DEPLOY_MIPS_ANN. 'auto':
   * only when the norm-bounded exact search would be too large for the sampled users (./mips-graph.ts).
   */
  mipsAnn?: 'auto' | boolean;
  /** fault point between the load and the swap (tests inject failures here) */
  beforeSwap?: () => Promise<void> | void;
  /**
   * How many item (user) documents may be skipped — an id today's rules refuse, a document the
   * cluster refuses for good — before the deploy fails instead: max(min, fraction × documents).
   * Default DEFAULT_SKIP_LIMIT. A conflict that hits every document fails as soon as it passes this.
   */
  skipLimit?: { min: number; fraction: number };
}

/** At most max(10, 0.1 %) of a deploy's item or user documents may be skipped. */
export const DEFAULT_SKIP_LIMIT = { min: 10, fraction: 0.001 } as const;

export interface DeployReport {
  modelId: string;
  /** item documents in the deployed index */
  items: number;
  itemsWithFactor: number;
  /** user documents in the deployed index */
  users: number;
  /** documents skipped instead of failing the deploy (invalid id, refused by the cluster) */
  skippedItems: number;
  skippedUsers: number;
  /** the skips by stage and reason, with examples (also on the model document under deploy.skipped) */
  skipped: SkipSummary;
  seconds: number;
  timings: Record<string, number>;
  removedVersions: string[];
  previousModelId?: string;
  /** built and kept for an experiment, not live */
  staged: boolean;
}

/**
 * Skips of one deploy: counted per stage (items / users), and the deploy fails once a stage skips
 * more than its limit (a share that large is a broken input or mapping, not a few bad rows).
 */
class DeploySkips {
  readonly log = new SkipLog();
  private readonly limits: Record<'items' | 'users', { limit: number; total: number }>;

  constructor(itemsTotal: number, usersTotal: number, opts: { min: number; fraction: number }) {
    const limit = (total: number) => ({
      limit: Math.max(opts.min, Math.floor(opts.fraction * total)),
      total,
    });
    this.limits = { items: limit(itemsTotal), users: limit(usersTotal) };
  }

  add(stage: 'items' | 'users', reason: string, id: string, detail: string): void {
    this.log.add(stage, reason, id, detail);
    const { limit, total } = this.limits[stage];
    const n = this.log.count(stage);
    if (n > limit)
      throw new Error(
        `${n} of ${total} ${stage} documents skipped (invalid id or refused by the cluster), more than the ${limit} allowed; latest: ${truncateId(id)}: ${reason}: ${detail.slice(0, 300)}`,
      );
  }

  /** A document the cluster refused for good. */
  refused(stage: 'items' | 'users') {
    return (doc: LoadDoc, r: Refusal) => this.add(stage, r.type, doc.id, r.reason);
  }
}

function* itemDocs(
  input: DeployInput,
  meta: Map<string, Metadata>,
  hashers: ModelHashers | undefined,
  skips: DeploySkips,
  skippedFactorRows: number[],
  graphs: { similarGraph: boolean; mipsGraph: boolean },
  head: NormHead | undefined,
): Generator<LoadDoc> {
  const k = input.factors;
  const seen = new Set<string>();
  for (let i = 0; i < input.itemIds.length; i++) {
    const id = input.itemIds[i]!;
    seen.add(id);
    const problem = idProblem(id);
    if (problem) {
      skippedFactorRows.push(i);
      skips.add('items', 'invalid_id', id, `item_id ${problem}`);
      continue;
    }
    const factor = input.itemFactors.subarray(i * k, (i + 1) * k);
    const weightNorm = input.itemNorms?.[i];
    yield {
      id,
      doc: itemDocument(input.modelId, id, meta.get(id), factor, hashers, input.popularity?.get(id) ?? 0, {
        ...(weightNorm !== undefined ? { weightNorm } : {}),
        ...graphs,
        normHead: inNormHead(factor, head),
      }),
    };
  }
  // catalogue items the model has no factor for (new items): searchable and usable for backfill
  for (const [id, m] of meta) {
    if (seen.has(id)) continue;
    const problem = idProblem(id);
    if (problem) skips.add('items', 'invalid_id', id, `item_id ${problem}`);
    else
      yield {
        id,
        doc: itemDocument(input.modelId, id, m, undefined, hashers, input.popularity?.get(id) ?? 0),
      };
  }
}

function* userDocs(input: DeployInput, skips: DeploySkips): Generator<LoadDoc> {
  const k = input.factors;
  const now = new Date().toISOString();
  for (let u = 0; u < input.userIds.length; u++) {
    const id = input.userIds[u]!;
    const problem = idProblem(id);
    if (problem) {
      skips.add('users', 'invalid_id', id, `user_id ${problem}`);
      continue;
    }
    yield {
      id,
      doc: userDocument(
        input.modelId,
        id,
        input.userFactors.subarray(u * k, (u + 1) * k),
        input.recentItems?.get(id),
        now,
      ),
    };
  }
}

/** The item ids and factors without the rows that were not deployed (YᵀY and ann tuning must match the served items). */
function deployedRows(
  input: DeployInput,
  skippedRows: number[],
  refusedIds: Set<string>,
): { ids: string[]; factors: Float32Array } {
  const k = input.factors;
  const drop = new Set(skippedRows);
  input.itemIds.forEach((id, i) => refusedIds.has(id) && drop.add(i));
  if (!drop.size) return { ids: input.itemIds, factors: input.itemFactors };
  const out = new Float32Array((input.itemIds.length - drop.size) * k);
  const ids: string[] = [];
  for (let i = 0; i < input.itemIds.length; i++) {
    if (drop.has(i)) continue;
    out.set(input.itemFactors.subarray(i * k, (i + 1) * k), k * ids.length);
    ids.push(input.itemIds[i]!);
  }
  return { ids, factors: out };
}

/**
 * Query vectors sampled for ann tuning: users' factors (mips) or items' own (cosine), zero rows left
 * out. 256: per-query graph recall is heavy-tailed at 1M items, and 64 missed the tail (ann-tuning.ts
 * CLIMB_QUERIES); the exact top k of 256 queries over 1M × 64 takes ~2.3 s in the wasm kernel.
 */
const TUNING_SAMPLE = 256;
function tuningQueries(
  space: Space,
  ids: string[],
  flat: Float32Array,
  k: number,
  phase = 0,
  seen?: Map<string, string[]>,
): { vector: number[]; exclude?: string[] }[] {
  const out: { vector: number[]; exclude?: string[] }[] = [];
  for (const r of sampleIndices(ids.length, TUNING_SAMPLE, phase)) {
    const v = flat.subarray(r * k, (r + 1) * k);
    // excluded as serving excludes them: a similar-items seed, a user's seen items (exclude_seen)
    const exclude = space === 'cosine' ? [ids[r]!] : (seen?.get(ids[r]!) ?? []);
    if (v.some((x) => x !== 0)) out.push({ vector: Array.from(v), ...(exclude.length ? { exclude } : {}) });
  }
  return out;
}

/**
 * What the model document records per space: the measured tuning (mips: with its norm head), or
 * that the space has no graph; mips also records the norm-bound sample that decided its graph.
 */
type SpaceAnn =
  | (AnnTuning & { head?: NormHead; bound?: MipsBoundSample })
  | { graph: false; bound?: MipsBoundSample; skipped?: SimilarSkip };

/**
 * The mips sample: users' factors, or the items' own when the model has no users. The norm head is
 * chosen on another sample (phase 0.5) than the one tuning measures recall on, so the recall the
 * model document reports is not measured on the users the head was fitted to.
 */
function mipsQueries(
  input: DeployInput,
  deployed: { ids: string[]; factors: Float32Array },
  phase = 0,
): { vector: number[]; exclude?: string[] }[] {
  return input.userIds.length
    ? tuningQueries('mips', input.userIds, input.userFactors, input.factors, phase, input.recentItems)
    : tuningQueries('mips', deployed.ids, deployed.factors, input.factors, phase);
}

/** Picks ann num_candidates (and the mips query scale) per space with a graph, on the built (not yet live) items index. */
async function tuneAnn(
  ctx: AppContext,
  input: DeployInput,
  deployed: { ids: string[]; factors: Float32Array },
  meta: Map<string, Metadata>,
  graphs: { similarGraph: boolean; mipsGraph: boolean },
  head: NormHead | undefined,
): Promise<Record<Space, SpaceAnn>> {
  const index = ctx.names.itemsIndex(input.modelId);
  const k = input.factors;
  const categoryOf = (row: number) => {
    const c = meta.get(deployed.ids[row]!)?.['category'];
    return typeof c === 'string' ? c : undefined;
  };
  const tune = (space: Space, queries: { vector: number[]; exclude?: string[] }[]) =>
    tuneAnnCandidates({
      space,
      dims: k,
      itemIds: deployed.ids,
      itemFactors: deployed.factors,
      queries,
      category: categoryOf,
      compareExact: space === 'cosine',
      search: async (q) => {
        const filters: Filters = {
          terms: q.category !== undefined ? { category: [q.category] } : {},
          booleans: {},
          ranges: {},
        };
        const body = vectorSearchBody(
          {
            space,
            mode: q.mode ?? 'ann',
            k: q.k,
            vector: q.vector,
            filters,
            exclude: q.exclude,
            numCandidates: q.numCandidates,
            normHead: space === 'mips' && head !== undefined,
          },
          DEFAULT_QUERY_OPTIONS,
        );
        // a busy cluster (429) during a deploy is waited out, as the load's chunks are
        const hits = await withRetry(
          () => ctx.repos.items.search<{ item_id?: string }>(index, { ...body, _source: false }),
          { ...DEFAULT_LOAD_RETRY, label: `ann tuning search on ${index}` },
        );
        return hits.map((h) => h._id!);
      },
    });
  const mips: SpaceAnn = graphs.mipsGraph
    ? await tune('mips', mipsQueries(input, deployed))
    : { graph: false };
  return {
    mips: head ? { ...mips, head } : mips,
    cosine: graphs.similarGraph
      ? await tune('cosine', tuningQueries('cosine', deployed.ids, deployed.factors, k))
      : { graph: false },
  };
}

/** Why DEPLOY_SIMILAR_ANN=auto left the item → item graph out: the live model's deploy timed it. */
interface SimilarSkip {
  measured_on: string;
  unfiltered?: AnnTuning['unfiltered'];
  filtered?: AnnTuning['filtered'];
}

/**
 * DEPLOY_SIMILAR_ANN=auto: the graph is left out when the live model's deploy built one and timed
 * it no faster than exact search for every kind of request (ann-tuning.ts graphNoFaster). A model
 * deployed without it has no timing, so the deploy after it builds and times the graph again: the
 * verdict is never more than one model old, whatever the catalogue has become since.
 */
async function similarGraphVerdict(
  ctx: AppContext,
  lifecycle: ModelLifecycle,
): Promise<SimilarSkip | undefined> {
  const live = await lifecycle.liveModelId();
  if (!live) return undefined;
  const doc = (await ctx.repos.models.get(live, { includes: ['ann'] })) as
    { ann?: { cosine?: AnnTuning } } | undefined;
  const cosine = doc?.ann?.cosine;
  if (!cosine || !('target' in cosine) || !graphNoFaster(cosine)) return undefined;
  return {
    measured_on: live,
    unfiltered: cosine.unfiltered,
    ...(cosine.filtered ? { filtered: cosine.filtered } : {}),
  };
}

/**
 * Builds items-<id> and users-<id> next to the live pair, then hands the version to the model
 * lifecycle to go live in one alias action. Anything that fails before the swap deletes the
 * half-built indices and records the error; the live model keeps serving throughout. A few bad
 * documents (an id today's rules refuse, a value the mapping cannot hold) are skipped, counted and
 * recorded instead of failing the deploy; more than the skip limit fails it.
 */
export async function deployModel(
  ctx: AppContext,
  input: DeployInput,
  opts: DeployOptions = {},
): Promise<DeployReport> {
  const { repos, log } = ctx;
  const lifecycle = opts.lifecycle ?? modelLifecycle(ctx, undefined, opts.keep);
  const started = Date.now();
  const timings: Record<string, number> = {};
  const lap = (name: string, since: number) => (timings[name] = (Date.now() - since) / 1000);
  const { modelId, factors: k } = input;
  if (
    input.itemFactors.length !== input.itemIds.length * k ||
    input.userFactors.length !== input.userIds.length * k
  ) {
    throw new Error('factor arrays do not match ids × factors');
  }
  await lifecycle.ensureRegistered(modelId, { factors: k });
  let itemsTotal = 0;
  let itemsWithFactor = 0;
  let lsh;
  let skips: DeploySkips | undefined;
  const skippedFactorRows: number[] = [];
  const refusedItems = new Set<string>();
  let deployed: { ids: string[]; factors: Float32Array } | undefined;
  let ann: Record<Space, SpaceAnn> | undefined;
  const similarSetting = opts.similarAnn ?? ctx.config.deploy.similarAnn;
  let similarSkip: SimilarSkip | undefined;
  try {
    if (similarSetting === 'auto') similarSkip = await similarGraphVerdict(ctx, lifecycle);
    const similarGraph = similarSetting === 'auto' ? similarSkip === undefined : similarSetting;
    if (similarSkip)
      log.info(
        { modelId, skipped: similarSkip },
        'no item → item graph: the live model timed its graph no faster than exact search (DEPLOY_SIMILAR_ANN=auto); the next deploy builds and times it again',
      );
    let t = Date.now();
    let hashers: ModelHashers | undefined;
    if (input.lsh || (opts.buildLsh ?? ctx.config.deploy.lsh)) {
      lsh = chooseModelLsh({
        factors: k,
        itemFactors: input.itemFactors,
        userFactors: input.userFactors,
        fixed: input.lsh,
      });
      lap('lsh_tuning', t);
      hashers = new ModelHashers(lsh);
    }

    t = Date.now();
    const meta = await repos.items.allMetadata();
    lap('read_metadata', t);
    const withFactor = new Set(input.itemIds);
    itemsTotal = input.itemIds.length + [...meta.keys()].filter((id) => !withFactor.has(id)).length;
    const sk = (skips = new DeploySkips(
      itemsTotal,
      input.userIds.length,
      opts.skipLimit ?? DEFAULT_SKIP_LIMIT,
    ));
    const refusedItem = sk.refused('items');

    t = Date.now();
    const sample = mipsQueries(input, { ids: input.itemIds, factors: input.itemFactors }, 0.5);
    const choice = chooseMipsGraph(
      input.itemIds,
      input.itemFactors,
      k,
      sample,
      10,
      ctx.config.serving.annExactMaxScored,
    );
    const mipsSetting = opts.mipsAnn ?? ctx.config.deploy.mipsAnn;
    const graphs = { similarGraph, mipsGraph: mipsSetting === 'auto' ? choice.graph : mipsSetting };
    lap('mips_graph', t);
    log.info(
      { modelId, mipsGraph: graphs.mipsGraph, setting: mipsSetting, bound: choice.bound },
      graphs.mipsGraph
        ? 'user → item graph built'
        : 'no user → item graph: the norm-bounded exact search answers ann',
    );
    t = Date.now();
    const head = graphs.mipsGraph
      ? chooseNormHead(
          input.itemFactors,
          k,
          sample.map((q) => q.vector),
          10,
        )
      : undefined;
    lap('norm_head', t);
    if (head)
      log.info(
        { modelId, head },
        'norm head: the longest item vectors are searched exactly beside the MIPS graph',
      );

    await repos.modelIndices.create(modelId, k, filterFieldMappings(ctx.config.serving.filterFields), graphs);
    t = Date.now();
    await repos.modelIndices.load(
      modelId,
      'items',
      itemDocs(input, meta, hashers, sk, skippedFactorRows, graphs, head),
      {
        onProgress: (n) => opts.onProgress?.('items', n, itemsTotal),
        onRefused: (doc, r) => {
          refusedItems.add(doc.id);
          refusedItem(doc, r);
        },
      },
    );
    lap('load_items', t);
    t = Date.now();
    await repos.modelIndices.load(modelId, 'users', userDocs(input, sk), {
      onProgress: (n) => opts.onProgress?.('users', n, input.userIds.length),
      onRefused: sk.refused('users'),
    });
    lap('load_users', t);
    if (sk.log.total) log.warn({ modelId, skipped: sk.log.summary().by_reason }, 'deploy skipped documents');

    t = Date.now();
    await repos.modelIndices.makeServable(modelId);
    lap('refresh', t);
    const count = await repos.modelIndices.countItems(modelId);
    const expected = itemsTotal - sk.log.count('items');
    if (count !== expected)
      throw new Error(
        `items index holds ${count} docs, expected ${expected} (${itemsTotal} less ${sk.log.count('items')} skipped)`,
      );
    itemsWithFactor = await repos.modelIndices.countItems(modelId, true);
    deployed = deployedRows(input, skippedFactorRows, refusedItems);
    t = Date.now();
    await repos.modelIndices.mergesSettled(modelId);
    lap('merges', t);
    t = Date.now();
    const segments = await repos.modelIndices.compactSmallSegments(modelId);
    lap('compact', t);
    t = Date.now();
    ann = await tuneAnn(ctx, input, deployed, meta, graphs, head);
    ann.mips = { ...ann.mips, bound: choice.bound };
    if (similarSkip) ann.cosine = { graph: false, skipped: similarSkip };
    lap('ann_tuning', t);
    log.info({ modelId, ann, segments }, 'ann num_candidates chosen by measured recall');
    for (const [space, t] of Object.entries(ann)) {
      if (!('target' in t)) continue;
      for (const [kind, c] of [
        ['unfiltered', t.unfiltered],
        ['filtered', t.filtered],
      ] as const) {
        if (c && c.recall < t.target)
          log.warn(
            {
              modelId,
              space,
              case: kind,
              recall: c.recall,
              num_candidates: c.num_candidates,
              target: t.target,
            },
            'ann misses the recall target at every num_candidates tried: these requests will be answered exactly',
          );
      }
      if (graphNoFaster(t))
        log.warn(
          { modelId, space, unfiltered: t.unfiltered, filtered: t.filtered, setting: similarSetting },
          similarSetting === 'auto'
            ? 'the item → item graph is no faster than exact search at the recall target on this catalogue: similar items are answered exactly, and the next deploy will not build it (DEPLOY_SIMILAR_ANN=auto)'
            : 'the item → item graph is no faster than exact search at the recall target on this catalogue: similar items are answered exactly; DEPLOY_SIMILAR_ANN=auto or false would save building it',
        );
    }
    await opts.beforeSwap?.();
  } catch (e) {
    const message = (e as Error).message;
    log.error({ modelId, err: message }, 'deploy failed before the swap; live model untouched');
    await lifecycle.abandonBuild(modelId, message, skips?.log.total ? { skipped: skips.log.summary() } : {});
    throw e;
  }
  const skipped = skips!.log.summary();
  const skippedItems = skips!.log.count('items');
  const skippedUsers = skips!.log.count('users');
  const users = input.userIds.length - skippedUsers;

  const t = Date.now();
  const serving = {
    ...(lsh ? { lsh: lsh as unknown as Record<string, unknown> } : {}),
    ann: ann!,
    // online fold-in reads YᵀY of exactly these item factors from the model document
    yty: gramian(deployed!.factors, k),
    deploy: {
      items: itemsTotal - skippedItems,
      items_with_factor: itemsWithFactor,
      users,
      skipped_items: skippedItems,
      skipped_users: skippedUsers,
      skipped,
      timings,
    },
  };
  const live: { removedVersions: string[]; previousModelId?: string } = opts.stage
    ? await lifecycle.stage(modelId, serving)
    : await lifecycle.goLive(modelId, serving);
  lap(opts.stage ? 'stage' : 'swap', t);
  const report: DeployReport = {
    modelId,
    items: itemsTotal - skippedItems,
    itemsWithFactor,
    users,
    skippedItems,
    skippedUsers,
    skipped,
    seconds: (Date.now() - started) / 1000,
    timings,
    removedVersions: live.removedVersions,
    ...(live.previousModelId ? { previousModelId: live.previousModelId } : {}),
    staged: opts.stage ?? false,
  };
  log.info(report, opts.stage ? 'model deployed and staged (not live)' : 'model deployed and live');
  return report;
}
