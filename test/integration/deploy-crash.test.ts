// Deploys that crash clean: a real `recsys deploy` child is SIGKILLed at three observable points of
// its deploy (versioned indices created, items loading, users loading). Each time the live model
// keeps serving, the model is left `deploying` with debris; once its lease lapses, the next entry
// point (the API's stage, a scheduler tick, the next `recsys deploy`) recovers it — failed, its
// indices gone — and the same model then deploys again without resource_already_exists_exception.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config/index.ts';
import { deployModel } from '../../src/deploy/index.ts';
import { artifactStore, saveArtifact } from '../../src/model/artifacts.ts';
import { leaseLapsed, modelLifecycle } from '../../src/model/lifecycle.ts';
import { createAdminOps } from '../../src/release/admin-ops.ts';
import { startScheduler } from '../../src/release/schedule.ts';
import { setup } from '../../src/setup/index.ts';
import { settingsEnv, testContext } from './harness.ts';
import { plantedModel } from './planted.ts';
import { waitUntil } from './wait.ts';

const LEASE_SECONDS = 2;
const modelDir = mkdtempSync(path.join(tmpdir(), 'recsys-deploycrash-'));
const ctx = testContext('deploycrash', { deploy: { leaseSeconds: LEASE_SECONDS } }, { MODEL_DIR: modelDir });
const { es, names } = ctx;
const LIVE = 'mcrashlive';
// large enough that each loading phase lasts long enough to be caught
const shape = { factors: 8, items: 25_000, users: 25_000, extras: true };

async function saveModel(modelId: string, seed: number): Promise<void> {
  const p = plantedModel(modelId, seed, shape);
  await saveArtifact(artifactStore(ctx), {
    ...p,
    recentItems: Object.fromEntries(p.recentItems!),
    popularity: Object.fromEntries(p.popularity!),
  });
}

