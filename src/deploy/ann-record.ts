// The ann the model document records per space: num_candidates (and the mips query scale) measured
// on the built, not yet live, items index (./ann-tuning.ts), or that the space has no graph and why.

import type { AppContext } from '../app/context.ts';
import { withRetry } from '../infra/retry.ts';
import { DEFAULT_LOAD_RETRY } from '../repositories/bulk-load.ts';
import type { Metadata } from '../repositories/items.ts';
import { vectorSearchBody, type Space } from '../query/search-body.ts';
import { DEFAULT_QUERY_OPTIONS, type Filters } from '../query/types.ts';
import { graphNoFaster, tuneAnnCandidates, type AnnChoice, type AnnTuning } from './ann-tuning.ts';
import type { GraphPlan, SimilarSkip } from './graph-plan.ts';
import type { MipsBoundSample } from './mips-graph.ts';
import type { NormHead } from './norm-head.ts';
import type { StepTimings } from './step-timings.ts';
import { mipsQueries, tuningQueries, type ItemRows, type TuningQuery } from './tuning-queries.ts';
import type { DeployInput } from './types.ts';

/**
 * What the model document records per space: the measured tuning (mips: with its norm head), or
 * that the space has no graph; mips also records the norm-bound sample that decided its graph.
 */
export type SpaceAnn =
  | (AnnTuning & { head?: NormHead; bound?: MipsBoundSample })
  | { graph: false; bound?: MipsBoundSample; skipped?: SimilarSkip };

export type AnnRecord = Record<Space, SpaceAnn>;

/** Picks ann num_candidates (and the mips query scale) per space with a graph, on the built (not yet live) items index. */
async function tuneAnn(
  ctx: AppContext,
  input: DeployInput,
  deployed: ItemRows,
  meta: Map<string, Metadata>,
  plan: Pick<GraphPlan, 'graphs' | 'head'>,
): Promise<AnnRecord> {
  const { graphs, head } = plan;
  const index = ctx.names.itemsIndex(input.modelId);
  const k = input.factors;
  const categoryOf = (row: number) => {
    const c = meta.get(deployed.ids[row]!)?.['category'];
    return typeof c === 'string' ? c : undefined;
  };
  const tune = (space: Space, queries: TuningQuery[]) =>
    tuneAnnCandidates({
      space,
      dims: k,
      itemIds: deployed.ids,
      itemFactors: deployed.factors,
      queries,
      category: categoryOf,
      compareExact: space === 'cosine',
      search: async (q) => {
        const filters: Filters = {
          terms: q.category !== undefined ? { category: [q.category] } : {},
          booleans: {},
          ranges: {},
        };
        const body = vectorSearchBody(
          {
            space,
            mode: q.mode ?? 'ann',
            k: q.k,
            vector: q.vector,
            filters,
            exclude: q.exclude,
            numCandidates: q.numCandidates,
            normHead: space === 'mips' && head !== undefined,
          },
          DEFAULT_QUERY_OPTIONS,
        );
        // a busy cluster (429) during a deploy is waited out, as the load's chunks are
        const hits = await withRetry(
          () => ctx.repos.items.search<{ item_id?: string }>(index, { ...body, _source: false }),
          { ...DEFAULT_LOAD_RETRY, label: `ann tuning search on ${index}` },
        );
        return hits.map((h) => h._id!);
      },
    });
  const mips: SpaceAnn = graphs.mipsGraph
    ? await tune('mips', mipsQueries(input, deployed))
    : { graph: false };
  return {
    mips: head ? { ...mips, head } : mips,
    cosine: graphs.similarGraph
      ? await tune('cosine', tuningQueries('cosine', deployed.ids, deployed.factors, k))
      : { graph: false },
  };
}

/**
 * What the model document records (pure): the tuning, with the norm-bound sample that decided the
 * mips graph and, when [deploy] similar_ann = "auto" left the item graph out, the timing that did.
 */
export function recordedAnn(tuned: AnnRecord, plan: Pick<GraphPlan, 'bound' | 'similarSkip'>): AnnRecord {
  return {
    mips: { ...tuned.mips, bound: plan.bound },
    cosine: plan.similarSkip ? { graph: false, skipped: plan.similarSkip } : tuned.cosine,
  };
}

/** A measured space that will not serve as hoped: the deploy warns, serving answers exactly. */
export type AnnShortfall =
  | {
      kind: 'missed_target';
      space: string;
      case: 'unfiltered' | 'filtered';
      recall: number;
      num_candidates: number;
      target: number;
    }
  | { kind: 'no_faster'; space: string; unfiltered: AnnChoice; filtered: AnnChoice | undefined };

/**
 * The shortfalls of a recorded ann (pure), per space in order: each case whose recall missed the
 * target at every num_candidates tried, then whether the graph was no faster than exact search.
 */
export function annShortfalls(ann: AnnRecord): AnnShortfall[] {
  const out: AnnShortfall[] = [];
  for (const [space, t] of Object.entries(ann)) {
    if (!('target' in t)) continue;
    for (const [kind, c] of [
      ['unfiltered', t.unfiltered],
      ['filtered', t.filtered],
    ] as const) {
      if (c && c.recall < t.target)
        out.push({
          kind: 'missed_target',
          space,
          case: kind,
          recall: c.recall,
          num_candidates: c.num_candidates,
          target: t.target,
        });
    }
    if (graphNoFaster(t))
      out.push({ kind: 'no_faster', space, unfiltered: t.unfiltered, filtered: t.filtered });
  }
  return out;
}

function warnShortfalls(ctx: AppContext, modelId: string, ann: AnnRecord, similarSetting: 'auto' | boolean) {
  for (const s of annShortfalls(ann)) {
    if (s.kind === 'missed_target') {
      const { kind: _kind, ...fields } = s;
      ctx.log.warn(
        { modelId, ...fields },
        'ann misses the recall target at every num_candidates tried: these requests will be answered exactly',
      );
    } else
      ctx.log.warn(
        { modelId, space: s.space, unfiltered: s.unfiltered, filtered: s.filtered, setting: similarSetting },
        similarSetting === 'auto'
          ? 'the item → item graph is no faster than exact search at the recall target on this catalogue: similar items are answered exactly, and the next deploy will not build it ([deploy] similar_ann = "auto")'
          : 'the item → item graph is no faster than exact search at the recall target on this catalogue: similar items are answered exactly; [deploy] similar_ann = "auto" or false would save building it',
      );
  }
}

/** Step: ann measured on the built items index, logged, its shortfalls warned of. */
export async function measureAnn(
  ctx: AppContext,
  input: DeployInput,
  deployed: ItemRows,
  meta: Map<string, Metadata>,
  plan: GraphPlan,
  similarSetting: 'auto' | boolean,
  segments: { before: number; after: number },
  timings: StepTimings,
): Promise<AnnRecord> {
  const ann = await timings.timeAsync('ann_tuning', async () =>
    recordedAnn(await tuneAnn(ctx, input, deployed, meta, plan), plan),
  );
  ctx.log.info({ modelId: input.modelId, ann, segments }, 'ann num_candidates chosen by measured recall');
  warnShortfalls(ctx, input.modelId, ann, similarSetting);
  return ann;
}
