// Loading a new version's indices: the item and user documents, streamed into items-<id> and
// users-<id>, then the items index made servable and checked against what was sent.

import type { AppContext } from '../app/context.ts';
import type { LoadDoc } from '../repositories/bulk-load.ts';
import type { Metadata } from '../repositories/items.ts';
import { idProblem } from '../types/ids.ts';
import { itemDocument, userDocument } from './documents.ts';
import type { GraphPlan } from './graph-plan.ts';
import type { ModelHashers } from './lsh-setup.ts';
import { inNormHead } from './norm-head.ts';
import type { DeploySkips } from './skips.ts';
import type { StepTimings } from './step-timings.ts';
import type { ItemRows } from './tuning-queries.ts';
import type { DeployInput, DeployOptions } from './types.ts';

/** The catalogue as the deploy read it, and the item documents it makes for the model's items and its own. */
export interface Catalogue {
  meta: Map<string, Metadata>;
  itemsTotal: number;
}

/** Item documents of a deploy (pure): every item with a factor, plus catalogue items without one. */
export function catalogueSize(itemIds: readonly string[], meta: Map<string, Metadata>): number {
  const withFactor = new Set(itemIds);
  return itemIds.length + [...meta.keys()].filter((id) => !withFactor.has(id)).length;
}

/** Step: the catalogue's metadata, written onto the item documents. */
export async function readCatalogue(
  ctx: AppContext,
  input: DeployInput,
  timings: StepTimings,
): Promise<Catalogue> {
  const meta = await timings.timeAsync('read_metadata', () => ctx.repos.items.allMetadata());
  return { meta, itemsTotal: catalogueSize(input.itemIds, meta) };
}

/** The rows of the input's factors that did not become documents (YᵀY and ann tuning leave them out). */
export interface ItemsLoad {
  /** factor rows whose id today's rules refuse */
  skippedRows: number[];
  /** ids of the documents the cluster refused */
  refusedIds: Set<string>;
}

function* itemDocs(
  input: DeployInput,
  meta: Map<string, Metadata>,
  hashers: ModelHashers | undefined,
  skips: DeploySkips,
  skippedFactorRows: number[],
  plan: Pick<GraphPlan, 'graphs' | 'head'>,
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
        ...plan.graphs,
        normHead: inNormHead(factor, plan.head),
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

/** Step: the item documents into items-<id> (created by the caller with the plan's graphs). */
export async function loadItems(
  ctx: AppContext,
  input: DeployInput,
  catalogue: Catalogue,
  hashers: ModelHashers | undefined,
  plan: Pick<GraphPlan, 'graphs' | 'head'>,
  skips: DeploySkips,
  onProgress: DeployOptions['onProgress'],
  timings: StepTimings,
): Promise<ItemsLoad> {
  const loaded: ItemsLoad = { skippedRows: [], refusedIds: new Set() };
  const refusedItem = skips.refused('items');
  await timings.timeAsync('load_items', () =>
    ctx.repos.modelIndices.load(
      input.modelId,
      'items',
      itemDocs(input, catalogue.meta, hashers, skips, loaded.skippedRows, plan),
      {
        onProgress: (n) => onProgress?.('items', n, catalogue.itemsTotal),
        onRefused: (doc, r) => {
          loaded.refusedIds.add(doc.id);
          refusedItem(doc, r);
        },
      },
    ),
  );
  return loaded;
}

/** Step: the user documents into users-<id>. */
export async function loadUsers(
  ctx: AppContext,
  input: DeployInput,
  skips: DeploySkips,
  onProgress: DeployOptions['onProgress'],
  timings: StepTimings,
): Promise<void> {
  await timings.timeAsync('load_users', () =>
    ctx.repos.modelIndices.load(input.modelId, 'users', userDocs(input, skips), {
      onProgress: (n) => onProgress?.('users', n, input.userIds.length),
      onRefused: skips.refused('users'),
    }),
  );
}

export interface SettledItems {
  itemsWithFactor: number;
  /** the primaries' segment counts before and after compactSmallSegments */
  segments: { before: number; after: number };
}

/**
 * Step: items-<id> refreshed and checked to hold every document sent (the catalogue less the
 * skipped), its merges settled and its small segments compacted, ready to be measured.
 */
export async function settleItemsIndex(
  ctx: AppContext,
  modelId: string,
  itemsTotal: number,
  skippedItems: number,
  timings: StepTimings,
): Promise<SettledItems> {
  const indices = ctx.repos.modelIndices;
  await timings.timeAsync('refresh', () => indices.makeServable(modelId));
  const count = await indices.countItems(modelId);
  const expected = itemsTotal - skippedItems;
  if (count !== expected)
    throw new Error(
      `items index holds ${count} docs, expected ${expected} (${itemsTotal} less ${skippedItems} skipped)`,
    );
  const itemsWithFactor = await indices.countItems(modelId, true);
  await timings.timeAsync('merges', () => indices.mergesSettled(modelId));
  const segments = await timings.timeAsync('compact', () => indices.compactSmallSegments(modelId));
  return { itemsWithFactor, segments };
}

/** The item ids and factors without the rows that were not deployed (YᵀY and ann tuning must match the served items). */
export function deployedRows(input: DeployInput, loaded: ItemsLoad): ItemRows {
  const k = input.factors;
  const drop = new Set(loaded.skippedRows);
  input.itemIds.forEach((id, i) => loaded.refusedIds.has(id) && drop.add(i));
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
