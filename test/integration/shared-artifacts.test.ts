import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDataset } from '../../src/demo/generate.ts';
import { artifactStore } from '../../src/model/artifacts.ts';
import { modelLifecycle } from '../../src/model/lifecycle.ts';
import type { ModelDoc } from '../../src/repositories/models.ts';
import { setup } from '../../src/setup/index.ts';
import { childEnv, runCli, startApi, type CliChild } from './cli-child.ts';
import { loadDirect, settingsEnv, testContext } from './harness.ts';
import { waitUntil } from './wait.ts';

// Trainer and API on two "machines": separate CLI processes with separate working directories and
// MODEL_DIRs, sharing only Elasticsearch (and Kafka). Everything a model's later life needs — the
// next run's fair gate, staging from the API, the report — must come from the artefact store.

const SETTINGS = { als: { factors: 16, iterations: 8, threads: 1 }, tune: { mode: 'off' as const } };
const ctx = testContext('shared', SETTINGS);
const KEY = 'shared-key';
const dirs: string[] = [];
const machine = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'recsys-machine-'));
  dirs.push(d);
  return d;
};
const trainer = machine();
const apiHost = machine();
const env = (dir: string) =>
  childEnv(ctx, { MODEL_DIR: path.join(dir, 'models'), API_KEYS: KEY, ...settingsEnv(SETTINGS) });
let api: (CliChild & { url: string }) | undefined;

function shop(users: number, seed: number, startDate: string) {
  return generateDataset({
    users,
    items: 250,
    days: 28,
    seed,
    events: 25_000,
    malformedFraction: 0,
    startDate,
  });
}

async function train(...args: string[]): Promise<ModelDoc> {
  const before = new Set((await ctx.repos.models.list(100)).map((m) => m.model_id));
  const out = await runCli(['train', ...args], { env: env(trainer), cwd: trainer });
  const modelId = /model (\S+): /.exec(out)?.[1];
  expect(modelId, out).toBeDefined();
  expect(before.has(modelId!)).toBe(false);
  return (await ctx.repos.models.get(modelId!))!;
}

async function call(method: string, p: string) {
  const r = await fetch(`${api!.url}${p}`, { method, headers: { 'x-api-key': KEY } });
  const text = await r.text();
  return { status: r.status, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

beforeAll(async () => {
  await setup(ctx.es, ctx.kafka, ctx.config, ctx.names, ctx.log);
  await loadDirect(ctx, shop(300, 11, '2025-03-01T00:00:00Z'));
});

afterAll(async () => {
  await api?.stop();
  await ctx.dispose();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('artefacts shared through Elasticsearch, trainer and API on separate machines', () => {
  it('the next run’s gate scores the live model on the same exam, the API stages it and serves its report', async () => {
    const first = await train();
    expect(first.status).toBe('live');

    // a month later, 60 new users; the trainer machine lost its local folder meanwhile
    await loadDirect(ctx, shop(360, 12, '2025-04-01T00:00:00Z'));
    rmSync(path.join(trainer, 'models'), { recursive: true, force: true });
    const second = await train('--no-deploy');
    expect(second.status).toBe('candidate');
    expect(second.gate).toMatchObject({ exam: 'candidate_holdout', live_model_id: first.model_id });
    const gate = second.gate as Record<string, unknown>;
    expect(gate['live_factors']).toBe('exam');
    expect(gate['fallback']).toBeUndefined();
    expect(second.gate!.reason).toMatch(
      new RegExp(`live (model )?${first.model_id} \\(\\d\\.\\d{4} on this holdout\\)`),
    );
    // re-scored, not copied: the live model's own-run nDCG is another exam's number
    expect(gate['live_own_ndcg']).toBe(first.metrics!.ndcg);
    expect(second.gate!.live_ndcg).not.toBeCloseTo(first.metrics!.ndcg, 6);

    // the API machine has never seen either model's files
    api = await startApi({ env: env(apiHost), cwd: apiHost });
    expect(existsSync(path.join(apiHost, 'models', second.model_id))).toBe(false);
    const staged = await call('POST', `/v1/models/${second.model_id}/stage`);
    expect(staged.status, staged.text).toBe(202);
    await waitUntil(
      `${second.model_id} staged by the API`,
      async () => {
        const s = (await call('GET', `/v1/train/${second.model_id}`)).json()['status'];
        if (s === 'failed')
          throw new Error(`staging failed: ${JSON.stringify(await ctx.repos.models.get(second.model_id))}`);
        return s === 'staged';
      },
      120_000,
    );
    expect(await ctx.repos.modelIndices.exists(second.model_id)).toBe(true);
    // it read the factors from the store into its own cache
    expect(readdirSync(path.join(apiHost, 'models', second.model_id))).toContain('items.f32');

    const report = await call('GET', `/v1/models/${second.model_id}/report`);
    expect(report.status).toBe(200);
    expect(report.text).toContain(second.model_id);
    expect(report.text).toContain(`previous live ${first.model_id}`);
  });

  it('a gate whose live model has no artefact says so on the run record instead of falling back silently', async () => {
    const live = (await modelLifecycle(ctx).liveModelId())!;
    await artifactStore(ctx).delete(live);
    const run = await train('--no-deploy');
    const gate = run.gate as Record<string, unknown>;
    expect(gate['exam']).toBe('live_own_holdout');
    expect(gate['live_model_id']).toBe(live);
    expect(gate['fallback']).toBe('its artefact is not in the artefact store');
    expect(run.gate!.reason).toContain(`the live model ${live} was not re-scored on this holdout`);
  });
});
