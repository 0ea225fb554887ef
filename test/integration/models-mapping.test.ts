import { afterAll, describe, expect, it } from 'vitest';
import { setup } from '../../src/setup/index.ts';
import type { RankingMetrics } from '../../src/types/index.ts';
import { testContext } from './harness.ts';

// The models index as setup creates it from es-mappings/indices/models.json: a first run whose
// scores are 0 and whose timings are whole seconds must not make those fields `long` (which would
// truncate every later decimal in the Models dashboard).

const ctx = testContext('modelmap');
const { es, names } = ctx;

afterAll(() => ctx.dispose());

const scores = (v: number): RankingMetrics => ({
  k: 10,
  precision: v,
  recall: v,
  ndcg: v,
  map: v,
  coverage: v,
  popularity_bias: v,
  users: 40,
});
const NUMERIC_OBJECTS = ['metrics', 'baseline_metrics', 'timings', 'deploy.timings'];

type Props = Record<string, { type?: string; properties?: Props }>;

/** Every leaf field under the numeric objects, with its mapped type. */
function numericLeaves(props: Props, prefix = ''): Array<[string, string | undefined]> {
  const out: Array<[string, string | undefined]> = [];
  for (const [name, p] of Object.entries(props)) {
    const path = prefix ? `${prefix}.${name}` : name;
    if (p.properties) out.push(...numericLeaves(p.properties, path));
    else if (NUMERIC_OBJECTS.some((o) => path.startsWith(`${o}.`))) out.push([path, p.type]);
  }
  return out;
}

async function mappedProperties(): Promise<Props> {
  const m = await es.indices.getMapping({ index: names.models });
  return (Object.values(m)[0]!.mappings.properties ?? {}) as Props;
}

describe('models index mapping', () => {
  it('an existing index whose metric became long is reported by setup, naming the field', async () => {
    // what an index created before the explicit mapping looks like after a first run with ndcg 0
    await es.indices.create({
      index: names.models,
      mappings: { dynamic: true, properties: { model_id: { type: 'keyword' } } },
    });
    await es.index({
      index: names.models,
      id: 'old',
      document: { model_id: 'old', metrics: { ndcg: 0 } },
      refresh: true,
    });
    await expect(setup(es, ctx.kafka, ctx.config, names, ctx.log)).rejects.toThrow(
      /models.*metrics\.ndcg.*long.*double.*reindex/s,
    );
    await es.indices.delete({ index: names.models });
  });

  it('metrics, baseline metrics and timings are double from the first document on, named or new', async () => {
    await setup(es, ctx.kafka, ctx.config, names, ctx.log);
    await ctx.repos.models.put({
      model_id: 'm-first',
      status: 'candidate',
      created_at: new Date().toISOString(),
      metrics: scores(0),
      baseline_metrics: scores(0),
      // whole seconds, and a timing no mapping names
      timings: { load_seconds: 3, train_seconds: 12, brand_new_step_seconds: 7 },
      deploy: { timings: { bulk_seconds: 2 } },
    } as never);
    const leaves = numericLeaves(await mappedProperties());
    const paths = leaves.map(([p]) => p);
    for (const p of [
      'metrics.ndcg',
      'metrics.k',
      'baseline_metrics.ndcg',
      'timings.load_seconds',
      'timings.train_seconds',
      'timings.brand_new_step_seconds',
      'deploy.timings.bulk_seconds',
    ])
      expect(paths).toContain(p);
    for (const [path, type] of leaves) expect(type, path).toBe('double');

    // and decimals written later survive in aggregations (what the Lens panels read)
    await ctx.repos.models.put({
      model_id: 'm-second',
      status: 'candidate',
      created_at: new Date().toISOString(),
      metrics: scores(0.4472),
      timings: { train_seconds: 12.75 },
    } as never);
    const r = await es.search({
      index: names.models,
      size: 0,
      aggs: { ndcg: { max: { field: 'metrics.ndcg' } }, train: { max: { field: 'timings.train_seconds' } } },
    });
    const aggs = r.aggregations as { ndcg: { value: number }; train: { value: number } };
    expect(aggs.ndcg.value).toBe(0.4472);
    expect(aggs.train.value).toBe(12.75);
  });
});
