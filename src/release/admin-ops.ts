import { hostname } from 'node:os';
import type { AdminOps } from '../api/app.ts';
import { activateModel } from '../deploy/index.ts';
import { ConflictError } from '../errors/index.ts';
import { getModel, newModelId } from '../repositories/models.ts';
import { acquireLock } from '../repositories/locks.ts';
import { runTraining } from './run.ts';
import type { AppContext } from '../infra/context.ts';

/** The API's admin operations, backed by the real deploy and training pipeline. */
export function createAdminOps(ctx: AppContext): AdminOps {
  return {
    async activate(modelId) {
      await activateModel(ctx, modelId);
    },
    async startTraining() {
      const owner = `${hostname()}:${process.pid}:api`;
      // the same lock as the scheduler: an API-triggered run never overlaps a scheduled one
      const lock = await acquireLock(ctx.es, ctx.names.locks, 'train', owner, 6 * 3_600_000);
      if (!lock) throw new ConflictError('a training run is already in progress', 'training_in_progress');
      const modelId = newModelId();
      void runTraining(ctx, { modelId, trigger: 'api' })
        .catch((e: Error) => ctx.log.error({ modelId, err: e.message }, 'API training run crashed'))
        .finally(() => lock.release());
      // answer once the run is registered, so GET /v1/train/{run_id} finds it right away
      for (let i = 0; i < 100 && !(await getModel(ctx.es, ctx.names, modelId)); i++) await new Promise((r) => setTimeout(r, 50));
      return { run_id: modelId };
    },
  };
}
