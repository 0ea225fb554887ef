// Privacy benchmark: how long forgetting a user takes when they have 10,000 events spread over three
// years of monthly buckets, among other users' events in the same buckets; and what the tombstone
// check adds to ingest: one search of a consumed chunk's distinct users and items.
//
// The forgotten users' events are stored as ingest stores them (a claim in the dedup ledger, then
// the event); the others' are bulk-loaded straight into the buckets. Each user is forgotten by the
// real job (PrivacyService.forgetUser: tombstone, every bucket scanned and bulk-deleted, ledger,
// users indices, served lists, metadata, artefacts, verification), timed per store.
//
//   npx tsx bench/privacy/run.ts [--events 10000] [--years 3] [--others 300000] [--subjects 3] [--chunk 500] [--tombstones 1000] [--keep]
import { parseArgs } from 'node:util';
import type { StoredEvent } from '../../src/events/schema.ts';
import { PrivacyService } from '../../src/privacy/service.ts';
import type { SinkDoc } from '../../src/repositories/bulk-store.ts';
import { setup } from '../../src/setup/index.ts';
import { createRng } from '../../src/random/rng.ts';
import { benchContext, disposeBench, loadEventsDirect, percentile } from '../common.ts';
import { recordFigures, round } from '../record.ts';
import { eventWrite } from '../../src/ingest/event-write.ts';

const { values: a } = parseArgs({
  options: {
    events: { type: 'string', default: '10000' },
    years: { type: 'string', default: '3' },
    others: { type: 'string', default: '300000' },
    subjects: { type: 'string', default: '3' },
    chunk: { type: 'string', default: '500' },
    tombstones: { type: 'string', default: '1000' },
    lookups: { type: 'string', default: '200' },
    seed: { type: 'string', default: '33' },
    keep: { type: 'boolean', default: false },
  },
});
const N = Number(a.events);
const YEARS = Number(a.years);
const OTHERS = Number(a.others);
const SUBJECTS = Number(a.subjects);
const CHUNK = Number(a.chunk);
const DAY = 86_400_000;
const SPAN = Math.round(YEARS * 365.25) * DAY;
const END = Date.UTC(2026, 0, 1);
const ctx = benchContext('privacy');
const { es, names } = ctx;
const rng = createRng(Number(a.seed));
const log = (msg: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);

function eventAt(userId: string, i: number, t: number): StoredEvent {
  return {
    event_id: `${userId}-${i}`,
    user_id: userId,
    item_id: `item-${Math.floor(rng.next() * 5_000)}`,
    event_type: rng.next() < 0.1 ? 'purchase' : 'page_view',
    timestamp: new Date(t).toISOString(),
  };
}

/** A subject's events, evenly over the span, stored as ingest stores them (ledger claim, then event). */
async function storeSubject(userId: string): Promise<void> {
  const events = Array.from({ length: N }, (_, i) =>
    eventAt(userId, i, END - SPAN + Math.floor((i / N) * SPAN)),
  );
  for (let i = 0; i < events.length; i += 2_000) {
    const docs: SinkDoc[] = events
      .slice(i, i + 2_000)
      .map((e, origin) =>
        eventWrite(names, { id: e.event_id, timestamp: e.timestamp, doc: { ...e } }, origin),
      );
    const out = await ctx.repos.documents.storeAll(docs, { initialMs: 200, maxMs: 5_000 }, ctx.log);
    if (out.failures.length) throw new Error(`refused: ${out.failures[0]!.message}`);
  }
}

function* others(): Generator<StoredEvent> {
  for (let i = 0; i < OTHERS; i++)
    yield eventAt(`u${Math.floor(rng.next() * 20_000)}`, i, END - SPAN + rng.next() * SPAN);
}

