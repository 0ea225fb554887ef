// A deploy, step by step: plan the graphs, load the new version's indices beside the live pair,
// measure ann on them, then hand the version to the model lifecycle to go live (or be staged).
// Each step receives what the earlier ones produced; a failure before the swap abandons the build.

import { gramian } from '../als/index.ts';
import type { AppContext } from '../app/context.ts';
import { filterFieldMappings } from '../catalog/item-fields.ts';
import { modelLifecycle, type ModelLifecycle, type ServingData } from '../model/lifecycle.ts';
import { SkipLog } from '../types/skipped.ts';
import { measureAnn, type AnnRecord } from './ann-record.ts';
import { planGraphs, planSimilarGraph } from './graph-plan.ts';
import { deployedRows, loadItems, loadUsers, readCatalogue, settleItemsIndex } from './load.ts';
import { chooseModelLsh, ModelHashers, type ModelLsh } from './lsh-setup.ts';
import { DEFAULT_SKIP_LIMIT, DeploySkips } from './skips.ts';
import { StepTimings } from './step-timings.ts';
import type { ItemRows } from './tuning-queries.ts';
import type { DeployInput, DeployOptions, DeployReport } from './types.ts';

/** Step (pure): the factor arrays must be ids × factors, or nothing else is meaningful. */
export function checkFactorShapes(input: DeployInput): void {
  if (
    input.itemFactors.length !== input.itemIds.length * input.factors ||
    input.userFactors.length !== input.userIds.length * input.factors
  ) {
    throw new Error('factor arrays do not match ids × factors');
  }
}

/** LSH tables, when the deploy builds them (fixed by the input, or tuned on its factors). */
export interface LshSetup {
  lsh: ModelLsh | undefined;
  hashers: ModelHashers | undefined;
}

/** Step: LSH tables and bucket hashers (mode=lsh); without them mode=lsh answers 409 lsh_unavailable. */
export function prepareLsh(input: DeployInput, build: boolean, timings: StepTimings): LshSetup {
  if (!input.lsh && !build) return { lsh: undefined, hashers: undefined };
  const lsh = timings.time('lsh_tuning', () =>
    chooseModelLsh({
      factors: input.factors,
      itemFactors: input.itemFactors,
      userFactors: input.userFactors,
      fixed: input.lsh,
    }),
  );
  return { lsh, hashers: new ModelHashers(lsh) };
}

/** A version built and measured, not yet live: what the model document and the report record. */
export interface BuiltVersion {
  lsh: ModelLsh | undefined;
  ann: AnnRecord;
  /** the item rows that became documents with a factor (YᵀY is computed over exactly these) */
  deployed: ItemRows;
  /** item documents sent: the model's items and the catalogue's without a factor */
  itemsTotal: number;
  itemsWithFactor: number;
}

/** Steps up to the swap: every one may fail, and the caller then abandons the build. */
async function buildVersion(
  ctx: AppContext,
  lifecycle: ModelLifecycle,
  input: DeployInput,
  opts: DeployOptions,
  skipLog: SkipLog,
  timings: StepTimings,
): Promise<BuiltVersion> {
  const { modelId } = input;
  const similarSetting = opts.similarAnn ?? ctx.config.deploy.similarAnn;
  const similar = await planSimilarGraph(ctx, lifecycle, modelId, similarSetting);
  const { lsh, hashers } = prepareLsh(input, opts.buildLsh ?? ctx.config.deploy.lsh, timings);
  const catalogue = await readCatalogue(ctx, input, timings);
  const skips = new DeploySkips(
    skipLog,
    catalogue.itemsTotal,
    input.userIds.length,
    opts.skipLimit ?? DEFAULT_SKIP_LIMIT,
  );
  const plan = planGraphs(ctx, input, similar, opts.mipsAnn ?? ctx.config.deploy.mipsAnn, timings);

  await ctx.repos.modelIndices.create(
    modelId,
    input.factors,
    filterFieldMappings(ctx.config.serving.filterFields),
    plan.graphs,
  );
  const loaded = await loadItems(ctx, input, catalogue, hashers, plan, skips, opts.onProgress, timings);
  await loadUsers(ctx, input, skips, opts.onProgress, timings);
  if (skipLog.total)
    ctx.log.warn({ modelId, skipped: skipLog.summary().by_reason }, 'deploy skipped documents');

  const settled = await settleItemsIndex(ctx, modelId, catalogue.itemsTotal, skipLog.count('items'), timings);
  const deployed = deployedRows(input, loaded);
  const ann = await measureAnn(
    ctx,
    input,
    deployed,
    catalogue.meta,
    plan,
    similarSetting,
    settled.segments,
    timings,
  );
  await opts.beforeSwap?.();
  return { lsh, ann, deployed, itemsTotal: catalogue.itemsTotal, itemsWithFactor: settled.itemsWithFactor };
}

/**
 * Runs the build; on any failure deletes the half-built indices, records the error (and the skips
 * so far) on the model document, and rethrows. The live model is untouched.
 */
