import { afterAll, describe, expect, it } from 'vitest';
import { runDemoPipeline } from '../../src/demo/pipeline.ts';
import { testContext } from './harness.ts';

const ctx = testContext('demo', { als: { factors: 32, iterations: 10 } });

afterAll(() => ctx.dispose());

describe('demo pipeline (reduced size)', () => {
  it('generates, goes through Kafka into the store, trains, beats popularity on the holdout and goes live', async () => {
    const steps: string[] = [];
    const r = await runDemoPipeline(
      ctx,
      { users: 600, items: 400, events: 30_000, days: 21, seed: 7 },
      { step: (s) => steps.push(s) },
    );
    try {
      expect(r.stored).toBe(r.data.events.length);
      expect(r.data.malformed.length).toBeGreaterThan(0);
      expect(r.train.status).toBe('live');
      expect(r.train.metrics!.ndcg).toBeGreaterThan(r.train.baseline!.ndcg);
      expect(r.train.metrics!.precision).toBeGreaterThan(r.train.baseline!.precision);
      expect(steps.map((s) => s.split(':')[0])).toEqual(['setup', 'generate', 'produce', 'ingest', 'train']);
    } finally {
      await r.stopIngest();
    }
  });
});
