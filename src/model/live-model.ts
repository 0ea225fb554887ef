// Which model serves, and everything a caller needs from it, resolved in one place for the query
// side and for online fold-in alike.
//
// The items alias decides (items → items-<model_id>), not the registry. Callers get the concrete
// items-/users-<model_id> indices and read model-bound data (YᵀY, λ, α, LSH hashers) keyed by that
// same model id, so factors and gramian always come from one model: a swap can make a caller's
// view stale (it then writes to a retired version and re-checks), never mixed.
//
// `find()` caches the alias for `ttlMs` (default 5 s; the API's per-request budget has no room for
// an alias lookup); `fresh()` always asks (fold-in, once per batch). Per-model data never changes
// after deploy, so it is cached by model id for the life of the process (a few versions).

import { CachedLookup } from '../infra/cached.ts';
import { detached } from '../infra/deadline.ts';
import type { Logger } from '../infra/logger.ts';
import { ModelHashers, type ModelLsh } from '../lsh/index.ts';
import { UnavailableError } from '../errors/index.ts';
import type { Names } from '../config/names.ts';
import type { ItemsRepository } from '../repositories/items.ts';
import type { ModelIndicesRepository } from '../repositories/model-indices.ts';
import type { ModelsRepository } from '../repositories/models.ts';
import type { FilterFieldLists } from '../catalog/item-fields.ts';
import { answeredExactly, type RecordedChoice } from './ann-choice.ts';
import { buildNormProbe, PROBE_SIZE, probeColumnKinds, type NormProbe } from './norm-probe.ts';
import type { WeightingScheme } from '../types/index.ts';
import type { UserStepBasis } from '../als/model.ts';

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
}

/** What fold-in needs from a served model besides its item factors (which stay in its items index). */
export interface FoldInModel extends UserStepBasis {
  modelId: string;
}

/** ann num_candidates a model's deploy measured for k results (deploy/ann-tuning.ts); empty for older models. */
export interface AnnCandidates {
  k: number;
  unfiltered?: number;
  filtered?: number;
  /** ann queries rescaled to this root-mean-square component (mips; see scaleQuery) */
  queryRms?: number;
  /** the model was deployed without this space's HNSW graph: ann is answered exactly */
  exactOnly?: boolean;
  /**
   * No num_candidates of the ladder reached the recall target at deploy (e.g. MIPS on factors
   * whose norms spread widely), or the deploy timed the exact search no slower than the graph at
   * its rung (cosine, deploy/ann-tuning.ts compareExact): ann requests of that kind are answered
   * exactly, which costs about what the graph search did and has recall 1.
   */
  exactUnfiltered?: boolean;
  exactFiltered?: boolean;
  /** mips: the longest item vectors are left out of the graph and searched exactly beside it (deploy/norm-head.ts) */
  normHead?: boolean;
}
export type ModelAnnCandidates = Partial<Record<'mips' | 'cosine', AnnCandidates>>;

const KEEP_PER_MODEL = 8;
/** How long after a failed norm probe load the next request may try again. */
const PROBE_RETRY_MS = 60_000;
/**
 * How old a probe carrying filter columns may get before a request starts its reload (in the
 * background; the old one serves meanwhile). Its vectors never change, its copy of the items'
 * attributes does: a stale copy only costs the filtered requests it misleads a second search.
 */
const PROBE_REFRESH_MS = 300_000;

interface ProbeState {
  ready?: NormProbe;
  loadedAt: number;
  loading?: Promise<NormProbe | undefined>;
  retryAt: number;
}

export class LiveModelResolver {
  private readonly alias: CachedLookup<LiveModel | undefined>;
  private readonly hasherCache = new Map<string, Promise<ModelHashers | undefined>>();
  private readonly foldInCache = new Map<string, Promise<FoldInModel | undefined>>();
  private readonly annCache = new Map<string, Promise<ModelAnnCandidates | undefined>>();
  private readonly probes = new Map<string, ProbeState>();

  constructor(
    private readonly repos: {
      models: ModelsRepository;
      modelIndices: ModelIndicesRepository;
      items: Pick<ItemsRepository, 'longestFactors' | 'fieldMappings' | 'normDistribution'>;
    },
    private readonly names: Names,
    private readonly log: Logger,
    ttlMs = 5_000,
    /** the filter whitelist: the norm probe carries the doc values of these fields */
    private readonly probeFields: FilterFieldLists = { keyword: [], boolean: [], range: [] },
  ) {
    this.alias = new CachedLookup(() => this.resolve(), ttlMs);
  }

