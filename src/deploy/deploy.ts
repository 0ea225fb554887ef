import { gramian } from '../als/index.ts';
import { filterFieldMappings } from '../catalog/item-fields.ts';
import type { AppContext } from '../app/context.ts';
import { modelLifecycle, type ModelLifecycle } from '../model/lifecycle.ts';
import type { LoadDoc } from '../repositories/bulk-load.ts';
import type { Metadata } from '../repositories/items.ts';
import { itemDocument, userDocument } from './documents.ts';
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
  /** fixed LSH (L, b, seed) instead of tuning on the factors */
  lsh?: { tables: number; bits: number; seed: number };
}

export interface DeployOptions {
  onProgress?: (phase: 'items' | 'users', done: number, total: number) => void;
  /** model versions kept for rollback (the new one included) */
  keep?: number;
  /** the lifecycle to go live through (default: one for ctx); lets the API's resolver see the swap at once */
  lifecycle?: ModelLifecycle;
  /** fault point between the load and the swap (tests inject failures here) */
  beforeSwap?: () => Promise<void> | void;
}

export interface DeployReport {
  modelId: string;
  items: number;
  itemsWithFactor: number;
  users: number;
  seconds: number;
  timings: Record<string, number>;
  removedVersions: string[];
  previousModelId?: string;
}

function* itemDocs(input: DeployInput, meta: Map<string, Metadata>, hashers: ModelHashers): Generator<LoadDoc> {
  const k = input.factors;
  const seen = new Set<string>();
  for (let i = 0; i < input.itemIds.length; i++) {
    const id = input.itemIds[i]!;
    seen.add(id);
    const factor = input.itemFactors.subarray(i * k, (i + 1) * k);
    yield { id, doc: itemDocument(input.modelId, id, meta.get(id), factor, hashers, input.popularity?.get(id) ?? 0) };
  }
  // catalogue items the model has no factor for (new items): searchable and usable for backfill
  for (const [id, m] of meta) if (!seen.has(id)) yield { id, doc: itemDocument(input.modelId, id, m, undefined, hashers, input.popularity?.get(id) ?? 0) };
}

function* userDocs(input: DeployInput): Generator<LoadDoc> {
  const k = input.factors;
  const now = new Date().toISOString();
  for (let u = 0; u < input.userIds.length; u++) {
    const id = input.userIds[u]!;
    yield { id, doc: userDocument(input.modelId, id, input.userFactors.subarray(u * k, (u + 1) * k), input.recentItems?.get(id), now) };
  }
}

/**
 * Builds items-<id> and users-<id> next to the live pair, then hands the version to the model
 * lifecycle to go live in one alias action. Anything that fails before the swap deletes the
 * half-built indices and records the error; the live model keeps serving throughout.
 */
export async function deployModel(ctx: AppContext, input: DeployInput, opts: DeployOptions = {}): Promise<DeployReport> {
  const { repos, log } = ctx;
  const lifecycle = opts.lifecycle ?? modelLifecycle(ctx, undefined, opts.keep);
  const started = Date.now();
  const timings: Record<string, number> = {};
  const lap = (name: string, since: number) => (timings[name] = (Date.now() - since) / 1000);
  const { modelId, factors: k } = input;
  if (input.itemFactors.length !== input.itemIds.length * k || input.userFactors.length !== input.userIds.length * k) {
    throw new Error('factor arrays do not match ids × factors');
  }
  await lifecycle.ensureRegistered(modelId, { factors: k });
  let itemsTotal = 0;
  let itemsWithFactor = 0;
  let lsh;
  try {
    let t = Date.now();
    lsh = chooseModelLsh({ factors: k, itemFactors: input.itemFactors, userFactors: input.userFactors, fixed: input.lsh });
    lap('lsh_tuning', t);
    const hashers = new ModelHashers(lsh);

    t = Date.now();
    const meta = await repos.items.allMetadata();
    lap('read_metadata', t);
    const withFactor = new Set(input.itemIds);
    itemsTotal = input.itemIds.length + [...meta.keys()].filter((id) => !withFactor.has(id)).length;

    await repos.modelIndices.create(modelId, k, filterFieldMappings(ctx.config.api.filterFields));
    t = Date.now();
    await repos.modelIndices.load(modelId, 'items', itemDocs(input, meta, hashers), (n) => opts.onProgress?.('items', n, itemsTotal));
    lap('load_items', t);
    t = Date.now();
    await repos.modelIndices.load(modelId, 'users', userDocs(input), (n) => opts.onProgress?.('users', n, input.userIds.length));
    lap('load_users', t);

    t = Date.now();
    await repos.modelIndices.makeServable(modelId);
    lap('refresh', t);
    const count = await repos.modelIndices.countItems(modelId);
    if (count !== itemsTotal) throw new Error(`items index holds ${count} docs, expected ${itemsTotal}`);
    itemsWithFactor = await repos.modelIndices.countItems(modelId, true);
    await opts.beforeSwap?.();
  } catch (e) {
    const message = (e as Error).message;
    log.error({ modelId, err: message }, 'deploy failed before the swap; live model untouched');
    await lifecycle.abandonBuild(modelId, message);
    throw e;
  }

  const t = Date.now();
  const live = await lifecycle.goLive(modelId, {
    lsh: lsh as unknown as Record<string, unknown>,
    // online fold-in reads YᵀY of exactly these item factors from the model document
    yty: gramian(input.itemFactors, k),
    deploy: { items: itemsTotal, items_with_factor: itemsWithFactor, users: input.userIds.length, timings },
  });
  lap('swap', t);
  const report: DeployReport = { modelId, items: itemsTotal, itemsWithFactor, users: input.userIds.length, seconds: (Date.now() - started) / 1000, timings, removedVersions: live.removedVersions, previousModelId: live.previousModelId };
  log.info(report, 'model deployed and live');
  return report;
}
