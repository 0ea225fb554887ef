// A model's life, owned in one place:
//
//   training ──▶ candidate                        (gate held it back, or --no-deploy)
//       │    └──▶ deploying ──▶ live ──▶ retired ──▶ live (rollback / roll forward) …
//       │              └──▶ staged ──▶ live (an experiment's promote)
//       │                      └──▶ candidate / retired (experiment stopped: keep-N may remove it)
//       └───────────┴──────────▶ failed
//
// `staged` is a version whose indices are built and kept for an online experiment without going
// live: keep-N leaves it alone (and does not count it among the N kept for rollback).
//
// Every status change, the atomic alias swap that makes a version live, and the keep-N clean-up of
// old versions happen here and nowhere else. Training and deploy report what they did; this module
// decides what that means for the model's record and for serving.
//
// A deploy can die anywhere (kill -9, OOM, a lost host). It holds a lease on its model document,
// renewed while it runs; the next deploy, training run or scheduler tick recovers every `deploying`
// model whose lease has lapsed: failed, its half-built indices removed (or live, when the alias
// already points at it: the swap happened, the record of it did not). The live model serves
// throughout, since nothing before the swap touches the aliases.

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '../infra/logger.ts';
import type { Names } from '../config/names.ts';
import { ConflictError, NotFoundError } from '../errors/index.ts';
import type { Repositories } from '../repositories/index.ts';
import { INTERNAL_MODEL_FIELDS, type ModelDoc } from '../repositories/models.ts';
import { LiveModelResolver } from './live-model.ts';
import { ArtifactStore } from './artifact-store.ts';

export interface LifecycleDeps {
  repos: Pick<Repositories, 'models' | 'modelIndices' | 'items'>;
  names: Names;
  log: Logger;
  /** deployed versions kept for rollback (the live one included) */
  keep: number;
  /** in-process resolver to invalidate on a swap (others see the swap within their TTL) */
  resolver?: LiveModelResolver;
  /** how long a deploy's lease lasts without renewal ([deploy] lease_seconds) */
  deployLeaseMs?: number;
  /** where trained factors are kept: keep-N deletes a removed version's artefact with its indices */
  artifacts?: ArtifactStore;
}

/** The process that holds a deploy lease: a deploy's own steps in this process never find it foreign. */
export const DEPLOY_OWNER = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
const DEFAULT_LEASE_MS = 300_000;

/** What a recovery found: deploys marked failed (indices removed), and deploys whose swap had happened. */
export interface Recovery {
  failed: string[];
  live: string[];
  /** failed models whose indices were still there */
  debris: string[];
}

/** Whether a deploying model's lease has lapsed (pure): no lease at all counts from its last record. */
export function leaseLapsed(
  model: Pick<ModelDoc, 'deploy_lease' | 'finished_at' | 'created_at'>,
  leaseMs: number,
  now: number,
): boolean {
  const until = model.deploy_lease
    ? Date.parse(model.deploy_lease.until)
    : Date.parse(model.finished_at ?? model.created_at) + leaseMs;
  return !(until > now);
}

export interface Activation {
  modelId: string;
  previousModelId?: string;
}

/** What goLive writes on the model document before the swap: everything a query or fold-in reads. */
export interface ServingData {
  /** absent when the deploy built no LSH */
  lsh?: Record<string, unknown>;
  /** ann num_candidates per space, chosen at deploy by measured recall (deploy/ann-tuning.ts) */
  ann?: Record<string, unknown>;
  /** k×k gramian of the deployed item factors, row-major */
  yty: Float64Array;
  deploy: Record<string, unknown>;
}

export function newModelId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `m${stamp}-${Math.random().toString(36).slice(2, 6)}`;
}

export class ModelLifecycle {
  readonly resolver: LiveModelResolver;

  constructor(private readonly deps: LifecycleDeps) {
    this.resolver = deps.resolver ?? new LiveModelResolver(deps.repos, deps.names, deps.log);
  }

  private get leaseMs(): number {
    return this.deps.deployLeaseMs ?? DEFAULT_LEASE_MS;
  }

  private lease(now = Date.now()): { owner: string; until: string } {
    return { owner: DEPLOY_OWNER, until: new Date(now + this.leaseMs).toISOString() };
  }

