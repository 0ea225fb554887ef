// Attribution of actions (click, page_view, add_to_cart, purchase, …) to the served list whose
// recommendation_id they carry.
//
// Credit. An action earns its list credit only if (creditVerdict, ./credit.ts):
//   - its id verifies (the current secret or one of a rotation's previous ones);
//   - its user is the user the list was served to, or an anonymous id later merged into them (the
//     id is bound to that user: see src/events/recommendation-id.ts; a list served without a user
//     binds no one);
//   - its time lies after the serve time (less a clock-skew allowance) and within the window;
//   - ids that carry no user binding (r1, minted before binding; UUIDs) or verify only with a
//     previous secret need the served record itself: a retired key must not mint credit for a
//     model or experiment that never served. Ids of the current secret do not, so a click that
//     overtakes its served record is still credited at once;
//   - it is the first action of its kind for that (list, item): the credit record's _id is made of
//     list, item and kind, written with op create, so the first wins and every later action (a
//     replay with a new event id, a second click) is stored as a `repeat` record instead. A copy
//     of the same event finds the credit record holding its own event id and adds nothing.
// Anything else is stored apart as kind "unattributed" with its reason, counted by reason, outside
// every rate.
//
// Model, arm and serve time come from the signed id itself, so they cannot miss however early the
// action arrives. Ids minted before signed ids (UUIDs) are looked up by _id in the buckets their
// action's time allows.
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
//
// All of it runs per consumed batch (one mget of served lists, one of merges when a user differs,
// one of credit holders when a credit was taken): nothing is added to the request path.

import type { Names } from '../config/names.ts';
import { claimedServedAt, readRecommendationId, type ReadTag } from '../events/recommendation-id.ts';
import type { StoredEvent } from '../events/schema.ts';
import { SERVED_MAX_AGE_MS } from '../events/served-record.ts';
import type { Logger } from '../infra/logger.ts';
import type { IngestMetrics } from '../infra/metrics.ts';
import { isRetriableItem, isTransient, RetryError } from '../infra/retry.ts';
import type { SinkDoc, StoreOutcome } from '../repositories/bulk-store.ts';
import {
  attributionKind,
  creditId,
  creditVerdict,
  positionIn,
  servedUser,
  type CreditRules,
} from './credit.ts';
import type {
  DocRef,
  PositionOutcome,
  PositionUpdate,
  ServedListsRepository,
  ServedList,
} from '../repositories/served-lists.ts';

/**
 * The user each of some anonymous ids was merged into (the privacy module keeps the mapping).
 * Asked once per consumed batch, and only for lists whose user is not the acting user.
 */
export interface MergeLookup {
  mergedInto(anonIds: readonly string[]): Promise<Map<string, string>>;
}

/** No merges known: every list counts for its own user only. */
export const NO_MERGES: MergeLookup = { mergedInto: () => Promise.resolve(new Map()) };

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
  rules: CreditRules;
  merges?: MergeLookup;
  log: Logger;
  metrics?: Pick<IngestMetrics, 'attributions' | 'attributionPositions' | 'unattributed'>;
}

interface Planned {
  doc: SinkDoc;
  recommendationId: string;
  servedIndex: string;
  itemId: string;
  eventId: string;
  /** a credit record (else an unattributed one) */
  credit: boolean;
}

interface Verified {
  tag?: ReadTag;
  secretIndex?: number;
}

export class Attributor {
  constructor(private readonly deps: AttributionDeps) {}

  /** Whether an action is recent enough to be an attribution (an older one is history, and would create an index for its day). */
  static isRecent(event: StoredEvent, now = Date.now()): boolean {
    return event.recommendation_id !== undefined && Date.parse(event.timestamp) >= now - SERVED_MAX_AGE_MS;
  }

