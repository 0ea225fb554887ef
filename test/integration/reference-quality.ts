// A quality reference for pipeline tests, computed apart from the pipeline: the generated events are
// rated in process (no Kafka, no Elasticsearch, no columnar reader), split by the row-based holdout,
// and fitted by a float64 implicit ALS written from Hu, Koren & Volinsky's normal equations with
// ml-matrix. A pipeline that loses events, mis-rates them, mis-splits or passes the wrong parameters
// scores below it; "beats popularity" alone would not notice.
import { Matrix, solve } from 'ml-matrix';
import { weightMatrix } from '../../src/als/weighting.ts';
import { rateUserHistory, type RatingRules } from '../../src/events/rating.ts';
import { Rng } from '../../src/random/rng.ts';
import {
  alsScorer,
  evaluateRanking,
  splitToMatrices,
  temporalSplit,
  type Interaction,
} from '../../src/train/evaluate/index.ts';
import { filterMinInteractions } from '../../src/train/ratings.ts';
import type { AlsParams, RatingsMatrix } from '../../src/types/index.ts';

interface RawEvent {
  user_id: string;
  item_id: string;
  event_type: string;
  weight?: number;
  timestamp: string;
}

export interface ReferenceOptions {
  rules: RatingRules;
  now: number;
  holdout: number;
  params: Pick<AlsParams, 'factors' | 'regularization' | 'alpha' | 'iterations' | 'weighting'>;
  minUser: number;
  minItem: number;
}

export interface Reference {
  /** the reference's exam: the latest `holdout` of each user's items held out */
  train: RatingsMatrix;
  test: RatingsMatrix;
  /** nDCG@10 of the float64 reference on that exam */
  ndcg: number;
}

export function referenceModel(events: readonly RawEvent[], o: ReferenceOptions): Reference {
  const byUser = new Map<string, RawEvent[]>();
  for (const e of events) byUser.set(e.user_id, [...(byUser.get(e.user_id) ?? []), e]);
  const rows: Interaction[] = [];
  for (const [userId, history] of byUser) {
    const { ratings } = rateUserHistory(history, o.rules, o.now, 0);
    for (const [itemId, weight] of ratings) {
      const lastTs = history
        .filter((e) => e.item_id === itemId)
        .reduce((m, e) => Math.max(m, Date.parse(e.timestamp)), 0);
      rows.push({ userId, itemId, weight, lastTs });
    }
  }
  const { train, test } = splitToMatrices(
    temporalSplit(filterMinInteractions(rows, o.minUser, o.minItem), o.holdout),
  );
  const { userFactors, itemFactors } = float64Als(train, o.params);
  const scorer = alsScorer({ factors: o.params.factors, userFactors, itemFactors });
  return { train, test, ndcg: evaluateRanking(scorer, train, test, { k: 10 }).ndcg };
}

/**
 * nDCG@10 of someone else's factors on the reference's exam: rows are matched by id, and a user or
 * item the factors lack scores 0 (a pipeline that dropped them is not excused).
 */
export function ndcgOnExam(
  ref: Reference,
  f: {
    factors: number;
    userIds: string[];
    itemIds: string[];
    userFactors: Float32Array;
    itemFactors: Float32Array;
  },
): number {
  const align = (ids: string[], from: string[], values: Float32Array) => {
    const at = new Map(from.map((id, i) => [id, i]));
    const out = new Float32Array(ids.length * f.factors);
    ids.forEach((id, i) => {
      const j = at.get(id);
      if (j !== undefined) out.set(values.subarray(j * f.factors, (j + 1) * f.factors), i * f.factors);
    });
    return out;
  };
  const scorer = alsScorer({
    factors: f.factors,
    userFactors: align(ref.train.userIds, f.userIds, f.userFactors),
    itemFactors: align(ref.train.itemIds, f.itemIds, f.itemFactors),
  });
  return evaluateRanking(scorer, ref.train, ref.test, { k: 10 }).ndcg;
}

/** x_u = (YᵀY + Yᵀ(C_u − I)Y + λI)⁻¹ YᵀC_u p_u, alternated with the same step for items. */
function float64Als(m: RatingsMatrix, p: ReferenceOptions['params']) {
  const k = p.factors;
  const w = weightMatrix(m, p.weighting ?? 'linear').matrix;
  const rng = new Rng(7);
  const X = Matrix.zeros(m.nUsers, k);
  const Y = Matrix.zeros(m.nItems, k);
  for (let i = 0; i < m.nItems; i++) for (let f = 0; f < k; f++) Y.set(i, f, rng.gaussian() * 0.01);
  const byItem: Array<Array<[number, number]>> = Array.from({ length: m.nItems }, () => []);
  const byUser: Array<Array<[number, number]>> = Array.from({ length: m.nUsers }, (_, u) => {
    const row: Array<[number, number]> = [];
    for (let j = m.indptr[u]!; j < m.indptr[u + 1]!; j++) {
      row.push([m.indices[j]!, w.data[j]!]);
      byItem[m.indices[j]!]!.push([u, w.data[j]!]);
    }
    return row;
  });
  const step = (fixed: Matrix, out: Matrix, rows: Array<Array<[number, number]>>) => {
    const gram = fixed.transpose().mmul(fixed);
    rows.forEach((row, r) => {
      const A = gram.clone().add(Matrix.eye(k).mul(p.regularization));
      const b = Matrix.zeros(k, 1);
      for (const [j, rating] of row) {
        const c = 1 + p.alpha * rating;
        const y = fixed.getRowVector(j);
        A.add(
          y
            .transpose()
            .mmul(y)
            .mul(c - 1),
        );
        b.add(y.transpose().mul(c));
      }
      out.setRow(r, solve(A, b).to1DArray());
    });
  };
  for (let it = 0; it < p.iterations; it++) {
    step(Y, X, byUser);
    step(X, Y, byItem);
  }
  return { userFactors: Float32Array.from(X.to1DArray()), itemFactors: Float32Array.from(Y.to1DArray()) };
}