  private get models() {
    return this.deps.repos.models;
  }

  private get indices() {
    return this.deps.repos.modelIndices;
  }

  // ── reads ──────────────────────────────────────────────────────────────────────────────────

  get(modelId: string): Promise<ModelDoc | undefined> {
    return this.models.get(modelId);
  }

  /** The document as the API shows it (without LSH tables and YᵀY). */
  getPublic(modelId: string): Promise<ModelDoc | undefined> {
    return this.models.get(modelId, { excludes: INTERNAL_MODEL_FIELDS });
  }

  list(size = 50): Promise<ModelDoc[]> {
    return this.models.list(size);
  }

  /** The serving model id as the alias says right now. */
  async liveModelId(): Promise<string | undefined> {
    return (await this.resolver.fresh())?.modelId;
  }

  /** The live model's document, for the gate's comparison. */
  async liveModel(): Promise<ModelDoc | undefined> {
    const id = await this.liveModelId();
    return id ? this.models.get(id) : undefined;
  }

  // ── transitions ────────────────────────────────────────────────────────────────────────────

  /** A run starts: status training. */
  async register(doc: Omit<ModelDoc, 'status' | 'created_at'> & { created_at?: string }): Promise<void> {
    await this.models.put({ created_at: new Date().toISOString(), ...doc, status: 'training' });
  }

  /** Ensures a document exists for a model deployed from factors alone (CLI deploy, benchmarks). */
  async ensureRegistered(modelId: string, params: Record<string, unknown>): Promise<void> {
    if (!(await this.models.get(modelId)))
      await this.models.put({
        model_id: modelId,
        status: 'candidate',
        created_at: new Date().toISOString(),
        params,
      });
  }

  /**
   * Trained and evaluated, with everything the run measured: `deploying` when it goes on to deploy
   * (a poller sees a final status only once there is one), else `candidate`.
   */
  async recordCandidate(modelId: string, record: Partial<ModelDoc>, deploying = false): Promise<void> {
    await this.models.update(modelId, {
      ...record,
      status: deploying ? 'deploying' : 'candidate',
      finished_at: new Date().toISOString(),
      ...(deploying ? { deploy_lease: this.lease() } : {}),
    });
  }

  /** A kept version's factors are being deployed again (a poller sees `deploying` until the outcome). */
  async markDeploying(modelId: string): Promise<void> {
    await this.models.update(modelId, { status: 'deploying', deploy_lease: this.lease() });
  }

  /**
   * A deploy of this model starts in this process. Refused for the live model (its indices serve)
   * and while another process holds an unexpired lease on it. Indices left by an earlier,
   * interrupted deploy of it are removed, so the retry creates them afresh.
   */
  async beginDeploy(modelId: string, params: Record<string, unknown>): Promise<void> {
    const model = await this.models.get(modelId, {
      includes: ['status', 'deploy_lease', 'finished_at', 'created_at'],
    });
    if ((await this.indices.aliasedModelIds()).includes(modelId))
      throw new ConflictError(`model ${modelId} is live; there is nothing to deploy`, 'model_is_live');
    const lease = model?.deploy_lease;
    if (
      model?.status === 'deploying' &&
      lease &&
      lease.owner !== DEPLOY_OWNER &&
      !leaseLapsed(model, this.leaseMs, Date.now())
    )
      throw new ConflictError(
        `model ${modelId} is being deployed by ${lease.owner} (lease until ${lease.until})`,
        'deploy_in_progress',
      );
    await this.indices.remove(modelId);
    const now = new Date();
    if (!model)
      await this.models.put({
        model_id: modelId,
        status: 'deploying',
        created_at: now.toISOString(),
        params,
        deploy_lease: this.lease(now.getTime()),
      });
    else await this.models.update(modelId, { status: 'deploying', deploy_lease: this.lease(now.getTime()) });
  }

  /**
   * Extends a running deploy's lease; false (nothing written) when the deploy is no longer this
   * process's, or its record changed since the read (a step's own write, or the outcome: the next
   * renewal tries again, and a finished deploy's lease is never brought back).
   */
  async renewLease(modelId: string): Promise<boolean> {
    return this.models.updateIf(
      modelId,
      ['status', 'deploy_lease'],
      (m) => m.status === 'deploying' && m.deploy_lease?.owner === DEPLOY_OWNER,
      { deploy_lease: this.lease() },
    );
  }