  /**
   * The attribution documents of one batch (one mget of the served lists), and what to do once
   * they are stored: record repeats of credits already taken, close the position race.
   */
  async attribute(
    actions: Action[],
  ): Promise<{ docs: SinkDoc[]; settle: (outcome: StoreOutcome) => Promise<void> }> {
    const { names } = this.deps;
    const verified = actions.map((a) => this.verify(a.event.recommendation_id!, [a.event.user_id]));
    const refs: DocRef[] = [];
    actions.forEach((a, i) => {
      const id = a.event.recommendation_id!;
      // unverified but shaped like ours: another user's list, whose record names its user
      const servedAt = verified[i]!.tag?.servedAt ?? claimedServedAt(id);
      if (servedAt !== undefined) refs.push({ index: names.recommendationsIndex(new Date(servedAt)), id });
      else if (LEGACY_ID.test(id)) for (const index of this.legacyIndices(a.event)) refs.push({ index, id });
    });
    const served = await this.deps.servedLists.byRefs(refs);
    const found = actions.map((a) => served.get(a.event.recommendation_id!));
    actions.forEach((a, i) => {
      const owner = found[i]?.user_id;
      if (verified[i]!.tag || owner === undefined || owner === a.event.user_id) return;
      verified[i] = this.verify(a.event.recommendation_id!, [owner]);
    });
    // A record alone vouches only for an unsigned (UUID) id: the topic is writable by any producer,
    // so a record naming the acting user must not make a signed id that did not verify count.
    const lists = actions.map((a, i) =>
      verified[i]!.tag || LEGACY_ID.test(a.event.recommendation_id!) ? found[i] : undefined,
    );
    const merged = await this.merges(actions, verified, lists);

    const docs: SinkDoc[] = [];
    const planned: Planned[] = [];
    actions.forEach((a, i) => {
      const p = this.plan(a, verified[i]!, lists[i], merged);
      planned.push(p);
      docs.push(p.doc);
    });
    return { docs, settle: (outcome) => this.guard(() => this.settleEvents(planned, outcome)) };
  }

  /** The first secret (current, then previous ones) under which the id verifies for one of these users. */
  private verify(id: string, users: string[]): Verified {
    const { secrets } = this.deps;
    for (let i = 0; i < secrets.length; i++) {
      const tag = readRecommendationId(id, secrets[i]!, users);
      if (tag) return { tag, secretIndex: i };
    }
    return {};
  }

