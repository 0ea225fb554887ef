import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  FRESHNESS_DYNAMICS,
  FRESHNESS_SIZES,
  registerFreshnessCommand,
} from '../../src/cli/commands/freshness.ts';
import { generateDataset } from '../../src/demo/generate.ts';
import { alsParams } from '../../src/config/als-params.ts';
import { ratingRules } from '../../src/events/rating.ts';
import { memorySource, runReplay, type ReplayResult } from '../../src/freshness/replay.ts';
import { testContext } from './harness.ts';

const DAY = 86_400_000;
// the command makes and removes its deployment under this prefix; dispose is the safety net
const ctx = testContext('freshness');
const out = mkdtempSync(path.join(tmpdir(), 'freshness-'));

afterAll(async () => {
  await ctx.dispose();
  rmSync(out, { recursive: true, force: true });
});

describe('recsys evaluate-freshness (real Kafka and Elasticsearch)', () => {
  it('replays a tiny shop through Kafka and the event store and scores every variant on the same interactions', async () => {
    const lines: string[] = [];
    const log = vi
      .spyOn(console, 'log')
      .mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    try {
      const program = new Command('recsys').exitOverride();
      registerFreshnessCommand(program);
      await program.parseAsync(
        [
          'evaluate-freshness',
          '--size',
          'tiny',
          '--factors',
          '8',
          '--iterations',
          '4',
          '--retrain',
          '1,3',
          '--out',
          out,
          '--prefix',
          ctx.config.indexPrefix,
        ],
        { from: 'user' },
      );
    } finally {
      log.mockRestore();
    }
    const text = lines.join('\n');
    const files = readdirSync(out);
    const json = files.find((f) => f.endsWith('.json'))!;
    expect(
      files.some((f) => f.endsWith('.html') && readFileSync(path.join(out, f), 'utf8').includes('<svg')),
    ).toBe(true);
    const report = JSON.parse(readFileSync(path.join(out, json), 'utf8')) as {
      pipeline: { produced: number; stored: number };
      result: ReplayResult;
    };
    const r = report.result;
    expect(r.variants).toEqual(['batch-1', 'batch-3', 'batch-3+online', 'popularity-7d']);
    expect(r.steps.length).toBe(FRESHNESS_SIZES.tiny.days - FRESHNESS_SIZES.tiny.warmup - 1);
    // the per-step table and the summary name every variant
    for (const v of r.variants)
      expect(text).toMatch(new RegExp(`^${v.replace('+', '\\+')}\\s+\\d\\.\\d{3}\\s+\\d\\.\\d{3}`, 'm'));
    for (const s of r.steps) expect(text).toContain(`  ${s.cutoff.slice(0, 10)}  `);

    // everything produced reached the event store through ingest, and each training read saw
    // exactly the events before its cut: no more (no leak), no fewer (nothing lost on the way)
    const ds = generateDataset({
      ...FRESHNESS_SIZES.tiny,
      seed: 42,
      malformedFraction: 0,
      dynamics: FRESHNESS_DYNAMICS,
    });
    const ts = ds.events.map((e) => Date.parse(e.timestamp));
    const cuts = r.steps.map((s) => Date.parse(s.cutoff));
    const before = (cut: number) => ts.filter((t) => t < cut).length;
    expect(report.pipeline.stored).toBe(report.pipeline.produced);
    expect(report.pipeline.produced).toBe(before(cuts[cuts.length - 1]! + DAY));
    expect(r.cost['batch-1']!.readDocs).toBe(cuts.reduce((a, c) => a + before(c), 0));
    expect(r.cost['batch-3']!.readDocs).toBe(
      cuts.filter((_, i) => i % 3 === 0).reduce((a, c) => a + before(c), 0),
    );
    expect(r.cost['batch-1']!.readRoundTrips).toBeGreaterThanOrEqual(r.steps.length);
    expect(r.cost['popularity-7d']!.readRoundTrips).toBe(0);
    expect(r.cost['batch-3+online']!.foldIns).toBeGreaterThan(0);

    // the same scored lists for every variant, step by step and user kind by user kind
    expect(r.steps.reduce((a, s) => a + s.users, 0)).toBeGreaterThan(50);
    for (const s of r.steps) {
      for (const v of r.variants) {
        expect(s.variants[v]!.users).toBe(s.users);
        expect(s.variants[v]!.byKind).toMatchObject(
          Object.fromEntries(
            Object.entries(s.variants['batch-1']!.byKind).map(([k, c]) => [k, { users: c.users }]),
          ),
        );
      }
    }
    // the stream loses nothing and adds nothing: the pure loop over the same history, without
    // Kafka or ES, gives the same figures to the last digit
    const rules = ratingRules(ctx.config);
    const driftAt = new Map(
      ds.users.filter((u) => u._drift).map((u) => [u.user_id, Date.parse(u._drift!.at)]),
    );
    const direct = await runReplay(ds.events, memorySource(rules), {
      params: alsParams(ctx.config.als, { factors: 8, iterations: 4 }),
      rules,
      warmupSteps: FRESHNESS_SIZES.tiny.warmup,
      retrainEvery: [1, 3],
      popularityDays: 7,
      seenLimit: ctx.config.serving.seenEventsLimit,
      driftAt,
    });
    expect(r.overall).toEqual(direct.overall);
    expect(r.steps).toEqual(direct.steps);

    // personalised beats the floor on returning users even at this size
    expect(r.overall['batch-1']!.byKind.returning.ndcg).toBeGreaterThan(
      r.overall['popularity-7d']!.byKind.returning.ndcg,
    );

    // the command removed its indices and topics
    expect(
      Object.keys(
        await ctx.es.indices.get({
          index: `${ctx.config.indexPrefix}*`,
          allow_no_indices: true,
          expand_wildcards: 'all',
        }),
      ),
    ).toEqual([]);
    const admin = ctx.kafka.admin();
    await admin.connect();
    try {
      expect((await admin.listTopics()).filter((t) => t.startsWith(ctx.config.topicPrefix))).toEqual([]);
    } finally {
      await admin.disconnect();
    }
  }, 240_000);
});
