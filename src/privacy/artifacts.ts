// A user's rows in the trained models' artefacts: their factor (served and exam) and recent items,
// keyed by the user id. An item's rows likewise (factor and popularity). Rewritten without them
// through the artefact module's own load/save: the store replaces the whole artefact (new chunks,
// then the manifest, then the old chunks deleted) and this machine's cached copy.

import {
  ArtifactMissingError,
  loadArtifact,
  saveArtifact,
  type ArtifactStore,
  type ModelArtifact,
} from '../model/artifacts.ts';

export interface ArtifactScrub {
  /** artefacts that held the subject and were rewritten */
  rewritten: number;
  /** artefacts read that did not hold it */
  clean: number;
}

/** Removes a user's or an item's rows from every artefact in the store. */
export async function scrubArtifacts(
  store: ArtifactStore,
  kind: 'user' | 'item',
  id: string,
): Promise<ArtifactScrub> {
  const out: ArtifactScrub = { rewritten: 0, clean: 0 };
  for (const modelId of await store.modelIds()) {
    let a: ModelArtifact;
    try {
      a = await loadArtifact(store, modelId);
    } catch (e) {
      if (e instanceof ArtifactMissingError) continue; // deleted meanwhile (keep-N pruning)
      throw e;
    }
    const next = kind === 'user' ? withoutUser(a, id) : withoutItem(a, id);
    if (!next) {
      out.clean++;
      continue;
    }
    await saveArtifact(store, next);
    out.rewritten++;
  }
  return out;
}

/** The artefact without the user's rows; undefined when it had none. */
export function withoutUser(a: ModelArtifact, userId: string): ModelArtifact | undefined {
  const served = dropRow(a.userIds, a.userFactors, a.factors, userId);
  const exam = a.exam && dropRow(a.exam.userIds, a.exam.userFactors, a.factors, userId);
  const recent = userId in a.recentItems;
  if (!served && !exam && !recent) return undefined;
  const { [userId]: _gone, ...recentItems } = a.recentItems;
  return {
    ...a,
    ...(served ? { userIds: served.ids, userFactors: served.rows } : {}),
    recentItems,
    ...(a.exam && exam ? { exam: { ...a.exam, userIds: exam.ids, userFactors: exam.rows } } : {}),
  };
}

/** The artefact without the item's rows (factor, exam factor, popularity); undefined when it had none. */
export function withoutItem(a: ModelArtifact, itemId: string): ModelArtifact | undefined {
  const served = dropRow(a.itemIds, a.itemFactors, a.factors, itemId);
  const exam = a.exam && dropRow(a.exam.itemIds, a.exam.itemFactors, a.factors, itemId);
  const popular = itemId in a.popularity;
  if (!served && !exam && !popular) return undefined;
  const { [itemId]: _gone, ...popularity } = a.popularity;
  return {
    ...a,
    ...(served ? { itemIds: served.ids, itemFactors: served.rows } : {}),
    popularity,
    ...(a.exam && exam ? { exam: { ...a.exam, itemIds: exam.ids, itemFactors: exam.rows } } : {}),
  };
}

/** Ids and row-major rows without the row of `id`; undefined when `id` is not there. */
export function dropRow(
  ids: readonly string[],
  rows: Float32Array,
  width: number,
  id: string,
): { ids: string[]; rows: Float32Array } | undefined {
  const at = ids.indexOf(id);
  if (at < 0) return undefined;
  const out = new Float32Array(rows.length - width);
  out.set(rows.subarray(0, at * width), 0);
  out.set(rows.subarray((at + 1) * width), at * width);
  return { ids: [...ids.slice(0, at), ...ids.slice(at + 1)], rows: out };
}
