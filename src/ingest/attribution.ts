// Attribution of actions (click, page_view, add_to_cart, purchase, …) to the served list whose
// recommendation_id they carry.
//
// Model, arm and serve time come from the signed id itself (src/events/recommendation-id.ts), so
// they cannot miss however early the action arrives. An id that does not verify is `unattributed`:
// stored apart (kind "unattributed", no model_id), counted, outside every CTR. Ids minted before
// signed ids (UUIDs) are looked up by _id in the buckets their action's time allows.
//
// The position of the item in the list needs the served record, which may not be stored yet. It
// is read by realtime mget of its _id in the index its serve time names (no search, no refresh
// dependency). When it is not there, the race is closed by a double check in which each side
// writes before it reads the other:
//   events sink:  write the attribution with position_pending → refresh that index → mget the
//                 served record again → if found, set the position;
//   served sink:  write the served records → search pending attributions of their ids → set them.
// If the served sink's search missed the attribution, the attribution was not yet searchable, so
// its refresh (and the events sink's second mget) came after the served record was acknowledged
// and that mget finds it. Setting a position is an idempotent partial update, so both may do it.

import type { Names } from '../config/names.ts';
import { readRecommendationId, type RecommendationTag } from '../events/recommendation-id.ts';
import type { StoredEvent } from '../events/schema.ts';
import { SERVED_MAX_AGE_MS } from '../events/served-record.ts';
import type { Logger } from '../infra/logger.ts';
import type { IngestMetrics } from '../infra/metrics.ts';
import { isRetriableItem, isTransient, RetryError } from '../infra/retry.ts';
import type { SinkDoc, StoreOutcome } from '../repositories/bulk-store.ts';
import type {
  DocRef,
  PositionOutcome,
  PositionUpdate,
  ServedListsRepository,
  ServedList,
} from '../repositories/served-lists.ts';

/** Which attribution kind an action on a served list counts as. */
export function attributionKind(eventType: string): 'click' | 'conversion' | 'action' {
  if (eventType === 'click' || eventType === 'page_view') return 'click';
  if (eventType === 'add_to_cart' || eventType === 'purchase') return 'conversion';
  return 'action';
}

/** 1-based place of the item in the served list; null (and in_list false) when it was not in it. */
export function positionIn(
  items: readonly string[],
  itemId: string,
): { position: number | null; in_list: boolean } {
  const i = items.indexOf(itemId);
  return i < 0 ? { position: null, in_list: false } : { position: i + 1, in_list: true };
}

/** The format of recommendation ids before they were signed (randomUUID). */
const LEGACY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DAY_MS = 86_400_000;

export interface Action {
  /** the source message's place in its batch */
  origin: number;
  event: StoredEvent;
  /** the event's dedup-ledger claim, which its attribution shares (a copy of the event adds no second click) */
  ledger?: { id: string; bucket: string };
}

export interface AttributionDeps {
  servedLists: ServedListsRepository;
  names: Names;
  /** the current signing secret first, then those of a rotation whose ids may still come back */
  secrets: string[];
  log: Logger;
  metrics?: Pick<IngestMetrics, 'attributions' | 'attributionPositions'>;
}

interface Planned {
  doc: SinkDoc;
  recommendationId: string;
  servedIndex: string;
  itemId: string;
}

export class Attributor {
  constructor(private readonly deps: AttributionDeps) {}

  /** Whether an action is recent enough to be an attribution (an older one is history, and would create an index for its day). */
  static isRecent(event: StoredEvent, now = Date.now()): boolean {
    return event.recommendation_id !== undefined && Date.parse(event.timestamp) >= now - SERVED_MAX_AGE_MS;
  }

  /**
   * The attribution documents of one batch (one mget of the served lists), and what to do once
   * they are stored: close the position race for those still pending.
   */
  async attribute(
    actions: Action[],
  ): Promise<{ docs: SinkDoc[]; settle: (outcome: StoreOutcome) => Promise<void> }> {
    const { names, secrets } = this.deps;
    const tags = actions.map((a) =>
      secrets.reduce<RecommendationTag | undefined>(
        (tag, secret) => tag ?? readRecommendationId(a.event.recommendation_id!, secret),
        undefined,
      ),
    );
    const refs: DocRef[] = [];
    actions.forEach((a, i) => {
      const tag = tags[i];
      const id = a.event.recommendation_id!;
      if (tag) refs.push({ index: names.recommendationsIndex(new Date(tag.servedAt)), id });
      else if (LEGACY_ID.test(id)) for (const index of this.legacyIndices(a.event)) refs.push({ index, id });
    });
    const served = await this.deps.servedLists.byRefs(refs);

    const docs: SinkDoc[] = [];
    const pending: Planned[] = [];
    const replayable: Planned[] = [];
    actions.forEach((a, i) => {
      const planned = this.plan(a, tags[i], served.get(a.event.recommendation_id!));
      docs.push(planned.doc);
      if (planned.doc.doc['position_pending'] === true) pending.push(planned);
      else if (planned.doc.doc['in_list'] !== undefined) replayable.push(planned);
    });
    return { docs, settle: (outcome) => this.guard(() => this.settleEvents(pending, replayable, outcome)) };
  }

  /** After the served sink stored these lists: positions of the attributions that waited for them. */
  settleServed(lists: ServedList[]): Promise<void> {
    return this.guard(() => this.resolveServed(lists));
  }

