// Which HNSW graphs a new version's items index maps, decided before anything is built: the item →
// item graph ([deploy] similar_ann), the user → item graph ([deploy] mips_ann, ./mips-graph.ts) and the
// norm head beside the latter (./norm-head.ts).

import type { AppContext } from '../app/context.ts';
import type { ModelLifecycle } from '../model/lifecycle.ts';
import { graphNoFaster, type AnnTuning } from './ann-tuning.ts';
import { chooseMipsGraph, type MipsBoundSample } from './mips-graph.ts';
import { chooseNormHead, type NormHead } from './norm-head.ts';
import { mipsQueries, type TuningQuery } from './tuning-queries.ts';
import type { StepTimings } from './step-timings.ts';
import type { DeployInput } from './types.ts';

/** The k the graph decisions are measured at: the API's default page of recommendations. */
const PLAN_K = 10;

/** The HNSW graphs mapped and written (documents.ts leaves a field out when its graph is off). */
export interface Graphs {
  similarGraph: boolean;
  mipsGraph: boolean;
}

/** Why [deploy] similar_ann = "auto" left the item → item graph out: the live model's deploy timed it. */
export interface SimilarSkip {
  measured_on: string;
  unfiltered?: AnnTuning['unfiltered'];
  filtered?: AnnTuning['filtered'];
}

export interface SimilarGraphPlan {
  similarGraph: boolean;
  /** set when 'auto' left the graph out */
  skip?: SimilarSkip;
}

/**
 * The verdict [deploy] similar_ann = "auto" reads off the live model's document: the graph is left out
 * when that model's deploy built one and timed it no faster than exact search for every kind of
 * request (ann-tuning.ts graphNoFaster). A model deployed without it has no timing, so the deploy
 * after it builds and times the graph again: the verdict is never more than one model old,
 * whatever the catalogue has become since.
 */
export function similarSkipFrom(
  liveModelId: string,
  liveDoc: { ann?: { cosine?: AnnTuning } } | undefined,
): SimilarSkip | undefined {
  const cosine = liveDoc?.ann?.cosine;
  if (!cosine || !('target' in cosine) || !graphNoFaster(cosine)) return undefined;
  return {
    measured_on: liveModelId,
    unfiltered: cosine.unfiltered,
    ...(cosine.filtered ? { filtered: cosine.filtered } : {}),
  };
}

/** Step: whether to build the item → item graph; 'auto' asks the live model's document. */
export async function planSimilarGraph(
  ctx: AppContext,
  lifecycle: ModelLifecycle,
  modelId: string,
  setting: 'auto' | boolean,
): Promise<SimilarGraphPlan> {
  if (setting !== 'auto') return { similarGraph: setting };
  const live = await lifecycle.liveModelId();
  const skip = live
    ? similarSkipFrom(
        live,
        (await ctx.repos.models.get(live, { includes: ['ann'] })) as
          { ann?: { cosine?: AnnTuning } } | undefined,
      )
    : undefined;
  if (!skip) return { similarGraph: true };
  ctx.log.info(
    { modelId, skipped: skip },
    'no item → item graph: the live model timed its graph no faster than exact search ([deploy] similar_ann = "auto"); the next deploy builds and times it again',
  );
  return { similarGraph: false, skip };
}

export interface MipsGraphPlan {
  mipsGraph: boolean;
  /** the norm-bound measurement (recorded under ann.mips.bound whatever the setting) */
  bound: MipsBoundSample;
  /** the users sampled for it (phase 0.5: not the ones ann tuning measures recall on) */
  sample: TuningQuery[];
}

/** Step (pure): whether to build the user → item graph; 'auto' follows the norm-bound measurement. */
export function planMipsGraph(
  input: DeployInput,
  setting: 'auto' | boolean,
  maxScored: number,
): MipsGraphPlan {
  const sample = mipsQueries(input, { ids: input.itemIds, factors: input.itemFactors }, 0.5);
  const choice = chooseMipsGraph(input.itemIds, input.itemFactors, input.factors, sample, PLAN_K, maxScored);
  return { mipsGraph: setting === 'auto' ? choice.graph : setting, bound: choice.bound, sample };
}

/** Step (pure): the norm head, only beside a user → item graph (without one every search is exact). */
export function planNormHead(input: DeployInput, mips: MipsGraphPlan): NormHead | undefined {
  return mips.mipsGraph
    ? chooseNormHead(
        input.itemFactors,
        input.factors,
        mips.sample.map((q) => q.vector),
        PLAN_K,
      )
    : undefined;
}

/** What the build and the ann measurement need of the plan. */
export interface GraphPlan {
  graphs: Graphs;
  bound: MipsBoundSample;
  head: NormHead | undefined;
  similarSkip: SimilarSkip | undefined;
}

/** Step: the whole plan, each measurement timed and logged. */
export function planGraphs(
  ctx: AppContext,
  input: DeployInput,
  similar: SimilarGraphPlan,
  mipsSetting: 'auto' | boolean,
  timings: StepTimings,
): GraphPlan {
  const { modelId } = input;
  const mips = timings.time('mips_graph', () =>
    planMipsGraph(input, mipsSetting, ctx.config.serving.annExactMaxScored),
  );
  ctx.log.info(
    { modelId, mipsGraph: mips.mipsGraph, setting: mipsSetting, bound: mips.bound },
    mips.mipsGraph
      ? 'user → item graph built'
      : 'no user → item graph: the norm-bounded exact search answers ann',
  );
  const head = timings.time('norm_head', () => planNormHead(input, mips));
  if (head)
    ctx.log.info(
      { modelId, head },
      'norm head: the longest item vectors are searched exactly beside the MIPS graph',
    );
  return {
    graphs: { similarGraph: similar.similarGraph, mipsGraph: mips.mipsGraph },
    bound: mips.bound,
    head,
    similarSkip: similar.skip,
  };
}
