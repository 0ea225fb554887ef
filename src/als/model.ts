// The ALS model as one object, in the spirit of implicit's AlternatingLeastSquares: fit,
// recalculate one user against fixed item factors (fold-in), recommend, similar items and explain
// are its methods; the hot loops stay apart (fit.ts drives the WebAssembly engine, kernels.ts
// solves one user's row).
//
// A served model's item factors live in Elasticsearch, not in memory, so the online consumer
// (src/online/user-refresh.ts) reads the rows of the user's rated items and calls the same user
// step, `recalculateUser(basis, rows)`, with the served model's basis (YᵀY, λ, α, weighting,
// catalogue size). AlsModel.recalculateUser gathers its own rows and calls it too: a batch model,
// the freshness replay and the online consumer fold a user in one way.
//
// The user step (Hu, Koren & Volinsky 2008, eq. 4), with confidence c_j = 1 + α·w(r_j) and the
// model's weighting w (weighting.ts):
//   A = YᵀY + λI + Σ_j (c_j − 1) y_j y_jᵀ,   x = A⁻¹ Σ_j c_j y_j
// and its explanation (the paper's section 5): the score of item i splits into one term per rated
// item, xᵀy_i = Σ_j c_j · (A⁻¹y_i)ᵀy_j.

import type { AlsParams, RatingsMatrix, WeightingScheme } from '../types/index.ts';
import { fitAls, type AlsIterationCallback } from './fit.ts';
import { choleskyInPlace, choleskySolveInPlace, createScratch, gramian, solveSingleRow } from './kernels.ts';
import { scoreAll, topKFromScores, type ScoredIndex } from './recommend.ts';
import { weightRow } from './weighting.ts';

/** The hyperparameters a fitted model keeps: what solving a new user against it needs. */
export interface AlsModelParams {
  factors: number;
  regularization: number;
  alpha: number;
  weighting: WeightingScheme;
}

/** What the user step needs of a model besides the rated items' own factors. */
export interface UserStepBasis extends AlsModelParams {
  /** catalogue size: the idf of a row (tfidf, bm25) counts against it */
  nItems: number;
  /** YᵀY of the item factors (k × k, row-major) */
  yty: Float64Array;
}

/** One item a user rated, as the user step takes it. */
export interface RatedItem {
  factor: ArrayLike<number>;
  /** the user's rating r_ui: events rated and summed (src/events/rating.ts), before the confidence weighting */
  rating: number;
  /** the item's BM25 length norm (bm25 only; 1 when absent) */
  weightNorm?: number;
}

/** A user's ratings by item index; repeated indices are summed. */
export type RatedItems = Iterable<readonly [itemIndex: number, rating: number]>;

export interface Explanation {
  /** xᵀy_i of the recalculated user x, the sum of the contributions */
  score: number;
  /** each rated item's term of the score, largest first */
  contributions: Array<{ index: number; contribution: number }>;
}

/** The confidence-weighted rows of a user: the items with a positive weight, gathered (n × k). */
interface WeightedRows {
  /** position in the caller's list of each gathered row */
  from: number[];
  factors: Float32Array;
  weights: Float32Array;
}

function weightedRows(basis: UserStepBasis, rated: readonly RatedItem[]): WeightedRows | undefined {
  const k = basis.factors;
  if (basis.yty.length !== k * k) throw new RangeError(`ALS user step: YᵀY must be ${k}×${k}`);
  for (const r of rated)
    if (r.factor.length !== k)
      throw new RangeError(`ALS user step: an item factor has ${r.factor.length} components, not ${k}`);
  const weights = weightRow(
    basis.weighting,
    rated.map((r) => r.rating),
    rated.map((r) => r.weightNorm ?? 1),
    basis.nItems,
  );
  const from: number[] = [];
  for (let j = 0; j < rated.length; j++) if (weights[j]! > 0) from.push(j);
  if (!from.length) return undefined;
  const factors = new Float32Array(from.length * k);
  from.forEach((j, row) => {
    const f = rated[j]!.factor;
    for (let a = 0; a < k; a++) factors[row * k + a] = f[a]!;
  });
  return { from, factors, weights: Float32Array.from(from, (j) => weights[j]!) };
}

/**
 * The ALS user step: the factor that training's user sweep would give a user with these ratings,
 * against fixed item factors, solved exactly (Cholesky). Works for users the model never saw.
 * Undefined when no rated item has a positive rating.
 */
export function recalculateUser(basis: UserStepBasis, rated: readonly RatedItem[]): Float32Array | undefined {
  const rows = weightedRows(basis, rated);
  if (!rows) return undefined;
  const k = basis.factors;
  const n = rows.from.length;
  return solveSingleRow(
    Int32Array.from({ length: n }, (_, j) => j),
    rows.weights,
    rows.factors,
    basis.yty,
    k,
    basis.regularization,
    basis.alpha,
    new Float32Array(k),
    createScratch(k, n),
  );
}

