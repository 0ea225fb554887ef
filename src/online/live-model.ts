import type { Client } from '@elastic/elasticsearch';
import type { Names } from '../config/names.ts';
import { getModel, liveModelId } from '../repositories/models.ts';

export interface LiveModel {
  modelId: string;
  factors: number;
  regularization: number;
  alpha: number;
  yty: Float64Array;
}

/**
 * The live model's fold-in parameters, cached and re-checked against the alias every few
 * seconds so a deploy or rollback is picked up without a restart.
 */
export class LiveModelCache {
  private cached?: { model: LiveModel; checkedAt: number };

  constructor(
    private readonly es: Client,
    private readonly names: Names,
    private readonly defaults: { regularization: number; alpha: number },
    private readonly ttlMs = 5_000,
  ) {}

  async get(): Promise<LiveModel | undefined> {
    const now = Date.now();
    if (this.cached && now - this.cached.checkedAt < this.ttlMs) return this.cached.model;
    const id = await liveModelId(this.es, this.names);
    if (!id) return undefined;
    if (this.cached?.model.modelId === id) {
      this.cached.checkedAt = now;
      return this.cached.model;
    }
    const doc = await getModel(this.es, this.names, id);
    if (!doc?.yty) return undefined;
    const b = Buffer.from(doc.yty, 'base64');
    const yty = new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    const p = doc.params ?? {};
    const model: LiveModel = {
      modelId: id,
      factors: Math.round(Math.sqrt(yty.length)),
      regularization: typeof p['regularization'] === 'number' ? p['regularization'] : this.defaults.regularization,
      alpha: typeof p['alpha'] === 'number' ? p['alpha'] : this.defaults.alpha,
      yty,
    };
    this.cached = { model, checkedAt: now };
    return model;
  }
}
