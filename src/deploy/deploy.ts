import type { Client } from '@elastic/elasticsearch';
import type { AppContext } from '../infra/context.ts';
import type { Names } from '../config/names.ts';
import { getModel, putModel, updateModel, liveModelId } from '../repositories/models.ts';
import { loadVersionedIndex } from '../setup/mappings.ts';
import { aliasedIndices, deployedVersions, swapAliases } from './aliases.ts';
import { bulkLoad, type LoadDoc } from './bulk-load.ts';
import { itemDocument, userDocument, type Metadata } from './documents.ts';
import { chooseModelLsh, ModelHashers, type ModelLsh } from './lsh-setup.ts';
import { gramian } from '../als/index.ts';

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
  /** for tests: fail after loading, before the swap */
  failBeforeSwap?: boolean;
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

// no replicas and no refreshes while loading; serving settings are restored before the swap
const LOAD_SETTINGS = { refresh_interval: '-1', auto_expand_replicas: 'false', number_of_replicas: 0 } as const;
const SERVE_SETTINGS = { refresh_interval: '1s', auto_expand_replicas: '0-1' } as const;

async function readAllMetadata(es: Client, index: string): Promise<Map<string, Metadata>> {
  const out = new Map<string, Metadata>();
  if (!(await es.indices.exists({ index }))) return out;
  const pit = await es.openPointInTime({ index, keep_alive: '2m' });
  try {
    let after: unknown[] | undefined;
    for (;;) {
      const r = await es.search<Metadata>({ pit: { id: pit.id, keep_alive: '2m' }, size: 10_000, sort: [{ _shard_doc: 'asc' }], ...(after ? { search_after: after as never } : {}) });
      for (const h of r.hits.hits) out.set(h._id!, h._source!);
      if (r.hits.hits.length < 10_000) break;
      after = r.hits.hits.at(-1)!.sort as unknown[];
    }
  } finally {
    await es.closePointInTime({ id: pit.id }).catch(() => undefined);
  }
  return out;
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

async function createVersioned(es: Client, index: string, file: string, dims: number): Promise<void> {
  const body = loadVersionedIndex(file, dims) as { settings: Record<string, unknown>; mappings: Record<string, unknown> };
  const { auto_expand_replicas: _a, ...settings } = body.settings;
  await es.indices.create({ index, mappings: body.mappings, settings: { ...settings, ...LOAD_SETTINGS } });
}

/**
 * Builds items-<id> and users-<id> next to the live pair, then makes them live with one alias
 * action. Anything that fails before the swap deletes the half-built indices and records the
 * error on the model; the live model keeps serving throughout.
 */
export async function deployModel(ctx: AppContext, input: DeployInput, opts: DeployOptions = {}): Promise<DeployReport> {
  const { es, names, log } = ctx;
  const started = Date.now();
  const timings: Record<string, number> = {};
  const lap = (name: string, since: number) => (timings[name] = (Date.now() - since) / 1000);
  const { modelId, factors: k } = input;
  if (input.itemFactors.length !== input.itemIds.length * k || input.userFactors.length !== input.userIds.length * k) {
    throw new Error('factor arrays do not match ids × factors');
  }
  const itemsIndex = names.itemsIndex(modelId);
  const usersIndex = names.usersIndex(modelId);
  if (!(await getModel(es, names, modelId))) {
    await putModel(es, names, { model_id: modelId, status: 'candidate', created_at: new Date().toISOString(), params: { factors: k } });
  }
  const previousModelId = await liveModelId(es, names);
  let itemsTotal = 0;
  let itemsWithFactor = 0;
  let lsh: ModelLsh;
  try {
    let t = Date.now();
    lsh = chooseModelLsh({ factors: k, itemFactors: input.itemFactors, userFactors: input.userFactors, fixed: input.lsh });
    lap('lsh_tuning', t);
    const hashers = new ModelHashers(lsh);

    t = Date.now();
    const meta = await readAllMetadata(es, names.itemMetadata);
    lap('read_metadata', t);
    const withFactor = new Set(input.itemIds);
    itemsTotal = input.itemIds.length + [...meta.keys()].filter((id) => !withFactor.has(id)).length;

    await createVersioned(es, itemsIndex, 'versioned/items.json', k);
    await createVersioned(es, usersIndex, 'versioned/users.json', k);

    t = Date.now();
    await bulkLoad(es, itemsIndex, itemDocs(input, meta, hashers), { onProgress: (n) => opts.onProgress?.('items', n, itemsTotal) });
    lap('load_items', t);
    t = Date.now();
    await bulkLoad(es, usersIndex, userDocs(input), { onProgress: (n) => opts.onProgress?.('users', n, input.userIds.length) });
    lap('load_users', t);

    t = Date.now();
    await es.indices.putSettings({ index: `${itemsIndex},${usersIndex}`, settings: SERVE_SETTINGS });
    await es.indices.refresh({ index: `${itemsIndex},${usersIndex}` });
    await es.cluster.health({ index: `${itemsIndex},${usersIndex}`, wait_for_status: 'yellow', timeout: '60s' });
    lap('refresh', t);
    const count = (await es.count({ index: itemsIndex })).count;
    if (count !== itemsTotal) throw new Error(`items index holds ${count} docs, expected ${itemsTotal}`);
    itemsWithFactor = (await es.count({ index: itemsIndex, query: { term: { has_factor: true } } })).count;
    if (opts.failBeforeSwap) throw new Error('deploy aborted before the swap (failBeforeSwap)');
  } catch (e) {
    const message = (e as Error).message;
    log.error({ modelId, err: message }, 'deploy failed before the swap; live model untouched');
    await es.indices.delete({ index: `${itemsIndex},${usersIndex}`, ignore_unavailable: true }).catch(() => undefined);
    await updateModel(es, names, modelId, { status: 'failed', error: `deploy: ${message}`, deploy: { status: 'failed', at: new Date().toISOString() } });
    throw e;
  }

  // what queries and fold-in need from the model is on its doc before any query can reach it
  const yty = gramian(input.itemFactors, k);
  await updateModel(es, names, modelId, { lsh: lsh as unknown as Record<string, unknown>, yty: Buffer.from(yty.buffer, yty.byteOffset, yty.byteLength).toString('base64') });
  const t = Date.now();
  await swapAliases(es, names, modelId);
  lap('swap', t);
  const now = new Date().toISOString();
  await updateModel(es, names, modelId, { status: 'live', live_at: now, deploy: { status: 'done', at: now, items: itemsTotal, items_with_factor: itemsWithFactor, users: input.userIds.length, timings } });
  if (previousModelId && previousModelId !== modelId) await updateModel(es, names, previousModelId, { status: 'retired', retired_at: now });
  const removedVersions = await removeOldVersions(es, names, opts.keep ?? ctx.config.train.keepVersions);
  const report: DeployReport = { modelId, items: itemsTotal, itemsWithFactor, users: input.userIds.length, seconds: (Date.now() - started) / 1000, timings, removedVersions, previousModelId };
  log.info(report, 'model deployed and live');
  return report;
}

/** Deletes deployed versions beyond the newest `keep`, never the live one. */
export async function removeOldVersions(es: Client, names: Names, keep: number): Promise<string[]> {
  const live = await aliasedIndices(es, names);
  const versions = await deployedVersions(es, names);
  const doomed = versions.slice(keep).filter((id) => !live.items.includes(names.itemsIndex(id)));
  for (const id of doomed) {
    await es.indices.delete({ index: `${names.itemsIndex(id)},${names.usersIndex(id)}`, ignore_unavailable: true });
    await updateModel(es, names, id, { deploy: { status: 'removed', at: new Date().toISOString() } }).catch(() => undefined);
  }
  return doomed;
}
