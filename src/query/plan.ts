// How one vector request is searched, decided in one place from what is cached per model (the
// deploy's ann measurement, the norm probe): the API's service and bench/query's straight-to-ES
// body both ask this. Pure: no I/O.
//
// mode ann   exactly instead when the space has no graph or its graph missed the recall target
//            (annAnsweredExactly); by the norm-bounded exact search when the bound keeps at most
//            annExactMaxScored items (fewer vectors scored than the graph visits, recall 1);
//            else the graph: num_candidates as measured, the query rescaled to the measured rms
//            (factor divides the scores back), the norm head beside it
// mode exact user → item (exclude given) in the mips space: the norm bound of the request,
//            filtered or not, when the probe gives one
// The bound is a plan, not a promise: the caller checks the answer with boundHolds.

import type { AnnCandidates } from '../model/live-model.ts';
import { annAnsweredByBound, normBound, type NormBound, type NormProbe } from '../model/norm-probe.ts';
import { filterPredicate } from './filters.ts';
import { annAnsweredExactly, scaleQuery, tunedNumCandidates, type Space } from './search-body.ts';
import type { Mode, RecRequest } from './types.ts';

export interface VectorPlan {
  mode: Mode;
  vector: number[];
  /** the query was multiplied by this: scores are divided by it */
  factor: number;
  numCandidates?: number;
  normHead?: boolean;
  /** exact: only items with factor_norm ≥ minNorm are searched */
  minNorm?: number;
}

export interface PlanInput {
  space: Space;
  req: Pick<RecRequest, 'mode' | 'k' | 'filters'>;
  vector: number[];
  /** user → item requests: the excluded items; absent for the hybrid's text-filtered list, which gets no bound */
  exclude?: ReadonlySet<string>;
  /** ann: what the model's deploy measured for this space */
  tuned?: AnnCandidates;
  /** the model's norm probe, asked only when a bound could be used (its first ask starts the load) */
  probe: () => NormProbe | undefined;
  annExactMaxScored: number;
}

export function planVectorSearch(p: PlanInput): VectorPlan {
  const { req, vector, tuned } = p;
  if (req.mode !== 'ann' || annAnsweredExactly(tuned, req.filters)) {
    const mode = req.mode === 'ann' ? 'exact' : req.mode;
    const bound = mode === 'exact' ? boundOf(p, false) : undefined;
    return { mode, vector, factor: 1, ...(bound ? { minNorm: bound.minNorm } : {}) };
  }
  if (p.annExactMaxScored > 0) {
    const bound = boundOf(p, true);
    if (annAnsweredByBound(bound, p.annExactMaxScored))
      return { mode: 'exact', vector, factor: 1, minNorm: bound!.minNorm };
  }
  const q = scaleQuery(vector, tuned?.queryRms);
  return {
    mode: 'ann',
    vector: q.vector,
    factor: q.factor,
    numCandidates: tunedNumCandidates(tuned, req.k, req.filters),
    ...(tuned?.normHead ? { normHead: true } : {}),
  };
}

/** The norm bound of a user → item mips request: undefined without a probe, or when it filters a field the probe does not carry. */
function boundOf(p: PlanInput, countScored: boolean): NormBound | undefined {
  if (p.exclude === undefined || p.space !== 'mips') return undefined;
  const probe = p.probe();
  if (!probe) return undefined;
  const accept = filterPredicate(p.req.filters, probe.columns);
  if (accept === undefined) return undefined;
  return normBound(probe, p.vector, p.req.k, p.exclude, accept ?? undefined, countScored);
}