  /** The live model (cached up to ttlMs), or undefined when none has been deployed yet. */
  find(): Promise<LiveModel | undefined> {
    return this.alias.find();
  }

  /** The live model as the alias says right now (concurrent callers share one lookup). */
  fresh(): Promise<LiveModel | undefined> {
    return this.alias.fresh();
  }

  /** The concrete indices of any deployed version (an experiment's candidate), for the same callers. */
  byId(modelId: string): LiveModel {
    return {
      modelId,
      itemsIndex: this.names.itemsIndex(modelId),
      usersIndex: this.names.usersIndex(modelId),
    };
  }

  /** The live model; UnavailableError no_live_model when none is deployed. */
  async current(): Promise<LiveModel> {
    const m = await this.find();
    if (!m) throw new UnavailableError('no model is live yet (deploy one first)', 'no_live_model');
    return m;
  }

  /** Forget the cached alias (after a swap in this process, or a query that hit a deleted index). */
  invalidate(): void {
    this.alias.invalidate();
  }

  private async resolve(): Promise<LiveModel | undefined> {
    const ids = await this.repos.modelIndices.aliasedModelIds();
    if (!ids.length) return undefined;
    if (ids.length > 1)
      this.log.warn(
        { alias: this.names.itemsAlias, models: ids },
        'items alias points to several indices; using the last by name',
      );
    return this.byId(ids.at(-1)!);
  }

  /** The model's registry document (undefined if it has none). */
  async modelInfo(modelId: string): Promise<ModelInfo | undefined> {
    return this.repos.models.get(modelId, {
      includes: ['model_id', 'status', 'created_at', 'live_at', 'params'],
    });
  }

  /** LSH hashers stored with the model, undefined if it has none. */
  hashers(modelId: string): Promise<ModelHashers | undefined> {
    return this.perModel(this.hasherCache, modelId, async () => {
      const lsh = (await this.repos.models.get(modelId, { includes: ['lsh'] }))?.lsh as ModelLsh | undefined;
      if (!lsh) return undefined;
      try {
        return new ModelHashers(lsh);
      } catch (e) {
        this.log.error({ modelId, err: (e as Error).message }, 'stored LSH tables are unusable');
        return undefined;
      }
    });
  }