/**
 * Why the user step scores `target` as it does: contributions[j] is rated[j]'s term
 * c_j · (A⁻¹y_i)ᵀy_j of xᵀy_i (0 for an item without a positive rating). Their sum is the score.
 * Per request, not in a hot loop: the k × k system is assembled here in float64.
 */
export function explainUser(
  basis: UserStepBasis,
  rated: readonly RatedItem[],
  target: ArrayLike<number>,
): { score: number; contributions: number[] } {
  const k = basis.factors;
  if (target.length !== k)
    throw new RangeError(`explain: the item factor has ${target.length} components, not ${k}`);
  const contributions = new Array<number>(rated.length).fill(0);
  const rows = weightedRows(basis, rated);
  if (!rows) return { score: 0, contributions };
  const { factors: Y, weights } = rows;
  const n = rows.from.length;
  const A = Float64Array.from(basis.yty);
  for (let a = 0; a < k; a++) A[a * k + a]! += basis.regularization;
  for (let j = 0; j < n; j++) {
    const w = basis.alpha * weights[j]!; // c − 1
    const o = j * k;
    for (let a = 0; a < k; a++) {
      const wa = w * Y[o + a]!;
      for (let c = 0; c <= a; c++) A[a * k + c]! += wa * Y[o + c]!;
    }
  }
  if (!choleskyInPlace(A, k))
    throw new Error('ALS: system matrix is not positive definite (regularization 0?)');
  const v = Float64Array.from(target);
  choleskySolveInPlace(A, k, v); // A⁻¹y_i
  let score = 0;
  for (let j = 0; j < n; j++) {
    const o = j * k;
    let dot = 0;
    for (let a = 0; a < k; a++) dot += v[a]! * Y[o + a]!;
    const term = (1 + basis.alpha * weights[j]!) * dot;
    contributions[rows.from[j]!] = term;
    score += term;
  }
  return { score, contributions };
}

export interface AlsModelInit {
  params: AlsModelParams;
  userFactors: Float32Array;
  itemFactors: Float32Array;
  /** the ids of the rows, when the ratings had them */
  userIds?: string[];
  itemIds?: string[];
  /** bm25's per-item length norms (the user step weights a new row with them) */
  itemNorms?: Float32Array;
  loss?: number[];
  secondsPerIteration?: number[];
  /** YᵀY when already known (otherwise computed on first use) */
  yty?: Float64Array;
}

/** A fitted implicit-feedback ALS model: user and item factors and what they were fitted with. */
export class AlsModel {
  readonly params: AlsModelParams;
  /** k, the factor count */
  readonly factors: number;
  readonly nUsers: number;
  readonly nItems: number;
  /** nUsers × k, row-major */
  readonly userFactors: Float32Array;
  /** nItems × k, row-major */
  readonly itemFactors: Float32Array;
  readonly userIds: string[];
  readonly itemIds: string[];
  readonly itemNorms?: Float32Array;
  /** weighted implicit loss after each iteration of the fit */
  readonly loss: number[];
  readonly secondsPerIteration: number[];
  private ytyCache: Float64Array | undefined;
  private itemIndexCache: Map<string, number> | undefined;
  private userIndexCache: Map<string, number> | undefined;
  private itemLengths: Float64Array | undefined;

  constructor(init: AlsModelInit) {
    const k = init.params.factors;
    if (!Number.isInteger(k) || k < 1)
      throw new RangeError(`AlsModel: factors must be an integer ≥ 1, got ${k}`);
    if (init.userFactors.length % k || init.itemFactors.length % k)
      throw new RangeError(`AlsModel: factor matrices must have rows of ${k}`);
    this.params = { ...init.params };
    this.factors = k;
    this.userFactors = init.userFactors;
    this.itemFactors = init.itemFactors;
    this.nUsers = init.userFactors.length / k;
    this.nItems = init.itemFactors.length / k;
    this.userIds = init.userIds ?? [];
    this.itemIds = init.itemIds ?? [];
    if (init.itemNorms) this.itemNorms = init.itemNorms;
    this.loss = init.loss ?? [];
    this.secondsPerIteration = init.secondsPerIteration ?? [];
    this.ytyCache = init.yty;
  }

  /**
   * Fits ALS on a users × items ratings matrix: deterministic for a given seed, independent of
   * `threads` (fit.ts). The model keeps the matrix's ids.
   */
  static async fit(
    ratings: RatingsMatrix,
    params: AlsParams,
    opts: { onIteration?: AlsIterationCallback } = {},
  ): Promise<AlsModel> {
    const fit = await fitAls(ratings, params, opts.onIteration);
    return new AlsModel({
      params: {
        factors: fit.factors,
        regularization: params.regularization,
        alpha: params.alpha,
        weighting: params.weighting ?? 'linear',
      },
      userFactors: fit.userFactors,
      itemFactors: fit.itemFactors,
      userIds: ratings.userIds,
      itemIds: ratings.itemIds,
      ...(fit.itemNorms ? { itemNorms: fit.itemNorms } : {}),
      loss: fit.loss,
      secondsPerIteration: fit.secondsPerIteration,
    });
  }

