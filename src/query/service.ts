// The recommendation service: live model → query vector → one knn search → popular backfill →
// served-list log. HTTP-agnostic: takes a validated RecRequest, returns the response body.
//
// user → items   the user's factor from users-<model_id>; unknown user or user without a factor
//                → popular items (source "popular", reason unknown_user | no_user_factor)
//                while an A/B experiment runs, a treatment user's list comes from the candidate's
//                own items-/users-<id> (arm by hash, experiment from a cache), tagged experiment_id/arm
// item → items   the item's unit vector from items-<model_id>; unknown item → 404; item without a
//                factor → popular items of its category (reason item_has_no_factor)
// Fewer than k personal items (tight filters, small catalogue) → the rest are popular items that
// pass the same filters and are neither excluded nor already in the list (source "mixed").
// With q every item matches the text: a user with a factor gets the reciprocal rank fusion of the
// knn list (among text matches) and the text list, both from one _msearch (score_type rrf); the
// text list already holds every match when it is shorter than asked, so nothing is backfilled;
// without a factor, the popular text matches.

import { performance } from 'node:perf_hooks';
import { ConflictError, NotFoundError } from '../errors/index.ts';
import {
  fitsRecommendationId,
  mintRecommendationId,
  type RecommendationTag,
} from '../events/recommendation-id.ts';
import type { Logger } from '../infra/logger.ts';
import { detached } from '../infra/deadline.ts';
import { isIndexNotFound } from '../infra/es-errors.ts';
import { withDefaultTerm } from './filters.ts';
import { boundHolds } from '../model/norm-probe.ts';
import { planVectorSearch, type VectorPlan } from './plan.ts';
import { hitToItem, type ItemSourceDoc } from './hits.ts';
import type { LiveModel, LiveModelResolver } from '../model/live-model.ts';
import { assignmentFor, type ExperimentResolver } from '../experiments/resolver.ts';
import type { Arm } from '../experiments/assignment.ts';
import type { Repositories } from '../repositories/index.ts';
import type { PopularItems } from './popular.ts';
import { reciprocalRankFusion } from './fusion.ts';
import { decodeScore, hybridSearchBodies, vectorSearchBody, type Space } from './search-body.ts';
import type { ServedLog, ServedRecord } from './served-log.ts';
import type {
  Filters,
  ListSource,
  Mode,
  QueryOptions,
  RecRequest,
  RecResponse,
  ScoreKind,
  ServedItem,
} from './types.ts';

export interface ServiceDeps {
  repos: Pick<Repositories, 'items' | 'users'>;
  log: Logger;
  live: LiveModelResolver;
  /** the running A/B experiment (cached like the live model); none → everyone gets the live model */
  experiments?: ExperimentResolver;
  popular: PopularItems;
  servedLog?: ServedLog;
  options: QueryOptions;
  /** signs the recommendation ids (RECOMMENDATION_ID_SECRET), so attribution needs no lookup */
  recommendationIdSecret: string;
  /** a norm-bounded answer proved exact (held) or was searched again without the bound (widened) */
  onNormBound?: (outcome: 'held' | 'widened') => void;
}

export interface CallContext {
  requestId: string;
  /** performance.now() when the request arrived (for latency_ms); defaults to the call */
  startedAt?: number;
}

interface SeedItem {
  item_id: string;
  has_factor?: boolean;
  category?: string;
  /** the unit vector, read from the flat field every deploy writes (the graph field is optional) */
  factor_unit_exact?: number[];
}

const NO_FILTERS: Filters = { terms: {}, booleans: {}, ranges: {} };

export class RecommendationService {
  /** the model the last request was served by: whose cached popular list a degraded answer uses */
  private lastModel?: LiveModel;

  constructor(private readonly deps: ServiceDeps) {}

  /**
   * A degraded answer, made without Elasticsearch: the cached popular list of the last live model
   * (for the request's filters, minus its exclusions), source popular, reason degraded. Undefined
   * when there is nothing to answer with (no list cached for these filters, or a text query).
   */
  degraded(
    req: RecRequest,
    call: CallContext,
    target: { userId: string } | { itemId: string },
  ): RecResponse | undefined {
    const model = this.lastModel;
    if (!model || req.q) return undefined;
    const exclude = new Set(req.exclude);
    if ('itemId' in target) exclude.add(target.itemId);
    const popular = this.deps.popular.cached(model.itemsIndex, req.filters, exclude, req.k);
    if (!popular?.length) return undefined;
    const response = this.respond({
      model,
      req,
      call,
      startedAt: call.startedAt ?? performance.now(),
      personal: [],
      popular,
      reason: 'degraded',
      ...('userId' in target ? { userId: target.userId } : { seedItemId: target.itemId }),
      space: 'userId' in target ? 'mips' : 'cosine',
    });
    return { ...response, degraded: true };
  }