  /** Merges of the served users that are not the acting user (one lookup per batch, none when all match). */
  private async merges(
    actions: Action[],
    verified: Verified[],
    lists: Array<ServedList | undefined>,
  ): Promise<Map<string, string>> {
    const anon = new Set<string>();
    actions.forEach((a, i) => {
      const owner = servedUser(verified[i]!.tag, lists[i]);
      if (owner !== undefined && owner !== a.event.user_id) anon.add(owner);
    });
    if (!anon.size) return new Map();
    return (this.deps.merges ?? NO_MERGES).mergedInto([...anon]);
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

  private plan(a: Action, v: Verified, list: ServedList | undefined, merged: Map<string, string>): Planned {
    const { names, metrics } = this.deps;
    const e = a.event;
    const { tag } = v;
    const verdict = creditVerdict(
      {
        user: e.user_id,
        at: Date.parse(e.timestamp),
        ...(tag ? { tag, secretIndex: v.secretIndex! } : {}),
        ...(list ? { list } : {}),
        mergedInto: (anon) => merged.get(anon),
      },
      this.deps.rules,
    );
    const base = {
      recommendation_id: e.recommendation_id,
      user_id: e.user_id,
      item_id: e.item_id,
      event_id: e.event_id,
      event_type: e.event_type,
      timestamp: e.timestamp,
    };
    if (!verdict.credit) {
      metrics?.attributions.inc({ result: 'unattributed' });
      metrics?.unattributed.inc({ reason: verdict.reason });
      return {
        doc: {
          index: names.recommendationsIndex(new Date(e.timestamp)),
          id: `attr-${e.event_id}`,
          op: 'create',
          origin: a.origin,
          ...(a.ledger ? { ledger: a.ledger } : {}),
          doc: { kind: 'unattributed', reason: verdict.reason, ...base },
        },
        recommendationId: e.recommendation_id!,
        servedIndex: '',
        itemId: e.item_id,
        eventId: e.event_id,
        credit: false,
      };
    }
    // a list whose id had no room for them still names them on its served record
    const modelId = tag?.modelId ?? list!.model_id;
    const experimentId = tag?.experimentId ?? list?.experiment_id;
    const arm = tag?.arm ?? list?.arm;
    const servedAt = tag ? new Date(tag.servedAt) : new Date(list!.timestamp);
    const kind = attributionKind(e.event_type);
    // the list's own index: every action on (list, item) of this kind meets the same _id there
    const servedIndex = names.recommendationsIndex(servedAt);
    return {
      doc: {
        index: servedIndex,
        id: creditId(e.recommendation_id!, e.item_id, kind),
        op: 'create',
        origin: a.origin,
        ...(a.ledger ? { ledger: a.ledger } : {}),
        doc: {
          kind,
          ...base,
          model_id: modelId,
          ...(list?.endpoint ? { endpoint: list.endpoint } : {}),
          ...(experimentId ? { experiment_id: experimentId } : {}),
          ...(arm ? { arm } : {}),
          served_at: servedAt.toISOString(),
          ...(list
            ? { ...positionIn(list.items, e.item_id), position_pending: false }
            : { position: null, position_pending: true }),
        },
      },
      recommendationId: e.recommendation_id!,
      servedIndex: tag ? servedIndex : '',
      itemId: e.item_id,
      eventId: e.event_id,
      credit: true,
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

  private async settleEvents(planned: Planned[], outcome: StoreOutcome): Promise<void> {
    const failed = new Set(outcome.failures.map((f) => f.origin));
    const duplicate = new Set(outcome.duplicateDocs);
    const credits = planned.filter((p) => p.credit && !failed.has(p.doc.origin));
    const taken = credits.filter((p) => duplicate.has(p.doc));
    for (const p of credits) {
      if (duplicate.has(p.doc)) continue;
      this.deps.metrics?.attributions.inc({ result: 'attributed' });
      this.deps.metrics?.attributionPositions.inc({
        outcome: p.doc.doc['position_pending'] === true ? 'pending' : 'immediate',
      });
    }
    await this.recordRepeats(taken);

    // a replay after a crash between write and double check: the stored copy may still be pending
    const replayed = taken.filter((p) => p.doc.doc['position_pending'] === false);
    const open = credits.filter((p) => p.doc.doc['position_pending'] === true);
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

  /**
   * Credits whose record was already there: a copy of the same event (the record holds its event
   * id) adds nothing; any other action is a repeat, recorded once under its own event id (op
   * create again, so a redelivered batch records no second repeat).
   */
  private async recordRepeats(taken: Planned[]): Promise<void> {
    if (!taken.length) return;
    const { servedLists } = this.deps;
    const holders = await servedLists.creditHolders(taken.map((p) => ({ index: p.doc.index, id: p.doc.id })));
    const repeats = taken
      .filter((p) => {
        const holder = holders.get(`${p.doc.index}\u0000${p.doc.id}`);
        return holder !== undefined && holder !== p.eventId;
      })
      .map((p) => {
        const {
          position_pending: _pending,
          position: _position,
          in_list: _inList,
          kind,
          ...rest
        } = p.doc.doc;
        return {
          index: p.doc.index,
          id: `repeat-${p.eventId}`,
          doc: { ...rest, kind: 'repeat', repeat_of: kind },
        };
      });
    const out = await servedLists.createOnce(repeats);
    if (out.created) this.deps.metrics?.attributions.inc({ result: 'repeat' }, out.created);
    const retriable = out.failed.filter((f) => isRetriableItem(f.status, f.reason));
    if (retriable.length)
      throw new RetryError(`${retriable.length} repeat records rejected retriably`, { retriable: true });
    if (out.failed.length)
      this.deps.log.warn(
        { failed: out.failed.slice(0, 5), count: out.failed.length },
        'repeat records refused',
      );
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