  private async resolveServed(lists: ServedList[]): Promise<void> {
    if (!lists.length) return;
    const byId = new Map(lists.map((l) => [l.recommendation_id, l]));
    const { pending, more } = await this.deps.servedLists.pendingAttributions([...byId.keys()]);
    if (more)
      this.deps.log.warn(
        { lists: lists.length, found: pending.length },
        'more pending attributions than one search returns; the rest keep position_pending',
      );
    const updates = pending.map((p) => ({
      index: p.index,
      id: p.id,
      ...positionIn(byId.get(p.recommendation_id)?.items ?? [], p.item_id),
    }));
    this.count(await this.apply(updates), 'resolved_by_served');
  }

  private plan(a: Action, tag: RecommendationTag | undefined, list: ServedList | undefined): Planned {
    const { names } = this.deps;
    const e = a.event;
    const modelId = tag?.modelId ?? list?.model_id;
    const base = {
      recommendation_id: e.recommendation_id,
      user_id: e.user_id,
      item_id: e.item_id,
      event_id: e.event_id,
      event_type: e.event_type,
      timestamp: e.timestamp,
    };
    let doc: Record<string, unknown>;
    if (!modelId) {
      this.deps.metrics?.attributions.inc({ result: 'unattributed' });
      doc = { kind: 'unattributed', ...base };
    } else {
      this.deps.metrics?.attributions.inc({ result: 'attributed' });
      this.deps.metrics?.attributionPositions.inc({ outcome: list ? 'immediate' : 'pending' });
      // the id carries them; a list whose id had no room for them still names them on its served record
      const experimentId = tag?.experimentId ?? list?.experiment_id;
      const arm = tag?.arm ?? list?.arm;
      doc = {
        kind: attributionKind(e.event_type),
        ...base,
        model_id: modelId,
        ...(list?.endpoint ? { endpoint: list.endpoint } : {}),
        ...(experimentId ? { experiment_id: experimentId } : {}),
        ...(arm ? { arm } : {}),
        served_at: tag ? new Date(tag.servedAt).toISOString() : list!.timestamp,
        ...(list
          ? { ...positionIn(list.items, e.item_id), position_pending: false }
          : { position: null, position_pending: true }),
      };
    }
    return {
      doc: {
        index: names.recommendationsIndex(new Date(e.timestamp)),
        id: `attr-${e.event_id}`,
        op: 'create',
        origin: a.origin,
        ...(a.ledger ? { ledger: a.ledger } : {}),
        doc,
      },
      recommendationId: e.recommendation_id!,
      servedIndex: tag ? names.recommendationsIndex(new Date(tag.servedAt)) : '',
      itemId: e.item_id,
    };
  }

  /** Served records of unsigned ids are where the action's time allows: its bucket and those up to SERVED_MAX_AGE before. */
  private legacyIndices(e: StoredEvent): string[] {
    const t = Date.parse(e.timestamp);
    const out = new Set<string>();
    for (let back = 0; back <= SERVED_MAX_AGE_MS; back += DAY_MS)
      out.add(this.deps.names.recommendationsIndex(new Date(t - back)));
    return [...out];
  }

  private async settleEvents(
    pending: Planned[],
    replayable: Planned[],
    outcome: StoreOutcome,
  ): Promise<void> {
    const failed = new Set(outcome.failures.map((f) => f.origin));
    const duplicate = new Set(outcome.duplicateDocs);
    // a replay after a crash between write and double check: the stored copy may still be pending
    const replayed = replayable.filter((p) => duplicate.has(p.doc));
    const open = pending.filter((p) => !failed.has(p.doc.origin));
    const updates: PositionUpdate[] = replayed.map((p) => ({
      index: p.doc.index,
      id: p.doc.id,
      position: p.doc.doc['position'] as number | null,
      in_list: p.doc.doc['in_list'] as boolean,
    }));
    if (open.length) {
      const { servedLists } = this.deps;
      await servedLists.refresh([...new Set(open.map((p) => p.doc.index))]);
      const served = await servedLists.byRefs(
        open.filter((p) => p.servedIndex).map((p) => ({ index: p.servedIndex, id: p.recommendationId })),
      );
      for (const p of open) {
        const list = served.get(p.recommendationId);
        if (list) updates.push({ index: p.doc.index, id: p.doc.id, ...positionIn(list.items, p.itemId) });
      }
    }
    this.count(await this.apply(updates), 'resolved_by_events');
  }

  private async apply(updates: PositionUpdate[]): Promise<PositionOutcome | undefined> {
    if (!updates.length) return undefined;
    const out = await this.deps.servedLists.setPositions(updates);
    // overloaded: hold the batch (it is redelivered, and every step is idempotent)
    const retriable = out.failed.filter((f) => isRetriableItem(f.status, f.reason));
    if (retriable.length)
      throw new RetryError(`${retriable.length} position updates rejected retriably`, { retriable: true });
    if (out.failed.length)
      this.deps.log.warn(
        { failed: out.failed.slice(0, 5), count: out.failed.length },
        'position updates refused; those attributions keep position_pending',
      );
    return out;
  }

  /**
   * A position is worth holding the batch for while ES is overloaded or away (transient: thrown,
   * the batch is redelivered); any other failure must not dead-letter events already stored, so it
   * is logged and counted and the positions stay pending.
   */
  private async guard(fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      if (isTransient(e)) throw e;
      this.deps.log.warn(
        { err: (e as Error).message },
        'could not settle attribution positions; they stay pending',
      );
      this.deps.metrics?.attributionPositions.inc({ outcome: 'failed' });
    }
  }

  private count(
    out: PositionOutcome | undefined,
    outcome: 'resolved_by_events' | 'resolved_by_served',
  ): void {
    if (!out) return;
    this.deps.metrics?.attributionPositions.inc({ outcome }, out.updated);
    if (out.failed.length)
      this.deps.metrics?.attributionPositions.inc({ outcome: 'failed' }, out.failed.length);
  }
}