try {
  await setup(es, ctx.kafka, ctx.config, names, ctx.log);
  log(`loading ${OTHERS.toLocaleString('en')} other events over ${YEARS} years`);
  await loadEventsDirect(ctx, others());
  const subjects = Array.from({ length: SUBJECTS }, (_, i) => `subject-${i}`);
  for (const s of subjects) await storeSubject(s);
  await ctx.repos.metadata.upsertUsers(
    subjects.map((user_id) => ({ user_id })),
    { refresh: true },
  );
  await es.indices.refresh({ index: `${names.eventsPattern},${names.eventIds}` });
  const buckets = (await ctx.repos.events.bucketIndices()).length;
  const stored = await ctx.repos.events.countAfterRefresh();
  log(`${stored.toLocaleString('en')} events in ${buckets} buckets`);

  const rows: Array<Array<string | number>> = [];
  const storeNames = new Set<string>();
  const perStore: Array<Map<string, number>> = [];
  for (const s of subjects) {
    const times = new Map<string, number>();
    let mark = performance.now();
    const started = performance.now();
    const service = new PrivacyService(ctx);
    const job = await (
      await service.forgetUser(s, 'bench', {
        afterCheckpoint: (store, part) => {
          if (part) return;
          const now = performance.now();
          times.set(store, (now - mark) / 1000);
          storeNames.add(store);
          mark = now;
        },
      })
    ).finished;
    const seconds = (performance.now() - started) / 1000;
    const ev = job.stores['events']!.counts;
    log(`${s}: ${ev['events']} events, ${ev['ledger_claims']} claims in ${seconds.toFixed(2)} s`);
    perStore.push(times);
    rows.push([
      s,
      ev['events'] ?? 0,
      ev['ledger_claims'] ?? 0,
      job.stores['events']!.parts?.length ?? 0,
      round(seconds, 2),
      round(N / seconds, 0),
    ]);
  }

  // the ingest side: tombstones present, a chunk's lookup of its distinct users and items
  const T = Number(a.tombstones);
  for (let i = 0; i < T; i += 50)
    await Promise.all(
      Array.from({ length: Math.min(50, T - i) }, (_, j) =>
        ctx.repos.tombstones.put(`gone-${i + j}`, {
          kind: 'user',
          reason: 'forgotten',
          at: new Date(),
          expiresAt: new Date(Date.now() + 14 * DAY),
          dropEvents: true,
        }),
      ),
    );
  const chunk = Array.from({ length: CHUNK }, (_, i) => ({
    userId: i % 10 === 0 ? `gone-${i}` : `u${i}`,
    itemId: `item-${i % 2_000}`,
    // produced before the forgets: every tenth message is a forgotten user's
    producedMs: 0,
  }));
  const lookups: number[] = [];
  let dropped = 0;
  for (let i = 0; i < Number(a.lookups); i++) {
    const t = performance.now();
    dropped = (await ctx.repos.tombstones.dropped(chunk)).size;
    lookups.push(performance.now() - t);
  }
  lookups.sort((x, y) => x - y);
  const distinct = new Set(chunk.map((c) => c.userId)).size + new Set(chunk.map((c) => c.itemId)).size;
  log(
    `tombstone lookup of ${CHUNK} messages (${distinct} ids): p50 ${percentile(lookups, 50).toFixed(2)} ms, ${dropped} dropped`,
  );

  const order = [...storeNames];
  await recordFigures({
    bench: 'privacy',
    title: `privacy: forget a user with ${N.toLocaleString('en')} events over ${YEARS} years (${buckets} monthly buckets, ${stored.toLocaleString('en')} events stored in all), and the tombstone check a consumed chunk adds to ingest`,
    tables: [
      {
        title:
          'forget-user job, end to end (tombstone, every bucket scanned and bulk-deleted with the ledger claims, users indices, served lists, metadata, artefacts, verification); no delete-by-query on this build',
        columns: [
          'user',
          'events deleted',
          'ledger claims deleted',
          'buckets scanned',
          'seconds',
          'events/s',
        ],
        rows,
      },
      {
        title: 'seconds per store (the same jobs, in order)',
        columns: ['user', ...order],
        rows: subjects.map((s, i) => [s, ...order.map((st) => round(perStore[i]!.get(st) ?? 0, 3))]),
      },
      {
        title: `tombstone check per consumed chunk: one search of its distinct user and item ids, ${Number(a.tombstones).toLocaleString('en')} tombstones stored, ${a.lookups} lookups`,
        columns: [
          'messages',
          'ids looked up',
          'dropped',
          'p50 ms',
          'p95 ms',
          'p99 ms',
          'ms per message (p50)',
        ],
        rows: [
          [
            CHUNK,
            distinct,
            dropped,
            round(percentile(lookups, 50), 2),
            round(percentile(lookups, 95), 2),
            round(percentile(lookups, 99), 2),
            round(percentile(lookups, 50) / CHUNK, 4),
          ],
        ],
      },
    ],
  });
} finally {
  await disposeBench(ctx, a.keep);
}
