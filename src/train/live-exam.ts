// The live model sat for the candidate's exam: its factors scored on this run's holdout, so the
// gate compares two numbers from one exam instead of two runs' different holdouts.
//
// Ids are mapped from the exam's matrices to the live model's. A user the live model has no
// factor for gets what the API would serve them — the live model's popularity — and an item it
// has no factor for cannot be recommended by it (a holdout hit on such an item is a miss for the
// live model: it could not have served it). Both are counted and reported.

import type { ExamFactors } from '../model/artifacts.ts';
import type { RankingMetrics, RatingsMatrix } from '../types/index.ts';
import { evaluateRanking, type Scorer } from './evaluate/index.ts';

export interface LiveCoverage {
  /** holdout users the live model has a factor for */
  users_scored: number;
  /** holdout users it has none for: scored by its popularity */
  users_unknown: number;
  /** exam catalogue items it has no factor for (never recommended by it) */
  items_unknown: number;
}

export interface LiveExamInput {
  factors: number;
  /** the live model's evaluated factors (exam) or, for older artefacts, its served ones */
  model: ExamFactors;
  popularity: Record<string, number>;
}

export function liveExamScorer(
  train: RatingsMatrix,
  test: RatingsMatrix,
  live: LiveExamInput,
): { scorer: Scorer; coverage: LiveCoverage } {
  const k = live.factors;
  const userIndex = new Map(live.model.userIds.map((id, i) => [id, i]));
  const itemIndex = new Map(live.model.itemIds.map((id, i) => [id, i]));
  const itemMap = Int32Array.from(train.itemIds, (id) => itemIndex.get(id) ?? -1);
  const pop = Float64Array.from(train.itemIds, (id, i) =>
    itemMap[i]! < 0 ? -Infinity : (live.popularity[id] ?? 0),
  );
  const coverage: LiveCoverage = {
    users_scored: 0,
    users_unknown: 0,
    items_unknown: itemMap.reduce((n, x) => n + (x < 0 ? 1 : 0), 0),
  };
  for (let u = 0; u < Math.min(test.nUsers, train.nUsers); u++) {
    if (test.indptr[u + 1]! === test.indptr[u]!) continue;
    if (userIndex.has(train.userIds[u]!)) coverage.users_scored++;
    else coverage.users_unknown++;
  }
  const X = live.model.userFactors;
  const Y = live.model.itemFactors;
  const scorer: Scorer = (u, out) => {
    const lu = userIndex.get(train.userIds[u]!);
    if (lu === undefined) {
      out.set(pop);
      return;
    }
    const xo = lu * k;
    for (let i = 0; i < itemMap.length; i++) {
      const li = itemMap[i]!;
      if (li < 0) {
        out[i] = -Infinity;
        continue;
      }
      let s = 0;
      const yo = li * k;
      for (let a = 0; a < k; a++) s += X[xo + a]! * Y[yo + a]!;
      out[i] = s;
    }
  };
  return { scorer, coverage };
}

/** The live model's metrics on the exam (k = 10, like the candidate's). */
export function scoreLiveOnExam(
  exam: { train: RatingsMatrix; test: RatingsMatrix },
  live: LiveExamInput,
): { metrics: RankingMetrics; coverage: LiveCoverage } {
  const { scorer, coverage } = liveExamScorer(exam.train, exam.test, live);
  return { metrics: evaluateRanking(scorer, exam.train, exam.test, { k: 10 }), coverage };
}
