import type { Client } from '@elastic/elasticsearch';
import { esStatus, isIndexNotFound } from '../infra/es-errors.ts';

export interface UserVector {
  user_id: string;
  /** absent when the model could not place the user */
  factor?: number[];
  recent_items: string[];
}

export interface UserDoc {
  user_id: string;
  model_id: string;
  factor: number[];
  recent_items: string[];
  source: 'train' | 'online';
  updated_at: string;
}

/** The versioned users-<model_id> indices: one document per user, factor + recent items. */
export class UsersRepository {
  constructor(private readonly es: Client) {}

  /** The user's document, or undefined for a user the model does not know (one realtime GET). */
  async vector(index: string, userId: string): Promise<UserVector | undefined> {
    let s: { factor?: number[]; recent_items?: string[] | string } | undefined;
    try {
      s = (
        await this.es.get<{ factor?: number[]; recent_items?: string[] | string }>({
          index,
          id: userId,
          _source_includes: ['factor', 'recent_items'],
        })
      )._source;
    } catch (e) {
      // a missing document is an unknown user; a missing index is a model swap (the caller retries)
      if (esStatus(e) === 404 && !isIndexNotFound(e)) return undefined;
      throw e;
    }
    if (!s) return undefined;
    const recent =
      s.recent_items === undefined ? [] : Array.isArray(s.recent_items) ? s.recent_items : [s.recent_items];
    const factor =
      Array.isArray(s.factor) && s.factor.length && s.factor.some((x) => x !== 0) ? s.factor : undefined;
    return { user_id: userId, ...(factor ? { factor } : {}), recent_items: recent };
  }

  async put(index: string, doc: UserDoc): Promise<void> {
    await this.es.index({ index, id: doc.user_id, document: doc });
  }

  /** The user's recent items only: a factor already there (from training) stays. */
  async putRecent(index: string, userId: string, modelId: string, recentItems: string[]): Promise<void> {
    const doc = {
      user_id: userId,
      model_id: modelId,
      recent_items: recentItems,
      source: 'online',
      updated_at: new Date().toISOString(),
    };
    await this.es.update({ index, id: userId, doc, doc_as_upsert: true, retry_on_conflict: 3 });
  }
}
