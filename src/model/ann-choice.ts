// How serving reads one ann choice a deploy recorded (deploy/ann-tuning.ts AnnChoice) for a kind
// of request, unfiltered or filtered. Pure, and tolerant of model documents written by older
// versions, whose fields may be missing.

/** A recorded choice as the model document holds it. */
export interface RecordedChoice {
  recall?: unknown;
  ann_ms?: unknown;
  exact_ms?: unknown;
}

/**
 * Whether requests of this kind are answered exactly instead of by the graph: no num_candidates
 * reached the recall target, or the deploy timed exact search no slower than the graph at its
 * rung (the same cost, recall 1).
 */
export function answeredExactly(c: RecordedChoice | undefined, target: number | undefined): boolean {
  const missed = target !== undefined && typeof c?.recall === 'number' && c.recall < target;
  const notFaster = typeof c?.ann_ms === 'number' && typeof c.exact_ms === 'number' && c.exact_ms <= c.ann_ms;
  return missed || notFaster;
}
