import { createHash } from 'node:crypto';
import type { Client } from '@elastic/elasticsearch';
import type { Names } from '../config/names.ts';
import { isIndexNotFound } from '../infra/es-errors.ts';
import { scanPages } from './scan.ts';

export type SubjectKind = 'user' | 'item';

/**
 * The stored stand-in for an id: SHA-256 of kind and id. One-way, so a tombstone, a job or an
 * audit record never carries the id itself; the same id always gives the same subject, so ingest
 * can look a message's id up without a list of ids in the clear.
 */
export function subjectHash(kind: SubjectKind, id: string): string {
  return createHash('sha256').update(`${kind}\u0000${id}`).digest('hex');
}

export interface Tombstone {
  kind: SubjectKind;
  reason: 'forgotten' | 'merged' | 'removed';
  /** when the subject was forgotten: messages produced up to then are dropped */
  at: Date;
  /** null: never expires */
  expiresAt: Date | null;
  /** drop the subject's events in ingest (users always; items only when their events went too) */
  dropEvents: boolean;
}

export interface TombstoneHit {
  atMs: number;
  dropEvents: boolean;
}

/**
 * Whether a message produced at `producedMs` (Kafka timestamp) about a tombstoned subject is one the
 * deletion already covered: produced before the forget, it is history coming back (a replay, a lag);
 * produced after, it is new data.
 */
export function droppedBy(hit: TombstoneHit | undefined, producedMs: number): boolean {
  return Boolean(hit?.dropEvents && !(producedMs > hit.atMs));
}

const key = (kind: SubjectKind, id: string) => `${kind}\u0000${id}`;

interface TombstoneDoc {
  kind: SubjectKind;
  subject: string;
  reason: string;
  at: string;
  expires_at: string | null;
  drop_events: boolean;
}

/** The tombstones index: what ingest, fold-in and training must no longer take in. */
export class TombstonesRepository {
  constructor(
    private readonly es: Client,
    private readonly names: Names,
  ) {}

  async put(id: string, t: Tombstone): Promise<void> {
    const subject = subjectHash(t.kind, id);
    const doc: TombstoneDoc = {
      kind: t.kind,
      subject,
      reason: t.reason,
      at: t.at.toISOString(),
      expires_at: t.expiresAt ? t.expiresAt.toISOString() : null,
      drop_events: t.dropEvents,
    };
    // searchable at once: ingest and training find them by search, not by realtime get
    await this.es.index({
      index: this.names.tombstones,
      id: `${t.kind}:${subject}`,
      document: doc,
      refresh: true,
    });
  }

  /**
   * The live tombstones among these subjects, in one search whatever their number: what a consumed
   * batch costs. A terms query on the subject hash (tombstones are written with a refresh, so a
   * search sees them as soon as put() returns) costs a fraction of a realtime mget of as many ids
   * (bench/privacy). Keyed by kind and id (tombstoneKey). A missing index is no tombstone; any other
   * failure is thrown, so the batch waits.
   */
  async lookup(
    subjects: ReadonlyArray<{ kind: SubjectKind; id: string }>,
    now = Date.now(),
  ): Promise<Map<string, TombstoneHit>> {
    const out = new Map<string, TombstoneHit>();
    const bySubject = new Map<string, string>();
    for (const s of subjects) bySubject.set(subjectHash(s.kind, s.id), key(s.kind, s.id));
    if (!bySubject.size) return out;
    const r = await this.es.search<TombstoneDoc>({
      index: this.names.tombstones,
      ignore_unavailable: true,
      allow_no_indices: true,
      size: bySubject.size,
      query: { terms: { subject: [...bySubject.keys()] } },
      track_total_hits: false,
      filter_path: 'hits.hits._source',
    });
    for (const h of r.hits?.hits ?? []) {
      const k = h._source && bySubject.get(h._source.subject);
      const hit = k && live(h._source!, now);
      if (hit) out.set(k, hit);
    }
    return out;
  }

  /**
   * Which of these consumed messages a tombstone covers: a forgotten (or merged) user's, or a
   * removed item's whose events went too, produced (Kafka timestamp) before the tombstone. One
   * search for the whole batch, none when there is nothing to look up. Returns positions.
   */
  async dropped(
    messages: ReadonlyArray<{ userId?: string; itemId?: string; producedMs: number }>,
  ): Promise<Set<number>> {
    const out = new Set<number>();
    const subjects = messages.flatMap((m) => [
      ...(m.userId ? [{ kind: 'user' as const, id: m.userId }] : []),
      ...(m.itemId ? [{ kind: 'item' as const, id: m.itemId }] : []),
    ]);
    if (!subjects.length) return out;
    const hits = await this.lookup(subjects);
    if (!hits.size) return out;
    messages.forEach((m, i) => {
      if (
        (m.userId && droppedBy(hits.get(key('user', m.userId)), m.producedMs)) ||
        (m.itemId && droppedBy(hits.get(key('item', m.itemId)), m.producedMs))
      )
        out.add(i);
    });
    return out;
  }

  /** Every live tombstone, by kind, keyed by subject hash (training filters its rows with them). */
  async active(now = Date.now()): Promise<Record<SubjectKind, Map<string, TombstoneHit>>> {
    const out: Record<SubjectKind, Map<string, TombstoneHit>> = { user: new Map(), item: new Map() };
    try {
      for await (const hits of scanPages<TombstoneDoc>(this.es, {
        index: this.names.tombstones,
        pageSize: 5_000,
      }))
        for (const h of hits) {
          const hit = h._source && live(h._source, now);
          if (hit) out[h._source!.kind]?.set(h._source!.subject, hit);
        }
    } catch (e) {
      if (!isIndexNotFound(e)) throw e;
    }
    return out;
  }

  /** Removes tombstones whose expiry has passed; returns how many. */
  async purgeExpired(now = Date.now()): Promise<number> {
    let removed = 0;
    try {
      for await (const hits of scanPages(this.es, {
        index: this.names.tombstones,
        query: { range: { expires_at: { lte: new Date(now).toISOString() } } },
        source: false,
      })) {
        await this.es.bulk({
          operations: hits.map((h) => ({ delete: { _index: this.names.tombstones, _id: h._id! } })),
          refresh: true,
        });
        removed += hits.length;
      }
    } catch (e) {
      if (!isIndexNotFound(e)) throw e;
    }
    return removed;
  }
}

/** The key lookup() uses for a subject. */
export const tombstoneKey = key;

function live(d: TombstoneDoc, now: number): TombstoneHit | undefined {
  if (d.expires_at && Date.parse(d.expires_at) <= now) return undefined;
  return { atMs: Date.parse(d.at), dropEvents: d.drop_events };
}