  /**
   * Renews the lease every third of its length until stopped. A renewal that fails is logged: the
   * next one may succeed before the lease runs out.
   */
  holdLease(modelId: string): { stop(): void } {
    const timer = setInterval(
      () => {
        this.renewLease(modelId).catch((e: Error) =>
          this.deps.log.warn({ modelId, err: e.message }, 'could not renew the deploy lease'),
        );
      },
      Math.max(500, Math.floor(this.leaseMs / 3)),
    );
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }

  /**
   * Recovers deploys whose process died: every `deploying` model with a lapsed lease is marked
   * failed and its indices removed, unless the alias already points at it (then it is live, and
   * whatever the record still called live is retired). Failed models' leftover indices go too.
   * Cheap when there is nothing to do: one search per status.
   */
  async recoverInterruptedDeploys(now = Date.now()): Promise<Recovery> {
    const out: Recovery = { failed: [], live: [], debris: [] };
    const deploying = await this.models.idsWithStatus('deploying');
    const failed = await this.models.idsWithStatus('failed');
    if (!deploying.length && !failed.length) return out;
    const aliased = await this.indices.aliasedModelIds();
    const at = new Date(now).toISOString();
    for (const id of deploying) {
      const m = await this.models.get(id, { includes: ['deploy_lease', 'finished_at', 'created_at'] });
      if (!m || !leaseLapsed(m, this.leaseMs, now)) continue;
      if (aliased.includes(id)) {
        await this.models.update(id, {
          status: 'live',
          live_at: at,
          deploy_lease: null,
          deploy: { status: 'done', at, recovered: true },
        });
        out.live.push(id);
        continue;
      }
      await this.indices.remove(id);
      await this.recordFailure(
        id,
        `deploy interrupted: its lease lapsed at ${m.deploy_lease?.until ?? 'an unknown time'} (the deploying process died); its indices were removed`,
        { deploy: { status: 'failed', at, interrupted: true } },
      );
      out.failed.push(id);
    }
    if (out.live.length)
      for (const id of await this.models.idsWithStatus('live'))
        if (!aliased.includes(id)) await this.models.update(id, { status: 'retired', retired_at: at });
    if (failed.length) {
      const present = new Set(await this.indices.versionIds());
      for (const id of failed)
        if (
          present.has(id) &&
          !aliased.includes(id) &&
          // a retry may have begun since the search (it marks the model deploying before it creates)
          (await this.models.get(id, { includes: ['status'] }))?.status === 'failed'
        ) {
          await this.indices.remove(id);
          out.debris.push(id);
        }
    }
    if (out.failed.length || out.live.length || out.debris.length)
      this.deps.log.warn({ ...out }, 'recovered interrupted deploys');
    return out;
  }

  /** Extra facts on the record without a status change (e.g. timings after deploy). */
  async annotate(modelId: string, patch: Partial<ModelDoc>): Promise<void> {
    const { status: _ignored, ...rest } = patch;
    await this.models.update(modelId, rest);
  }

  /** A run or deploy failed; an earlier, more precise failure on the record is kept. Never throws. */
  async recordFailure(modelId: string, error: string, extra: Partial<ModelDoc> = {}): Promise<void> {
    try {
      const current = await this.models.get(modelId, { includes: ['status'] });
      if (current?.status === 'failed') return;
      await this.models.update(modelId, {
        ...extra,
        status: 'failed',
        error,
        finished_at: new Date().toISOString(),
        deploy_lease: null,
      });
    } catch (e) {
      this.deps.log.error(
        { modelId, err: (e as Error).message },
        'could not record the failure on the model document',
      );
    }
  }

  /**
   * Makes a freshly built version live: the data queries and fold-in read from the model document
   * are written first, then both aliases swap in one action, then statuses and keep-N.
   */
  async goLive(modelId: string, serving: ServingData): Promise<Activation & { removedVersions: string[] }> {
    await this.writeServingData(modelId, serving);
    const previousModelId = await this.liveModelId();
    await this.swap(modelId, previousModelId);
    await this.models.update(modelId, {
      deploy: { status: 'done', at: new Date().toISOString(), ...serving.deploy },
    });
    const removedVersions = await this.removeOldVersions();
    return { modelId, previousModelId, removedVersions };
  }