/** `recsys deploy <id>` as its own node process (not the tsx wrapper, which forks), so SIGKILL hits the deploy. */
function recsysDeploy(modelId: string): ChildProcess {
  return spawn(
    process.execPath,
    ['--import', 'tsx', path.join(PROJECT_ROOT, 'src', 'cli', 'index.ts'), 'deploy', modelId],
    {
      env: {
        ...process.env,
        RECSYS_INDEX_PREFIX: ctx.config.indexPrefix,
        RECSYS_TOPIC_PREFIX: ctx.config.topicPrefix,
        MODEL_DIR: modelDir,
        LOG_LEVEL: 'warn',
        ...settingsEnv({ deploy: { leaseSeconds: LEASE_SECONDS } }),
      },
      stdio: 'ignore',
      cwd: PROJECT_ROOT,
    },
  );
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((r) =>
    child.exitCode !== null || child.signalCode !== null ? r(child.exitCode) : child.once('exit', r),
  );

async function indexed(index: string): Promise<number> {
  const s = await es.indices.stats({ index, metric: 'indexing' });
  return s._all.primaries?.indexing?.index_total ?? 0;
}

const POINTS = {
  'indices created': async (id: string) => await es.indices.exists({ index: names.itemsIndex(id) }),
  'items loading': async (id: string) => (await indexed(names.itemsIndex(id))) > 0,
  'users loading': async (id: string) => (await indexed(names.usersIndex(id))) > 0,
} as const;

/** Starts a deploy child, kills it at the point, and checks what it left: debris, live model untouched. */
async function killAt(modelId: string, point: keyof typeof POINTS): Promise<void> {
  const child = recsysDeploy(modelId);
  try {
    await waitUntil(`${modelId}: ${point}`, () => POINTS[point](modelId), 120_000, 20);
  } finally {
    child.kill('SIGKILL');
  }
  await exited(child);
  expect(child.signalCode).toBe('SIGKILL');
  expect(await ctx.repos.modelIndices.aliasedModelIds()).toEqual([LIVE]);
  const doc = await ctx.repos.models.get(modelId);
  expect(doc?.status).toBe('deploying');
  expect(await es.indices.exists({ index: names.itemsIndex(modelId) })).toBe(true);
}

async function waitForLapse(modelId: string): Promise<void> {
  await waitUntil(
    `${modelId}'s lease lapses`,
    async () => leaseLapsed((await ctx.repos.models.get(modelId))!, LEASE_SECONDS * 1000, Date.now()),
    30_000,
  );
}

async function expectClean(modelId: string): Promise<void> {
  const doc = await ctx.repos.models.get(modelId);
  expect(doc?.status).toBe('failed');
  expect(doc?.error).toMatch(/deploy interrupted/);
  expect(doc?.deploy_lease ?? null).toBeNull();
  for (const index of [names.itemsIndex(modelId), names.usersIndex(modelId)])
    expect(await es.indices.exists({ index }), index).toBe(false);
  expect(await ctx.repos.modelIndices.aliasedModelIds()).toEqual([LIVE]);
}

beforeAll(async () => {
  await setup(es, ctx.kafka, ctx.config, names, ctx.log);
  await deployModel(ctx, plantedModel(LIVE, 1, { factors: 8, items: 200, users: 50, extras: true }));
}, 120_000);

afterAll(async () => {
  await ctx.dispose();
  rmSync(modelDir, { recursive: true, force: true });
});

describe('a deploy killed at any point is recovered, and the same model deploys again', () => {
  it('killed once its indices exist: the API stages it after recovering it, and can activate it', async () => {
    const id = 'mcrashone';
    await saveModel(id, 11);
    await killAt(id, 'indices created');
    // before the lease lapses a second deploy is refused, not run over the first
    const lifecycle = modelLifecycle(ctx);
    await expect(lifecycle.beginDeploy(id, {})).rejects.toMatchObject({ code: 'deploy_in_progress' });
    await waitForLapse(id);

    const admin = createAdminOps(ctx, lifecycle);
    expect(await admin.stageModel(id)).toEqual({ model_id: id, status: 'deploying' });
    await waitUntil(
      `${id} staged`,
      async () => (await ctx.repos.models.get(id))?.status === 'staged',
      180_000,
      500,
    );
    const doc = await ctx.repos.models.get(id);
    expect(doc?.deploy_lease ?? null).toBeNull();
    expect((doc?.deploy as { status?: string }).status).toBe('done');
    expect(await ctx.repos.modelIndices.aliasedModelIds()).toEqual([LIVE]);
    await lifecycle.activate(id);
    expect(await ctx.repos.modelIndices.aliasedModelIds()).toEqual([id]);
    // back to the first live model for the next cases
    await lifecycle.activate(LIVE);
  }, 300_000);

  it('killed while loading items: a scheduler tick recovers it, and a deploy of the same model goes live', async () => {
    const id = 'mcrashtwo';
    await saveModel(id, 12);
    await killAt(id, 'items loading');
    await waitForLapse(id);
    // a tick with nothing to train on: its run fails, but recovers the deploy first
    const tick = await startScheduler(ctx, { cron: '0 3 * * *', start: false }).tick();
    expect(tick?.modelId).toBeDefined();
    await expectClean(id);

    const input = plantedModel(id, 12, shape);
    const report = await deployModel(ctx, input);
    expect(report.items).toBeGreaterThanOrEqual(shape.items);
    expect(await ctx.repos.modelIndices.aliasedModelIds()).toEqual([id]);
    expect((await ctx.repos.models.get(id))?.status).toBe('live');
    await modelLifecycle(ctx).activate(LIVE);
  }, 300_000);

  it('killed while loading users: the next `recsys deploy` of it recovers it and completes', async () => {
    const id = 'mcrashthree';
    await saveModel(id, 13);
    await killAt(id, 'users loading');
    await waitForLapse(id);
    // the recovery alone first (what the next run does before anything else)
    expect((await modelLifecycle(ctx).recoverInterruptedDeploys()).failed).toEqual([id]);
    await expectClean(id);
    const child = recsysDeploy(id);
    expect(await exited(child)).toBe(0);
    expect(await ctx.repos.modelIndices.aliasedModelIds()).toEqual([id]);
    const doc = await ctx.repos.models.get(id);
    expect(doc?.status).toBe('live');
    expect(doc?.deploy_lease ?? null).toBeNull();
    expect((await ctx.repos.models.get(LIVE))?.status).toBe('retired');
  }, 300_000);
});
