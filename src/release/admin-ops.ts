import { hostname } from 'node:os';
import type { AppContext } from '../app/context.ts';
import { deployModel } from '../deploy/index.ts';
import { ConflictError, NotFoundError } from '../errors/index.ts';
import { ArtifactMissingError, artifactStore, loadArtifact } from '../model/artifacts.ts';
import type { ModelLifecycle } from '../model/lifecycle.ts';
import { newModelId } from '../model/lifecycle.ts';
import type { ModelDoc } from '../repositories/models.ts';
import { detached } from '../infra/deadline.ts';
import { runTraining } from './run.ts';
import { TRAIN_LOCK, TRAIN_LOCK_TTL_MS } from './training-lock.ts';

/** What the API's admin routes do, backed by the model lifecycle and the release step. */
export interface AdminOps {
  /** newest first, without internal fields */
  listModels(limit: number): Promise<ModelDoc[]>;
  /** a model / training run document as the API shows it */
  getModel(modelId: string): Promise<ModelDoc | undefined>;
  /** make an already deployed model live (alias swap); rollback and roll-forward */
  activate(modelId: string): Promise<void>;
  /** start a training run in the background */
  startTraining(): Promise<{ run_id: string }>;
  /** deploy a trained model's kept factors without going live (status staged: an experiment's candidate), in the background */
  stageModel(modelId: string): Promise<{ model_id: string; status: 'deploying' }>;
}

export function createAdminOps(ctx: AppContext, lifecycle: ModelLifecycle): AdminOps {
  return {
    listModels: (limit) => lifecycle.list(limit),
    getModel: (id) => lifecycle.getPublic(id),
    async activate(modelId) {
      await lifecycle.activate(modelId);
    },
    async stageModel(modelId) {
      // a model left deploying by a process that died is failed (and cleaned) first, then stageable
      await lifecycle.recoverInterruptedDeploys();
      const model = await lifecycle.get(modelId);
      if (!model) throw new NotFoundError(`model ${modelId} does not exist`, 'model_not_found');
      if (model.status === 'training' || model.status === 'deploying')
        throw new ConflictError(`model ${modelId} is ${model.status}`, 'model_not_stageable');
      if (await ctx.repos.modelIndices.exists(modelId))
        throw new ConflictError(
          `model ${modelId} is deployed already (status ${model.status}); start an experiment with it directly`,
          'model_already_deployed',
        );
      let a;
      try {
        a = await loadArtifact(artifactStore(ctx), modelId);
      } catch (e) {
        if (e instanceof ArtifactMissingError)
          throw new ConflictError(
            `model ${modelId} has no kept factors in the artefact store to deploy`,
            'no_artifact',
          );
        throw e;
      }
      await lifecycle.markDeploying(modelId);
      const input = {
        ...a,
        recentItems: new Map(Object.entries(a.recentItems)),
        popularity: new Map(Object.entries(a.popularity)),
      };
      // the deploy records its own outcome (staged, or failed with the reason) on the model document
      // on the deploy's own budget, not the admin request's that started it
      void detached(() => deployModel(ctx, input, { lifecycle, stage: true })).catch((e: Error) =>
        ctx.log.error({ modelId, err: e.message }, 'staging deploy failed'),
      );
      return { model_id: modelId, status: 'deploying' };
    },
    async startTraining() {
      const owner = `${hostname()}:${process.pid}:api`;
      const lock = await ctx.repos.locks.acquire(TRAIN_LOCK, owner, TRAIN_LOCK_TTL_MS);
      if (!lock) throw new ConflictError('a training run is already in progress', 'training_in_progress');
      const modelId = newModelId();
      const run = detached(() => runTraining(ctx, { modelId, trigger: 'api', lifecycle }));
      void run
        .catch((e: Error) => ctx.log.error({ modelId, err: e.message }, 'API training run crashed'))
        .finally(() => lock.release());
      // answer once the run is registered, so GET /v1/train/{run_id} finds it right away
      for (let i = 0; i < 100 && !(await lifecycle.get(modelId)); i++)
        await new Promise((r) => setTimeout(r, 50));
      return { run_id: modelId };
    },
  };
}