  /**
   * Keeps a freshly built version without making it live (for an online experiment): the same
   * serving data as goLive, status `staged`, no alias change. Keep-N then runs as after a deploy.
   */
  async stage(
    modelId: string,
    serving: ServingData,
  ): Promise<{ modelId: string; removedVersions: string[] }> {
    await this.writeServingData(modelId, serving);
    await this.models.update(modelId, {
      status: 'staged',
      deploy_lease: null,
      status_reason: 'deployed without going live (experiment candidate)',
      deploy: { status: 'done', staged: true, at: new Date().toISOString(), ...serving.deploy },
    });
    this.deps.log.info({ modelId }, 'model staged');
    return { modelId, removedVersions: await this.removeOldVersions() };
  }

  /**
   * Holds a deployed, not live version for an experiment: it must have both indices and the data
   * fold-in needs (YᵀY); it becomes `staged` and so exempt from keep-N. ConflictError otherwise.
   */
  async holdForExperiment(modelId: string): Promise<void> {
    const model = await this.models.get(modelId, { includes: ['model_id', 'status', 'yty'] });
    if (!model)
      throw new ConflictError(`model ${modelId} does not exist; stage it first`, 'model_not_deployed');
    if (model.status === 'failed' || model.status === 'training' || model.status === 'deploying')
      throw new ConflictError(`model ${modelId} is ${model.status}`, 'model_not_deployed');
    if ((await this.liveModelId()) === modelId)
      throw new ConflictError(
        `model ${modelId} is the live model; an experiment needs another candidate`,
        'candidate_is_live',
      );
    if (!model.yty || !(await this.indices.exists(modelId)))
      throw new ConflictError(
        `model ${modelId} has no deployed indices (status ${model.status}); stage it first`,
        'model_not_deployed',
      );
    if (model.status !== 'staged')
      await this.models.update(modelId, { status: 'staged', status_reason: 'candidate of an experiment' });
  }

  /** The experiment that held a staged version ended without promoting it: keep-N may remove it again. */
  async releaseStaged(modelId: string): Promise<void> {
    const model = await this.models.get(modelId, { includes: ['status', 'live_at'] });
    if (model?.status !== 'staged') return;
    await this.models.update(modelId, {
      status: model.live_at ? 'retired' : 'candidate',
      status_reason: 'experiment ended without promotion',
    });
  }

  private async writeServingData(modelId: string, serving: ServingData): Promise<void> {
    const { yty } = serving;
    await this.models.update(modelId, {
      ...(serving.lsh ? { lsh: serving.lsh } : {}),
      ...(serving.ann ? { ann: serving.ann } : {}),
      yty: Buffer.from(yty.buffer, yty.byteOffset, yty.byteLength).toString('base64'),
    });
  }

  /** A version whose indices were being built failed: its indices go, the record says why (and what else the deploy reports, e.g. its skips). */
  async abandonBuild(modelId: string, error: string, deploy: Record<string, unknown> = {}): Promise<void> {
    await this.indices.remove(modelId).catch(() => undefined);
    await this.recordFailure(modelId, `deploy: ${error}`, {
      deploy: { ...deploy, status: 'failed', at: new Date().toISOString() },
    });
  }

  /** Makes a kept version live again (rollback or roll forward) with one alias action. */
  async activate(modelId: string): Promise<Activation> {
    const model = await this.models.get(modelId, { includes: ['model_id', 'status'] });
    if (!model) throw new NotFoundError(`model ${modelId} does not exist`, 'model_not_found');
    if (model.status === 'failed' || model.status === 'training' || model.status === 'deploying')
      throw new ConflictError(
        `model ${modelId} is ${model.status} and cannot be activated`,
        'model_not_deployable',
      );
    if (!(await this.indices.exists(modelId)))
      throw new ConflictError(
        `model ${modelId} has no deployed indices (status ${model.status}); deploy it first`,
        'model_not_deployed',
      );
    const previousModelId = await this.liveModelId();
    if (previousModelId === modelId) return { modelId, previousModelId };
    await this.swap(modelId, previousModelId);
    this.deps.log.info({ modelId, previousModelId }, 'model activated');
    return { modelId, previousModelId };
  }

