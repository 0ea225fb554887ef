// Which model serves: the items alias decides (items → items-<model_id>), not the registry.
// Resolved at most every `ttlMs` (default 5 s) and shared by concurrent requests. Queries then go to
// the concrete items-/users-<model_id> indices, so one response never mixes two models; a query
// that hits a just-deleted index invalidates the cache and retries once (see service.ts).

import type { Client } from '@elastic/elasticsearch';
import type { Names } from '../config/names.ts';
import type { Logger } from '../infra/logger.ts';
import { ModelHashers, type ModelLsh } from '../lsh/index.ts';
import { UnavailableError } from '../errors/index.ts';
import { esStatus } from './es-errors.ts';
import { aliasedModelIds } from '../repositories/models.ts';

export interface LiveModel {
  modelId: string;
  itemsIndex: string;
  usersIndex: string;
}

/** The parts of a models document the query side reads. */
export interface ModelInfo {
  model_id: string;
  status?: string;
  created_at?: string;
  live_at?: string;
  params?: Record<string, unknown>;
  lsh?: ModelLsh;
}

export class LiveModelResolver {
  private cached?: { at: number; model: LiveModel | undefined };
  private inflight?: Promise<LiveModel | undefined>;
  private readonly hasherCache = new Map<string, Promise<ModelHashers | undefined>>();

  constructor(
    private readonly es: Client,
    private readonly names: Names,
    private readonly log: Logger,
    private readonly ttlMs = 5_000,
  ) {}

  /** The live model, or undefined when no model has been deployed yet. */
  async find(): Promise<LiveModel | undefined> {
    if (this.cached && Date.now() - this.cached.at < this.ttlMs) return this.cached.model;
    this.inflight ??= this.resolve().then(
      (model) => {
        this.cached = { at: Date.now(), model };
        this.inflight = undefined;
        return model;
      },
      (e: unknown) => {
        this.inflight = undefined;
        throw e;
      },
    );
    return this.inflight;
  }

  /** The live model; 503 no_live_model when none is deployed. */
  async current(): Promise<LiveModel> {
    const m = await this.find();
    if (!m) throw new UnavailableError('no model is live yet (deploy one first)', 'no_live_model');
    return m;
  }

  invalidate(): void {
    this.cached = undefined;
  }

  private async resolve(): Promise<LiveModel | undefined> {
    const ids = await aliasedModelIds(this.es, this.names);
    if (!ids.length) return undefined;
    if (ids.length > 1) this.log.warn({ alias: this.names.itemsAlias, models: ids }, 'items alias points to several indices; using the last by name');
    const modelId = ids.at(-1)!;
    return { modelId, itemsIndex: this.names.itemsIndex(modelId), usersIndex: this.names.usersIndex(modelId) };
  }

  /** The model's registry document (undefined if it has none). */
  async modelInfo(modelId: string, withLsh = false): Promise<ModelInfo | undefined> {
    try {
      const r = await this.es.get<ModelInfo>({
        index: this.names.models,
        id: modelId,
        _source_includes: withLsh ? ['lsh'] : ['model_id', 'status', 'created_at', 'live_at', 'params'],
      });
      return r._source;
    } catch (e) {
      if (esStatus(e) === 404) return undefined;
      throw e;
    }
  }

  /** LSH hashers stored with the model, undefined if it has none (cached: a model's hashers never change). */
  hashers(modelId: string): Promise<ModelHashers | undefined> {
    let p = this.hasherCache.get(modelId);
    if (!p) {
      p = this.loadHashers(modelId);
      this.hasherCache.set(modelId, p);
      p.catch(() => this.hasherCache.delete(modelId));
      // keep a handful of versions (live + rollback candidates)
      while (this.hasherCache.size > 8) this.hasherCache.delete(this.hasherCache.keys().next().value!);
    }
    return p;
  }

  private async loadHashers(modelId: string): Promise<ModelHashers | undefined> {
    const lsh = (await this.modelInfo(modelId, true))?.lsh;
    if (!lsh) return undefined;
    try {
      return new ModelHashers(lsh);
    } catch (e) {
      this.log.error({ modelId, err: (e as Error).message }, 'stored LSH tables are unusable');
      return undefined;
    }
  }
}
