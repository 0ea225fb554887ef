import type { AppContext } from '../infra/context.ts';
import { ConflictError, NotFoundError } from '../errors/index.ts';
import { getModel, listModels, liveModelId, updateModel } from '../repositories/models.ts';
import { deployedVersions, swapAliases } from './aliases.ts';

/** Makes a kept version live again (rollback or roll forward) with one alias action. */
export async function activateModel(ctx: AppContext, modelId: string): Promise<{ modelId: string; previousModelId?: string }> {
  const { es, names, log } = ctx;
  const model = await getModel(es, names, modelId);
  if (!model) throw new NotFoundError(`model ${modelId} does not exist`, 'model_not_found');
  const versions = await deployedVersions(es, names);
  if (!versions.includes(modelId)) {
    throw new ConflictError(`model ${modelId} has no deployed indices (status ${model.status}); deploy it first`, 'model_not_deployed');
  }
  const previousModelId = await liveModelId(es, names);
  if (previousModelId === modelId) return { modelId, previousModelId };
  await swapAliases(es, names, modelId);
  const now = new Date().toISOString();
  await updateModel(es, names, modelId, { status: 'live', live_at: now });
  if (previousModelId) await updateModel(es, names, previousModelId, { status: 'retired', retired_at: now });
  log.info({ modelId, previousModelId }, 'model activated');
  return { modelId, previousModelId };
}

/** Rolls back to the given kept version, or to the most recently live one before the current. */
export async function rollback(ctx: AppContext, modelId?: string): Promise<{ modelId: string; previousModelId?: string }> {
  if (modelId) return activateModel(ctx, modelId);
  const { es, names } = ctx;
  const live = await liveModelId(es, names);
  const versions = new Set(await deployedVersions(es, names));
  const candidates = (await listModels(es, names, 200))
    .filter((m) => m.model_id !== live && versions.has(m.model_id) && m.live_at)
    .sort((a, b) => (b.live_at ?? '').localeCompare(a.live_at ?? ''));
  const target = candidates[0];
  if (!target) throw new ConflictError('no earlier deployed version to roll back to', 'nothing_to_rollback');
  return activateModel(ctx, target.model_id);
}