  async forUser(userId: string, req: RecRequest, call: CallContext): Promise<RecResponse> {
    const startedAt = call.startedAt ?? performance.now();
    const { repos } = this.deps;
    return this.withModel(async (live) => {
      // the experiment comes from a cache, like the live model: no round trip of its own
      const assignment = assignmentFor(await this.deps.experiments?.find(), live.modelId, userId);
      const model = assignment.modelId === live.modelId ? live : this.deps.live.byId(assignment.modelId);
      const experiment = assignment.experimentId
        ? { experimentId: assignment.experimentId, arm: assignment.arm! }
        : undefined;
      // the one realtime GET of the request: factor + recent items, kept fresh by the fold-in stream
      const user = await repos.users.vector(model.usersIndex, userId);
      const exclude = new Set(req.exclude);
      if (req.excludeSeen) for (const id of user?.recent_items ?? []) exclude.add(id);
      let personal: ServedItem[] = [];
      let search: Mode | undefined;
      let reason: string | undefined;
      if (user?.factor) {
        const lshTerms =
          req.mode === 'lsh' ? await this.lshTerms(model.modelId, 'mips', user.factor) : undefined;
        ({ items: personal, search } = req.q
          ? await this.hybrid(model, req, req.q, user.factor, exclude, lshTerms)
          : await this.knn(model, 'mips', req, user.factor, exclude, lshTerms));
      } else reason = user ? 'no_user_factor' : 'unknown_user';
      const popular = user?.factor && req.q ? [] : await this.backfill(model, req, personal, exclude, req.q);
      return this.respond({
        model,
        req,
        call,
        startedAt,
        personal,
        popular,
        search,
        reason,
        userId,
        space: 'mips',
        experiment,
      });
    });
  }

  async similar(itemId: string, req: RecRequest, call: CallContext): Promise<RecResponse> {
    const startedAt = call.startedAt ?? performance.now();
    return this.withModel(async (model) => {
      const seed = await this.seedItem(model, itemId);
      if (!seed) throw new NotFoundError(`item ${itemId} is not in the live catalogue`, 'item_not_found');
      const exclude = new Set([...req.exclude, itemId]);
      const vector =
        seed.has_factor && Array.isArray(seed.factor_unit_exact) && seed.factor_unit_exact.length
          ? seed.factor_unit_exact
          : undefined;
      if (seed.has_factor && !vector)
        this.deps.log.warn(
          { itemId, model: model.modelId },
          'item has_factor but no factor_unit_exact in _source',
        );
      if (!vector) {
        // no vector: popular items of the same category, flagged
        const sameCategory = { ...req, filters: withDefaultTerm(req.filters, 'category', seed.category) };
        const popular = await this.backfill(model, sameCategory, [], exclude);
        return this.respond({
          model,
          req,
          call,
          startedAt,
          personal: [],
          popular,
          reason: 'item_has_no_factor',
          seedItemId: itemId,
          space: 'cosine',
        });
      }
      const lshTerms = req.mode === 'lsh' ? await this.lshTerms(model.modelId, 'cosine', vector) : undefined;
      const { items: personal, search } = await this.knn(model, 'cosine', req, vector, exclude, lshTerms);
      const popular = await this.backfill(model, req, personal, exclude);
      return this.respond({
        model,
        req,
        call,
        startedAt,
        personal,
        popular,
        search,
        seedItemId: itemId,
        space: 'cosine',
      });
    });
  }

  /**
   * Runs fn against the live model; a model swap that deleted its index mid-request → once more
   * (an experiment's candidate removed after it ended, too: both caches are asked again).
   */
  private async withModel<T>(fn: (model: LiveModel) => Promise<T>): Promise<T> {
    const model = await this.deps.live.current();
    if (model.modelId !== this.lastModel?.modelId) {
      this.lastModel = model;
      // the unfiltered popular list, fetched on its own budget, so a degraded answer has one
      detached(() => this.deps.popular.top(model.itemsIndex, NO_FILTERS, new Set(), 1)).catch(
        () => undefined,
      );
    }
    try {
      return await fn(model);
    } catch (e) {
      if (!isIndexNotFound(e)) throw e;
      this.deps.live.invalidate();
      this.deps.experiments?.invalidate();
      const again = await this.deps.live.current();
      if (again.modelId === model.modelId && !this.deps.experiments) throw e;
      return fn(again);
    }
  }

