import type { Client } from '@elastic/elasticsearch';
import { esStatus, isIndexNotFound } from './es-errors.ts';

export interface UserVector {
  user_id: string;
  /** absent when the model could not place the user */
  factor?: number[];
  recent_items: string[];
}

/** The user's document in users-<model_id>, or undefined for a user the model does not know. */
export async function getUserVector(es: Client, usersIndex: string, userId: string): Promise<UserVector | undefined> {
  let s: { factor?: number[]; recent_items?: string[] | string } | undefined;
  try {
    const r = await es.get<{ factor?: number[]; recent_items?: string[] | string }>({ index: usersIndex, id: userId, _source_includes: ['factor', 'recent_items'] });
    s = r._source;
  } catch (e) {
    // a missing document is an unknown user; a missing index is a model swap (the caller retries)
    if (esStatus(e) === 404 && !isIndexNotFound(e)) return undefined;
    throw e;
  }
  if (!s) return undefined;
  const recent = s.recent_items === undefined ? [] : Array.isArray(s.recent_items) ? s.recent_items : [s.recent_items];
  const factor = Array.isArray(s.factor) && s.factor.length && s.factor.some((x) => x !== 0) ? s.factor : undefined;
  return { user_id: userId, ...(factor ? { factor } : {}), recent_items: recent };
}