  /**
   * The model's ann num_candidates per space ({} for a model deployed before they were measured:
   * cached too, so such a model costs no lookup per request either).
   */
  annCandidates(modelId: string): Promise<ModelAnnCandidates | undefined> {
    return this.perModel(this.annCache, modelId, async () => {
      const doc = await this.repos.models.get(modelId, { includes: ['ann', 'model_id'] });
      if (!doc) return undefined;
      const ann =
        (
          doc as {
            ann?: Record<
              string,
              {
                k?: unknown;
                target?: unknown;
                unfiltered?: RecordedChoice & { num_candidates?: unknown };
                filtered?: RecordedChoice & { num_candidates?: unknown };
                query_rms?: unknown;
                graph?: unknown;
                head?: { items?: unknown };
              }
            >;
          }
        ).ann ?? {};
      const out: ModelAnnCandidates = {};
      const num = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) && x > 0 ? x : undefined);
      for (const space of ['mips', 'cosine'] as const) {
        const a = ann[space];
        if (!a) continue;
        if (a.graph === false) {
          out[space] = { k: 10, exactOnly: true };
          continue;
        }
        const queryRms = num(a.query_rms);
        const target = num(a.target);
        out[space] = {
          k: num(a.k) ?? 10,
          unfiltered: num(a.unfiltered?.num_candidates),
          filtered: num(a.filtered?.num_candidates),
          ...(queryRms ? { queryRms } : {}),
          ...(answeredExactly(a.unfiltered, target) ? { exactUnfiltered: true } : {}),
          ...(answeredExactly(a.filtered, target) ? { exactFiltered: true } : {}),
          ...(space === 'mips' && num(a.head?.items) ? { normHead: true } : {}),
        };
      }
      return out;
    });
  }

  /**
   * The model's norm probe (model/norm-probe.ts) if it is loaded, else undefined after starting
   * its load in the background: the first exact requests after a swap are searched unnarrowed,
   * which is the same answer, rather than waiting for ten thousand vectors. A probe with filter
   * columns older than PROBE_REFRESH_MS is reloaded the same way while it goes on serving.
   */
  normProbe(modelId: string): NormProbe | undefined {
    const s = this.probeState(modelId);
    const now = Date.now();
    const stale = s.ready !== undefined && s.ready.columns.size > 0 && now - s.loadedAt > PROBE_REFRESH_MS;
    // a load that failed (ES busy, a max_result_window below PROBE_SIZE) is tried again only after
    // PROBE_RETRY_MS: requests must not each send a search for ten thousand vectors meanwhile
    if ((!s.ready || stale) && !s.loading && now >= s.retryAt) {
      // shared by every later request, so loaded on its own budget, not the one that starts it
      detached(() => this.startProbeLoad(modelId, s)).catch((e: unknown) => {
        s.retryAt = Date.now() + PROBE_RETRY_MS;
        this.log.warn(
          { modelId, err: (e as Error).message, retryInMs: PROBE_RETRY_MS },
          s.ready
            ? 'norm probe not reloaded; the loaded one goes on serving'
            : 'norm probe not loaded; exact search stays unnarrowed',
        );
      });
    }
    return s.ready;
  }

  /**
   * The model's probe, loaded now unless a load is under way (that one is awaited) or one has
   * loaded already: empty for a model deployed without factor_norm.
   */
  async loadNormProbe(modelId: string): Promise<NormProbe | undefined> {
    const s = this.probeState(modelId);
    if (s.loading) return s.loading;
    return s.ready ?? this.startProbeLoad(modelId, s);
  }

  private probeState(modelId: string): ProbeState {
    let s = this.probes.get(modelId);
    if (!s) {
      s = { loadedAt: 0, retryAt: 0 };
      this.probes.set(modelId, s);
      while (this.probes.size > KEEP_PER_MODEL) this.probes.delete(this.probes.keys().next().value!);
    }
    return s;
  }

  private startProbeLoad(modelId: string, s: ProbeState): Promise<NormProbe | undefined> {
    const load = (async () => {
      const index = this.names.itemsIndex(modelId);
      const whitelisted = [
        ...new Set([...this.probeFields.keyword, ...this.probeFields.boolean, ...this.probeFields.range]),
      ];
      const kinds = probeColumnKinds(
        this.probeFields,
        await this.repos.items.fieldMappings(index, whitelisted),
      );
      const items = await this.repos.items.longestFactors(index, PROBE_SIZE, [...kinds.keys()]);
      // how many items lie beyond the probe, by norm: filtered ann estimates its exact search's size from it
      const distribution =
        items.length < PROBE_SIZE ? undefined : await this.repos.items.normDistribution(index);
      const probe = buildNormProbe(
        items[0]?.vector.length ?? 0,
        items,
        kinds,
        distribution?.percentiles.length ? distribution : undefined,
      );
      s.ready = probe;
      s.loadedAt = Date.now();
      return probe;
    })();
    s.loading = load;
    const done = () => {
      if (s.loading === load) s.loading = undefined;
    };
    load.then(done, done);
    return load;
  }

  /** YᵀY and the ALS parameters the model was trained with; undefined before its deploy wrote them. */
  foldInModel(
    modelId: string,
    defaults: { regularization: number; alpha: number },
  ): Promise<FoldInModel | undefined> {
    return this.perModel(this.foldInCache, modelId, async () => {
      const doc = await this.repos.models.get(modelId, {
        includes: ['yty', 'params', 'counts.served_items'],
      });
      if (!doc?.yty) return undefined;
      const b = Buffer.from(doc.yty, 'base64');
      const yty = new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
      const p = doc.params ?? {};
      return {
        modelId,
        factors: Math.round(Math.sqrt(yty.length)),
        regularization:
          typeof p['regularization'] === 'number' ? p['regularization'] : defaults.regularization,
        alpha: typeof p['alpha'] === 'number' ? p['alpha'] : defaults.alpha,
        // a model trained before weighting schemes existed was linear
        weighting: typeof p['weighting'] === 'string' ? (p['weighting'] as WeightingScheme) : 'linear',
        nItems: doc.counts?.['served_items'] ?? 0,
        yty,
      };
    });
  }

  /** Caches a model-bound value by id; failures and "not there yet" are not cached. */
  private perModel<T>(
    cache: Map<string, Promise<T | undefined>>,
    modelId: string,
    load: () => Promise<T | undefined>,
  ): Promise<T | undefined> {
    let p = cache.get(modelId);
    if (!p) {
      p = load();
      cache.set(modelId, p);
      p.then(
        (v) => v === undefined && cache.get(modelId) === p && cache.delete(modelId),
        () => cache.get(modelId) === p && cache.delete(modelId),
      );
      while (cache.size > KEEP_PER_MODEL) cache.delete(cache.keys().next().value!);
    }
    return p;
  }
}