async function abandonOnFailure<T>(
  ctx: AppContext,
  lifecycle: ModelLifecycle,
  modelId: string,
  skipLog: SkipLog,
  build: () => Promise<T>,
): Promise<T> {
  try {
    return await build();
  } catch (e) {
    const message = (e as Error).message;
    ctx.log.error({ modelId, err: message }, 'deploy failed before the swap; live model untouched');
    await lifecycle.abandonBuild(modelId, message, skipLog.total ? { skipped: skipLog.summary() } : {});
    throw e;
  }
}

/** Document counts of a built version (pure): what was sent, less what was skipped. */
export function deployCounts(
  input: Pick<DeployInput, 'userIds'>,
  built: Pick<BuiltVersion, 'itemsTotal' | 'itemsWithFactor'>,
  skipLog: SkipLog,
): Pick<DeployReport, 'items' | 'itemsWithFactor' | 'users' | 'skippedItems' | 'skippedUsers' | 'skipped'> {
  const skippedItems = skipLog.count('items');
  const skippedUsers = skipLog.count('users');
  return {
    items: built.itemsTotal - skippedItems,
    itemsWithFactor: built.itemsWithFactor,
    users: input.userIds.length - skippedUsers,
    skippedItems,
    skippedUsers,
    skipped: skipLog.summary(),
  };
}

/** What the model document records for serving: LSH, ann, YᵀY for online fold-in, the deploy's counts. */
function servingData(
  input: DeployInput,
  built: BuiltVersion,
  counts: ReturnType<typeof deployCounts>,
  timings: StepTimings,
): ServingData {
  return {
    ...(built.lsh ? { lsh: built.lsh as unknown as Record<string, unknown> } : {}),
    ann: built.ann,
    // online fold-in reads YᵀY of exactly these item factors from the model document
    yty: gramian(built.deployed.factors, input.factors),
    deploy: {
      items: counts.items,
      items_with_factor: counts.itemsWithFactor,
      users: counts.users,
      skipped_items: counts.skippedItems,
      skipped_users: counts.skippedUsers,
      skipped: counts.skipped,
      // the same object as the report's: the swap's own time is added to it after this is written
      timings: timings.seconds,
    },
  };
}

/** Step: the built version goes live in one alias action (or is staged), and the report. */
async function publish(
  ctx: AppContext,
  lifecycle: ModelLifecycle,
  input: DeployInput,
  opts: DeployOptions,
  built: BuiltVersion,
  skipLog: SkipLog,
  timings: StepTimings,
  started: number,
): Promise<DeployReport> {
  const counts = deployCounts(input, built, skipLog);
  // timed from before YᵀY is computed, as the swap always was
  const live: { removedVersions: string[]; previousModelId?: string } = await timings.timeAsync(
    opts.stage ? 'stage' : 'swap',
    () => {
      const serving = servingData(input, built, counts, timings);
      return opts.stage ? lifecycle.stage(input.modelId, serving) : lifecycle.goLive(input.modelId, serving);
    },
  );
  const report: DeployReport = {
    modelId: input.modelId,
    ...counts,
    seconds: (Date.now() - started) / 1000,
    timings: timings.seconds,
    removedVersions: live.removedVersions,
    ...(live.previousModelId ? { previousModelId: live.previousModelId } : {}),
    staged: opts.stage ?? false,
  };
  ctx.log.info(report, opts.stage ? 'model deployed and staged (not live)' : 'model deployed and live');
  return report;
}

/**
 * Builds items-<id> and users-<id> next to the live pair, then hands the version to the model
 * lifecycle to go live in one alias action. Anything that fails before the swap deletes the
 * half-built indices and records the error; the live model keeps serving throughout. A process
 * that dies mid-deploy leaves a lease that lapses: the next deploy (this one's first step), run or
 * tick recovers it, and a retry of the same model starts from clean indices. A few bad
 * documents (an id today's rules refuse, a value the mapping cannot hold) are skipped, counted and
 * recorded instead of failing the deploy; more than the skip limit fails it.
 */
export async function deployModel(
  ctx: AppContext,
  input: DeployInput,
  opts: DeployOptions = {},
): Promise<DeployReport> {
  const lifecycle = opts.lifecycle ?? modelLifecycle(ctx, undefined, opts.keep);
  const started = Date.now();
  const timings = new StepTimings();
  checkFactorShapes(input);
  // deploys that died before this one are cleaned up first (their lease has lapsed)
  await lifecycle.recoverInterruptedDeploys();
  await lifecycle.beginDeploy(input.modelId, { factors: input.factors });
  const lease = lifecycle.holdLease(input.modelId);
  try {
    const skipLog = new SkipLog();
    const built = await abandonOnFailure(ctx, lifecycle, input.modelId, skipLog, () =>
      buildVersion(ctx, lifecycle, input, opts, skipLog, timings),
    );
    return await publish(ctx, lifecycle, input, opts, built, skipLog, timings, started);
  } finally {
    lease.stop();
  }
}
