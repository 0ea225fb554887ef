// Experiments' life: start, stop, promote, read. At most one experiment runs at a time (a slot
// document created with op_type=create): with two, a user would be in two treatment groups or in
// the control of one and the treatment of the other, and a served list could carry only one of
// the two arms, so neither comparison would be clean. Control is whatever is live while the
// experiment runs; promote is the lifecycle's usual atomic activate.

import { fitsRecommendationId, TAG_BUDGET_CHARS } from '../events/recommendation-id.ts';
import { randomBytes } from 'node:crypto';
import { ConflictError, NotFoundError, ValidationError } from '../errors/index.ts';
import type { Logger } from '../infra/logger.ts';
import type { Activation, ModelLifecycle } from '../model/lifecycle.ts';
import type { Repositories } from '../repositories/index.ts';
import type { ExperimentDoc } from '../repositories/experiments.ts';
import { isModelId } from '../types/ids.ts';
import { experimentResults, type ExperimentResults } from './report.ts';
import type { ExperimentResolver } from './resolver.ts';

export interface ExperimentServiceDeps {
  repos: Pick<Repositories, 'experiments' | 'servedLists'>;
  lifecycle: ModelLifecycle;
  resolver: ExperimentResolver;
  log: Logger;
  /** the smallest share either arm may get ([experiments] min_share) */
  minShare?: number;
}

export interface StartInput {
  candidate_model_id: unknown;
  treatment_share: unknown;
}

export const DEFAULT_MIN_SHARE = 0.01;

export function newExperimentId(now = new Date()): string {
  return `e${now.toISOString().replace(/[-:T]/g, '').slice(0, 14)}-${randomBytes(2).toString('hex')}`;
}

/**
 * minShare ≤ share ≤ 1 − minShare: an arm of (next to) nothing or of (next to) everyone is no
 * experiment (a share of 1e-300 once started one with no treatment traffic at all).
 */
export function checkShare(v: unknown, minShare = DEFAULT_MIN_SHARE): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < minShare || v > 1 - minShare)
    throw new ValidationError(
      `treatment_share must be a number from ${minShare} to ${1 - minShare} ([experiments] min_share)`,
      'treatment_share',
      'invalid_parameter',
    );
  return v;
}

export class ExperimentService {
  constructor(private readonly deps: ExperimentServiceDeps) {}

  private get repo() {
    return this.deps.repos.experiments;
  }

  async start(input: StartInput): Promise<ExperimentDoc> {
    const candidate = input.candidate_model_id;
    if (!isModelId(candidate))
      throw new ValidationError(
        'candidate_model_id must be a model id (lower-case letters, digits, ., _, -)',
        'candidate_model_id',
        'invalid_parameter',
      );
    const share = checkShare(input.treatment_share, this.deps.minShare);
    const experimentId = newExperimentId();
    // every list it serves carries model, experiment and arm in its signed id, which has a length budget
    if (!fitsRecommendationId({ modelId: candidate, experimentId, arm: 'treatment' })) {
      throw new ValidationError(
        `candidate_model_id is too long to be carried in a recommendation id with an experiment (at most ${TAG_BUDGET_CHARS - experimentId.length - 'treatment'.length} characters)`,
        'candidate_model_id',
        'invalid_parameter',
      );
    }
    if (!(await this.claimSlot(experimentId))) {
      const holder = await this.repo.slotHolder();
      throw new ConflictError(
        `experiment ${holder ?? '(starting)'} is running; stop or promote it first`,
        'experiment_running',
      );
    }
    try {
      await this.deps.lifecycle.holdForExperiment(candidate);
      const control = await this.deps.lifecycle.liveModelId();
      const doc: ExperimentDoc = {
        experiment_id: experimentId,
        candidate_model_id: candidate,
        ...(control ? { control_model_id: control } : {}),
        treatment_share: share,
        salt: randomBytes(8).toString('hex'),
        status: 'running',
        created_at: new Date().toISOString(),
      };
      await this.repo.create(doc);
      this.deps.resolver.invalidate();
      this.deps.log.info({ experimentId, candidate, share }, 'experiment started');
      return doc;
    } catch (e) {
      await this.repo.releaseSlot(experimentId);
      throw e;
    }
  }

  async stop(experimentId: string): Promise<ExperimentDoc> {
    const doc = await this.running(experimentId);
    const patch = { status: 'stopped' as const, stopped_at: new Date().toISOString() };
    await this.repo.update(experimentId, patch);
    await this.repo.releaseSlot(experimentId);
    this.deps.resolver.invalidate();
    await this.deps.lifecycle.releaseStaged(doc.candidate_model_id);
    this.deps.log.info({ experimentId }, 'experiment stopped');
    return { ...doc, ...patch };
  }

  /** The candidate goes live in one alias action; the experiment ends as promoted. */
  async promote(experimentId: string): Promise<ExperimentDoc & { activation: Activation }> {
    const doc = await this.running(experimentId);
    const activation = await this.deps.lifecycle.activate(doc.candidate_model_id);
    const now = new Date().toISOString();
    const patch = { status: 'promoted' as const, promoted_at: now, stopped_at: now };
    await this.repo.update(experimentId, patch);
    await this.repo.releaseSlot(experimentId);
    this.deps.resolver.invalidate();
    this.deps.log.info({ experimentId, ...activation }, 'experiment promoted');
    return { ...doc, ...patch, activation };
  }

  list(limit = 50): Promise<ExperimentDoc[]> {
    return this.repo.list(limit);
  }

  async get(experimentId: string): Promise<ExperimentDoc & { results: ExperimentResults }> {
    const doc = await this.found(experimentId);
    return {
      ...doc,
      results: experimentResults(await this.deps.repos.servedLists.experimentCounts(experimentId)),
    };
  }

  /** The slot, or a slot left behind by an experiment that has ended (a crash between its update and the release). */
  private async claimSlot(experimentId: string): Promise<boolean> {
    if (await this.repo.claimSlot(experimentId)) return true;
    const holder = await this.repo.slotHolder();
    const held = holder ? await this.repo.get(holder) : undefined;
    if (!holder || held?.status === 'running' || !held) return false;
    await this.repo.releaseSlot(holder);
    return this.repo.claimSlot(experimentId);
  }

  private async found(experimentId: string): Promise<ExperimentDoc> {
    const doc = await this.repo.get(experimentId);
    if (!doc) throw new NotFoundError(`experiment ${experimentId} does not exist`, 'experiment_not_found');
    return doc;
  }

  private async running(experimentId: string): Promise<ExperimentDoc> {
    const doc = await this.found(experimentId);
    if (doc.status !== 'running')
      throw new ConflictError(`experiment ${experimentId} is ${doc.status}`, 'experiment_not_running');
    return doc;
  }
}