  /** The personal items, and the search that found them (plan.ts may answer ann exactly). */
  private async knn(
    model: LiveModel,
    space: Space,
    req: RecRequest,
    vector: number[],
    exclude: Set<string>,
    lshTerms?: string[],
  ): Promise<{ items: ServedItem[]; search: Mode }> {
    const v = await this.vectorQuery(model, space, req, vector, exclude);
    const search = (minNorm?: number) =>
      this.deps.repos.items.search<ItemSourceDoc>(
        model.itemsIndex,
        vectorSearchBody(
          {
            space,
            mode: v.mode,
            k: req.k,
            vector: v.vector,
            filters: req.filters,
            exclude,
            lshTerms,
            numCandidates: v.numCandidates,
            normHead: v.normHead,
            minNorm,
          },
          this.deps.options,
        ),
      );
    let hits = await search(v.minNorm);
    if (v.minNorm !== undefined) {
      // a filtered bound came from the probe's copy of the items' attributes, which a metadata
      // update may have changed since: the answer is served only if it proves itself exact
      const held = boundHolds(
        v.minNorm,
        v.vector,
        req.k,
        hits.map((h) => decodeScore(space, h._score ?? 0)),
      );
      this.deps.onNormBound?.(held ? 'held' : 'widened');
      if (!held) hits = await search(undefined);
    }
    return {
      items: hits.map((h) => hitToItem(h, 'personal', decodeScore(space, h._score ?? 0) / v.factor)),
      search: v.mode,
    };
  }

  /** Text + vector: the two lists of one _msearch, fused by rank (score = the RRF score). */
  private async hybrid(
    model: LiveModel,
    req: RecRequest,
    q: string,
    vector: number[],
    exclude: Set<string>,
    lshTerms?: string[],
  ): Promise<{ items: ServedItem[]; search: Mode }> {
    const { options, repos } = this.deps;
    // the knn list only contributes ranks, so the rescaled query needs no score correction; it
    // only holds text matches, so it gets no norm bound (probe items need not match the text)
    const v = await this.vectorQuery(model, 'mips', req, vector);
    const bodies = hybridSearchBodies(
      {
        space: 'mips',
        mode: v.mode,
        k: req.k,
        vector: v.vector,
        filters: req.filters,
        exclude,
        lshTerms,
        q,
        normHead: v.normHead,
      },
      options,
    );
    const lists = await repos.items.msearch<ItemSourceDoc>(model.itemsIndex, [bodies.knn, bodies.text]);
    const hits = new Map(lists.flat().map((h) => [h._id!, h]));
    const ranked = lists.map((l) => l.map((h) => ({ id: h._id!, score: h._score ?? 0 })));
    return {
      items: reciprocalRankFusion(ranked, options.hybrid.rrfK, req.k).map((f) =>
        hitToItem(hits.get(f.id)!, 'personal', f.score),
      ),
      search: v.mode,
    };
  }

  /**
   * How a vector request is searched (query/plan.ts), from what is cached per model: the deploy's
   * ann measurement and the norm probe (no round trip; the probe is asked only when a bound could
   * be used, and is undefined while it loads). With `exclude` (user → item knn, not the hybrid's
   * text-filtered list) an exact search gets the norm bound, and an ann request whose bound leaves
   * at most annExactMaxScored items is answered by that exact search.
   */
  private async vectorQuery(
    model: LiveModel,
    space: Space,
    req: RecRequest,
    vector: number[],
    exclude?: Set<string>,
  ): Promise<VectorPlan> {
    const tuned =
      req.mode === 'ann' ? (await this.deps.live.annCandidates(model.modelId))?.[space] : undefined;
    return planVectorSearch({
      space,
      req,
      vector,
      exclude,
      tuned,
      probe: () => this.deps.live.normProbe(model.modelId),
      annExactMaxScored: this.deps.options.annExactMaxScored,
    });
  }

  private async backfill(
    model: LiveModel,
    req: RecRequest,
    personal: ServedItem[],
    exclude: Set<string>,
    q?: string,
  ): Promise<ServedItem[]> {
    const need = req.k - personal.length;
    if (need <= 0) return [];
    const taken = new Set(exclude);
    for (const p of personal) taken.add(p.item_id);
    // with q (no vector to score with): the text matches by relevance, popularity second; a text
    // query never gets items that do not match it
    return this.deps.popular.top(model.itemsIndex, req.filters, taken, need, q);
  }