  /** YᵀY of the item factors (float64), computed once. */
  get yty(): Float64Array {
    return (this.ytyCache ??= gramian(this.itemFactors, this.factors));
  }

  /** What the user step needs of this model (`recalculateUser(basis, rows)`). */
  get basis(): UserStepBasis {
    return { ...this.params, nItems: this.nItems, yty: this.yty };
  }

  userFactor(u: number): Float32Array {
    return this.userFactors.subarray(u * this.factors, (u + 1) * this.factors);
  }

  itemFactor(i: number): Float32Array {
    return this.itemFactors.subarray(i * this.factors, (i + 1) * this.factors);
  }

  itemIndex(itemId: string): number | undefined {
    return (this.itemIndexCache ??= new Map(this.itemIds.map((id, i) => [id, i]))).get(itemId);
  }

  userIndex(userId: string): number | undefined {
    return (this.userIndexCache ??= new Map(this.userIds.map((id, u) => [id, u]))).get(userId);
  }

  /** Ratings by item id as ratings by index, without the items this model does not know. */
  ratedByIds(ratings: Iterable<readonly [itemId: string, rating: number]>): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (const [id, r] of ratings) {
      const i = this.itemIndex(id);
      if (i !== undefined) out.push([i, r]);
    }
    return out;
  }

  /**
   * The factor the user step gives a user with these ratings against this model's item factors
   * (a fold-in, implicit's recalculate_user); undefined when none is positive.
   */
  recalculateUser(rated: RatedItems): Float32Array | undefined {
    return recalculateUser(this.basis, this.ratedItems(rated));
  }

  /**
   * The `k` items with the highest xᵀy_i, best first, for user index `user` or a user vector,
   * skipping `exclude` (e.g. the items the user already has).
   */
  recommend(
    user: number | ArrayLike<number>,
    k: number,
    exclude?: ReadonlySet<number> | ((itemIndex: number) => boolean),
  ): ScoredIndex[] {
    const x = typeof user === 'number' ? this.userFactor(this.checkIndex(user, this.nUsers, 'user')) : user;
    if (x.length !== this.factors)
      throw new RangeError(`recommend: the user vector has ${x.length} components, not ${this.factors}`);
    return topKFromScores(scoreAll(x, this.itemFactors), k, exclude);
  }

  /** The `k` items most like item `itemIndex` by the cosine of their factors, best first, the item itself left out. */
  similarItems(itemIndex: number, k: number): ScoredIndex[] {
    const i = this.checkIndex(itemIndex, this.nItems, 'item');
    const lengths = (this.itemLengths ??= Float64Array.from({ length: this.nItems }, (_, j) => {
      const f = this.itemFactor(j);
      let s = 0;
      for (let a = 0; a < f.length; a++) s += f[a]! * f[a]!;
      return Math.sqrt(s);
    }));
    if (!(lengths[i]! > 0)) return [];
    const scores = scoreAll(this.itemFactor(i), this.itemFactors);
    // a zero vector has no direction: NaN leaves it out of the top k
    for (let j = 0; j < this.nItems; j++) scores[j] = scores[j]! / (lengths[i]! * lengths[j]!);
    return topKFromScores(scores, k, (j) => j === i);
  }

  /**
   * Why the user with these ratings would get item `itemIndex`: each rated item's term of the
   * recalculated user's score, largest first (`n` of them, default all); they sum to the score.
   */
  explain(rated: RatedItems, itemIndex: number, n = Infinity): Explanation {
    const items = this.ratedItems(rated);
    const target = this.itemFactor(this.checkIndex(itemIndex, this.nItems, 'item'));
    const { score, contributions } = explainUser(this.basis, items, target);
    const byItem = items
      .map((it, j) => ({ index: it.index, contribution: contributions[j]! }))
      .sort((a, b) => b.contribution - a.contribution || a.index - b.index);
    return { score, contributions: byItem.slice(0, n) };
  }

  /** Rated items by index as the user step's rows: repeated indices summed, in first-seen order. */
  private ratedItems(rated: RatedItems): Array<RatedItem & { index: number }> {
    const merged = new Map<number, number>();
    for (const [i, r] of rated) merged.set(this.checkIndex(i, this.nItems, 'item'), (merged.get(i) ?? 0) + r);
    const rows: Array<RatedItem & { index: number }> = [];
    for (const [i, rating] of merged)
      rows.push({
        index: i,
        factor: this.itemFactor(i),
        rating,
        ...(this.itemNorms ? { weightNorm: this.itemNorms[i]! } : {}),
      });
    return rows;
  }

  private checkIndex(i: number, n: number, what: string): number {
    if (!Number.isInteger(i) || i < 0 || i >= n)
      throw new RangeError(`AlsModel: ${what} index ${i} out of range`);
    return i;
  }
}