  /** Back to the given kept version, or to the most recently live one before the current. */
  async rollback(modelId?: string): Promise<Activation> {
    if (modelId) return this.activate(modelId);
    const live = await this.liveModelId();
    const versions = new Set(await this.indices.versions());
    const target = (await this.models.list(200))
      .filter((m) => m.model_id !== live && versions.has(m.model_id) && m.live_at)
      .sort((a, b) => (b.live_at ?? '').localeCompare(a.live_at ?? ''))[0];
    if (!target)
      throw new ConflictError('no earlier deployed version to roll back to', 'nothing_to_rollback');
    return this.activate(target.model_id);
  }

  /** Deletes deployed versions beyond the newest `keep`, never the live one nor a staged one (not counted among the kept). */
  async removeOldVersions(keep = this.deps.keep): Promise<string[]> {
    const live = (await this.indices.aliased()).items;
    const staged = new Set(await this.models.idsWithStatus('staged'));
    const doomed = (await this.indices.versions())
      .filter((id) => !staged.has(id))
      .slice(keep)
      .filter((id) => !live.includes(this.deps.names.itemsIndex(id)));
    for (const id of doomed) {
      await this.indices.remove(id);
      await this.models
        .update(id, { deploy: { status: 'removed', at: new Date().toISOString() } })
        .catch(() => undefined);
    }
    // the versions are gone whatever happens to their artefacts: a failed prune is retried by the next one
    await this.pruneArtifacts(keep, staged).catch((e: Error) =>
      this.deps.log.warn({ err: e.message }, 'artefact clean-up failed; the next keep-N retries it'),
    );
    return doomed;
  }

  /**
   * Artefacts go with their model. Kept: every version that still has indices (live, staged, the
   * kept ones), a run still training or deploying, and the newest `keep` of the models never
   * deployed (candidates the gate held back, which `stage` may still deploy). A version whose
   * indices keep-N removed loses its artefact with them, as does everything older.
   */
  private async pruneArtifacts(keep: number, staged: Set<string>): Promise<string[]> {
    const store = this.deps.artifacts;
    if (!store) return [];
    const held = new Set([
      ...(await this.indices.versions()),
      ...staged,
      ...(await this.models.idsWithStatus('training')),
      ...(await this.models.idsWithStatus('deploying')),
    ]);
    const undeployed: string[] = [];
    for (const id of await store.modelIds()) {
      if (held.has(id)) continue;
      const doc = await this.models.get(id, { includes: ['deploy.status', 'live_at'] });
      if (!doc?.live_at && doc?.deploy?.['status'] !== 'removed') undeployed.push(id);
    }
    const newest = new Set(undeployed.slice(0, keep));
    const removed = await store.prune((id) => held.has(id) || newest.has(id));
    if (removed.length) this.deps.log.info({ removed }, 'artefacts removed with their versions');
    return removed;
  }

  private async swap(modelId: string, previousModelId: string | undefined): Promise<void> {
    await this.indices.swap(modelId);
    this.resolver.invalidate();
    const now = new Date().toISOString();
    await this.models.update(modelId, { status: 'live', live_at: now, deploy_lease: null });
    if (previousModelId && previousModelId !== modelId)
      await this.models.update(previousModelId, { status: 'retired', retired_at: now });
  }
}

/** The lifecycle of a context's models (keep-N from [models] keep). */
export function modelLifecycle(
  ctx: {
    repos: Repositories;
    names: Names;
    log: Logger;
    config: { models: { keep: number }; modelDir: string; deploy: { leaseSeconds: number } };
  },
  resolver?: LiveModelResolver,
  keep?: number,
): ModelLifecycle {
  return new ModelLifecycle({
    repos: ctx.repos,
    names: ctx.names,
    log: ctx.log,
    keep: keep ?? ctx.config.models.keep,
    deployLeaseMs: ctx.config.deploy.leaseSeconds * 1000,
    resolver,
    artifacts: new ArtifactStore(ctx.repos.artifacts, ctx.config.modelDir),
  });
}
