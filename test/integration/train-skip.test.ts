// Training never fails on a few bad rows: events in the store whose user or item id today's rules
// refuse (a 768-byte id stored before validation was tightened, or written into ES directly) are
// skipped by both ratings readers, counted by reason, recorded on the model document, and the run
// goes live with factors for every valid user.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDataset } from '../../src/demo/generate.ts';
import { ratingRules } from '../../src/events/rating.ts';
import { runTraining } from '../../src/release/run.ts';
import { setup } from '../../src/setup/index.ts';
import { readRatingsByComposite, readRatingsByScan } from '../../src/train/ratings.ts';
import { SkipLog } from '../../src/types/skipped.ts';
import { loadDirect, testContext } from './harness.ts';

const ctx = testContext('trainskip', { als: { factors: 16, iterations: 8, threads: 1 } });
const { es, names } = ctx;
const data = generateDataset({
  users: 300,
  items: 250,
  days: 28,
  seed: 11,
  events: 25_000,
  malformedFraction: 0,
});
const small = { params: { factors: 16, iterations: 8 }, trigger: 'test' as const };
const LONG_USER = '€'.repeat(256); // 768 bytes in UTF-8
const LONG_ITEM = `${'€'.repeat(100)}x`; // 301 bytes: over our 256, under ES's keyword limits
// 6 events of a too-long user, 3 of a too-long item, 2 of a user id with a trailing blank
const bad = [
  ...data.events.slice(0, 6).map((e, j) => ({ ...e, event_id: `bad-u-${j}`, user_id: LONG_USER })),
  ...data.events.slice(6, 9).map((e, j) => ({ ...e, event_id: `bad-i-${j}`, item_id: LONG_ITEM })),
  ...data.events.slice(9, 11).map((e, j) => ({ ...e, event_id: `bad-b-${j}`, user_id: `${e.user_id} ` })),
];

beforeAll(async () => {
  await setup(es, ctx.kafka, ctx.config, names, ctx.log);
  // straight into the event store, around ingest's validation
  await loadDirect(ctx, { items: data.items, events: [...data.events, ...bad] });
});

afterAll(() => ctx.dispose());

describe('training skips events with refused ids', () => {
  it('both readers skip and count them by reason', async () => {
    const now = Date.parse(data.events.at(-1)!.timestamp);
    const rules = ratingRules(ctx.config);
    for (const reader of [readRatingsByScan, readRatingsByComposite]) {
      const skipped = new SkipLog();
      const rows = await reader(ctx.repos.events, { rules, now, skipped, pageSize: 2000 });
      expect(rows.length).toBeGreaterThan(1000);
      expect(
        rows.some((r) => r.userId === LONG_USER || r.itemId === LONG_ITEM || r.userId.endsWith(' ')),
      ).toBe(false);
      expect(skipped.total).toBe(11);
      expect(Object.fromEntries(skipped.summary().by_reason.map((b) => [b.reason, b.count]))).toEqual({
        invalid_user_id: 8,
        invalid_item_id: 3,
      });
    }
  });

  it('a run over them goes live, records the skipped rows on the model document, and every valid user has factors', async () => {
    const r = await runTraining(ctx, small);
    expect(r.status).toBe('live');
    expect(r.counts['skipped_rows']).toBe(11);
    expect(r.skipped.total).toBe(11);

    const doc = await ctx.repos.models.get(r.modelId);
    expect(doc?.status).toBe('live');
    expect(doc?.counts?.['skipped_rows']).toBe(11);
    expect(
      Object.fromEntries(doc!.skipped!.by_reason.map((b) => [`${b.stage}:${b.reason}`, b.count])),
    ).toEqual({ 'events:invalid_user_id': 8, 'events:invalid_item_id': 3 });
    expect(doc!.skipped!.examples.length).toBe(11);
    const long = doc!.skipped!.examples.find((e) => e.reason === 'invalid_user_id' && e.id.startsWith('€'))!;
    expect(long.id).toMatch(/^€{64}… \(768 bytes\)$/);
    expect(long.detail).toMatch(/at most 256 bytes/);

    // every user with a valid event has a factor in the live users index, and nothing was skipped at deploy
    expect(r.deploy?.skippedUsers).toBe(0);
    expect(r.deploy?.skippedItems).toBe(0);
    const validUsers = new Set(data.events.map((e) => e.user_id));
    expect(r.deploy?.users).toBe(validUsers.size);
    await es.indices.refresh({ index: names.usersAlias });
    expect((await es.count({ index: names.usersAlias })).count).toBe(validUsers.size);
    const some = [...validUsers].slice(0, 20);
    const got = await es.mget<{ factor: number[] }>({
      index: names.usersAlias,
      ids: some,
      _source: ['factor'],
    });
    for (const d of got.docs) expect('found' in d && d.found && d._source!.factor.length).toBe(16);
  });
});