  private async seedItem(model: LiveModel, itemId: string): Promise<SeedItem | undefined> {
    const s = await this.deps.repos.items.get<SeedItem>(model.itemsIndex, itemId, [
      'item_id',
      'has_factor',
      'category',
      'factor_unit_exact',
    ]);
    return s ? { ...s, item_id: itemId } : undefined;
  }

  /** Bucket terms of a query vector, hashed with the model's own tables (see ModelHashers). */
  private async lshTerms(modelId: string, space: 'mips' | 'cosine', vector: number[]): Promise<string[]> {
    const h = await this.deps.live.hashers(modelId);
    if (!h)
      throw new ConflictError(
        `model ${modelId} has no LSH tables for ${space === 'mips' ? 'user' : 'item'} queries; use mode exact or ann`,
        'lsh_unavailable',
      );
    try {
      return space === 'mips' ? h.queryMipsTerms(vector) : h.cosineTerms(vector);
    } catch (e) {
      if (e instanceof RangeError)
        throw new ConflictError(`model ${modelId}: ${e.message}`, 'lsh_unavailable');
      throw e;
    }
  }

  private respond(a: {
    model: LiveModel;
    req: RecRequest;
    call: CallContext;
    startedAt: number;
    personal: ServedItem[];
    popular: ServedItem[];
    /** the vector search that ran for the personal items (none: no vector to search with) */
    search?: Mode;
    reason?: string;
    userId?: string;
    seedItemId?: string;
    space: Space;
    experiment?: { experimentId: string; arm: Arm };
  }): RecResponse {
    const { model, req, personal, popular } = a;
    const items = [...personal, ...popular];
    let source: ListSource;
    if (personal.length && popular.length) source = 'mixed';
    else if (personal.length) source = 'personal';
    else source = popular.length || a.reason ? 'popular' : 'personal';
    let scoreType: ScoreKind = a.space === 'mips' ? (req.q ? 'rrf' : 'dot') : 'cosine';
    if (!personal.length && source === 'popular') scoreType = 'popularity';
    const servedAt = Date.now();
    const response: RecResponse = {
      // carries model and serve time, signed and bound to the user: a click is credited however
      // soon it follows, and only to the user it was served to
      recommendation_id: mintRecommendationId(
        {
          ...recommendationTag(model.modelId, servedAt, a.experiment),
          ...(a.userId !== undefined ? { userId: a.userId } : {}),
        },
        this.deps.recommendationIdSecret,
      ),
      request_id: a.call.requestId,
      model_id: model.modelId,
      ...(a.experiment ? { experiment_id: a.experiment.experimentId, arm: a.experiment.arm } : {}),
      ...(a.userId !== undefined ? { user_id: a.userId } : {}),
      ...(a.seedItemId !== undefined ? { item_id: a.seedItemId } : {}),
      mode: req.mode,
      ...(a.search ? { search: a.search } : {}),
      source,
      score_type: scoreType,
      ...(a.reason ? { reason: a.reason } : {}),
      items,
    };
    const record: ServedRecord = {
      recommendation_id: response.recommendation_id,
      request_id: a.call.requestId,
      model_id: model.modelId,
      ...(a.experiment ? { experiment_id: a.experiment.experimentId, arm: a.experiment.arm } : {}),
      endpoint: a.userId !== undefined ? 'user_recommendations' : 'similar_items',
      mode: req.mode,
      source,
      ...(a.userId !== undefined ? { user_id: a.userId } : {}),
      ...(a.seedItemId !== undefined ? { seed_item_id: a.seedItemId } : {}),
      items: items.map((i) => i.item_id),
      k: req.k,
      count: items.length,
      ...(req.q && a.space === 'mips' ? { query: req.q } : {}),
      filters: req.filterParams,
      latency_ms: Math.round((performance.now() - a.startedAt) * 100) / 100,
      // the serve time in the id names this record's index: the ingest finds it there by _id
      timestamp: new Date(servedAt).toISOString(),
    };
    this.deps.servedLog?.record(record);
    return response;
  }
}

/**
 * The tag a list's id carries. A start checks the candidate's id against the id's length budget; a
 * live model with an id too long to carry the experiment too (ids up to 64 characters are allowed)
 * gets an id without it rather than failing the request: its served record still names the arm.
 */
function recommendationTag(
  modelId: string,
  servedAt: number,
  experiment?: { experimentId: string; arm: Arm },
): RecommendationTag {
  const tag = { modelId, servedAt, ...(experiment ?? {}) };
  return fitsRecommendationId(tag) ? tag : { modelId, servedAt };
}
