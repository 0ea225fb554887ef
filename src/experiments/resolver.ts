// The running experiment as the request path and fold-in see it: resolved like the live model,
// through a cache (TTL, default 5 s, invalidated in-process on every admin change), never by a
// search per request. Other API instances see a start/stop/promote within the TTL.

import { CachedLookup } from '../infra/cached.ts';
import type { ExperimentsRepository } from '../repositories/experiments.ts';
import { assignArm, type Arm } from './assignment.ts';

export interface RunningExperiment {
  experimentId: string;
  candidateModelId: string;
  treatmentShare: number;
  salt: string;
}

/** What serves one user's request: the model, and the experiment arm when one applies. */
export interface Assignment {
  modelId: string;
  experimentId?: string;
  arm?: Arm;
}

/**
 * The arm of a user under the running experiment, and which model serves it: treatment → the
 * candidate, control → whatever is live. No experiment (or a candidate that has become the live
 * model) → the live model, untagged.
 */
export function assignmentFor(
  exp: RunningExperiment | undefined,
  liveModelId: string,
  userId: string,
): Assignment {
  if (!exp || exp.candidateModelId === liveModelId) return { modelId: liveModelId };
  const arm = assignArm(exp.salt, userId, exp.treatmentShare);
  return {
    modelId: arm === 'treatment' ? exp.candidateModelId : liveModelId,
    experimentId: exp.experimentId,
    arm,
  };
}

export class ExperimentResolver {
  private readonly running: CachedLookup<RunningExperiment | undefined>;

  constructor(repo: Pick<ExperimentsRepository, 'slotHolder' | 'get'>, ttlMs = 5_000) {
    // two realtime GETs per TTL and process: the slot, then its experiment
    this.running = new CachedLookup(async () => {
      const id = await repo.slotHolder();
      const doc = id ? await repo.get(id) : undefined;
      if (doc?.status !== 'running') return undefined;
      return {
        experimentId: doc.experiment_id,
        candidateModelId: doc.candidate_model_id,
        treatmentShare: doc.treatment_share,
        salt: doc.salt,
      };
    }, ttlMs);
  }

  find(): Promise<RunningExperiment | undefined> {
    return this.running.find();
  }

  invalidate(): void {
    this.running.invalidate();
  }
}
