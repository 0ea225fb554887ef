import type { KafkaMessage } from 'kafkajs';
import type { Names } from '../config/names.ts';
import type { SinkDoc } from '../repositories/bulk-store.ts';
import type { BatchTransform, HoldPolicy, Rejection } from './sink.ts';
import { withRetry } from '../infra/retry.ts';
import { checkEvent, type EventRules } from '../events/validate.ts';
import { checkServedRecord, type ServedRecord } from '../events/served-record.ts';
import { Attributor, type Action } from './attribution.ts';
import { eventWrite } from './event-write.ts';
import { MAX_JSON_BYTES, parseJsonBounded, type JsonParse } from '../infra/json.ts';
import type { TombstonesRepository } from '../repositories/tombstones.ts';
import type { StoredEvent } from '../events/schema.ts';

/** What a transform asks of the tombstones: one lookup per consumed chunk. */
export type TombstoneLookup = Pick<TombstonesRepository, 'dropped'>;

/**
 * The positions a tombstone covers, read like the write waits: while the cluster is unavailable the
 * batch is held (and retried) instead of failing the chunk.
 */
function droppedOf(
  tombstones: TombstoneLookup | undefined,
  messages: Parameters<TombstoneLookup['dropped']>[0],
  hold: HoldPolicy | undefined,
): Promise<Set<number>> {
  if (!tombstones || !messages.length) return Promise.resolve(new Set());
  return withRetry(() => tombstones.dropped(messages), {
    initialMs: 200,
    maxMs: 10_000,
    ...hold,
    label: 'tombstone lookup',
  });
}

function parseJson(message: KafkaMessage): JsonParse {
  // the size is refused on the buffer, before it becomes a string
  if (message.value && message.value.length > MAX_JSON_BYTES)
    return { ok: false, reason: 'too_large', error: `larger than ${MAX_JSON_BYTES} bytes` };
  return parseJsonBounded(message.value?.toString('utf8'));
}

/**
 * events topic → the event-store bucket of its time (events-YYYY.MM by default), `_id` = event_id
 * with op create and a claim in the event-id ledger, so a replayed event is a no-op and a copy of an
 * event_id dated into another bucket is a duplicate too. Events that carry a recommendation_id also
 * become click/conversion records in recommendations-*, credited to the model (and arm) the signed
 * id names, with the item's position in the list (see ./attribution.ts).
 */
export function eventsTransform(
  attributor: Attributor,
  names: Names,
  rules: EventRules & { dedupLedger?: boolean },
  topic: string,
  /** forgotten users' and removed items' events still in the topic are dropped (privacy) */
  tombstones?: TombstoneLookup,
): BatchTransform {
  const claim = rules.dedupLedger ?? true;
  return async (messages, partition, hold) => {
    const docs: SinkDoc[] = [];
    const rejected: Rejection[] = [];
    const actions: Action[] = [];
    const ingestedAt = new Date().toISOString();
    const now = Date.now();
    const valid: Array<{ origin: number; event: StoredEvent }> = [];
    messages.forEach((m, origin) => {
      const parsed = parseJson(m);
      if (!parsed.ok)
        return void rejected.push({
          origin,
          reason:
            parsed.reason === 'too_deep' || parsed.reason === 'too_large' ? parsed.reason : 'invalid_json',
          message: parsed.error,
        });
      const check = checkEvent(parsed.value, rules);
      if (!check.ok)
        return void rejected.push({
          origin,
          reason: 'schema',
          field: check.error.field,
          message: `${check.error.field} ${check.error.message}`,
        });
      valid.push({ origin, event: check.event });
    });
    const dropped = await droppedOf(
      tombstones,
      valid.map((v) => ({
        userId: v.event.user_id,
        itemId: v.event.item_id,
        producedMs: Number(messages[v.origin]!.timestamp),
      })),
      hold,
    );
    valid.forEach(({ origin, event: e }, i) => {
      if (dropped.has(i)) return;
      const m = messages[origin]!;
      const write = eventWrite(
        names,
        {
          id: e.event_id,
          timestamp: e.timestamp,
          doc: { ...e, ingested_at: ingestedAt, source: { topic, partition, offset: Number(m.offset) } },
        },
        origin,
        claim,
      );
      const ledger = write.ledger;
      docs.push(write);
      // written with its event only: a copy of the event dated into another bucket adds no second click
      if (Attributor.isRecent(e, now)) actions.push({ origin, event: e, ...(ledger ? { ledger } : {}) });
    });
    if (!actions.length) return { docs, rejected };
    const attribution = await attributor.attribute(actions);
    return { docs: [...docs, ...attribution.docs], rejected, settle: attribution.settle };
  };
}

/**
 * recommendations topic (written by our own API) → recommendations-*, `_id` = recommendation_id;
 * once stored, the attributions that arrived first and wait for their position get it.
 */
export function servedTransform(
  names: Names,
  attributor: Attributor,
  /** a forgotten user's served lists still in the topic are dropped (privacy) */
  tombstones?: TombstoneLookup,
): BatchTransform {
  return async (messages, _partition, hold) => {
    const docs: SinkDoc[] = [];
    const rejected: Rejection[] = [];
    const lists: ServedRecord[] = [];
    const now = Date.now();
    const valid: Array<{ origin: number; rec: ServedRecord }> = [];
    messages.forEach((m, origin) => {
      const parsed = parseJson(m);
      if (!parsed.ok)
        return void rejected.push({
          origin,
          reason:
            parsed.reason === 'too_deep' || parsed.reason === 'too_large' ? parsed.reason : 'invalid_json',
          message: parsed.error,
        });
      const check = checkServedRecord(parsed.value, now);
      if (!check.ok)
        return void rejected.push({
          origin,
          reason: 'schema',
          field: check.field,
          message: `${check.field} ${check.message}`,
        });
      valid.push({ origin, rec: check.record });
    });
    const dropped = await droppedOf(
      tombstones,
      valid.map((v) => ({
        ...(v.rec.user_id ? { userId: v.rec.user_id } : {}),
        producedMs: Number(messages[v.origin]!.timestamp),
      })),
      hold,
    );
    valid.forEach(({ origin, rec }, i) => {
      if (dropped.has(i)) return;
      lists.push(rec);
      // the positions it showed (1..n): terms(position) then counts a list in the denominator of CTR@p for every p it had
      const position = rec.items.map((_, i) => i + 1);
      docs.push({
        index: names.recommendationsIndex(new Date(rec.timestamp)),
        id: rec.recommendation_id,
        op: 'create',
        origin,
        doc: { ...rec, kind: 'served', position },
      });
    });
    return {
      docs,
      rejected,
      settle: async (outcome) => {
        const refused = new Set(outcome.failures.map((f) => f.origin));
        await attributor.settleServed(lists.filter((_, i) => !refused.has(docs[i]!.origin)));
      },
    };
  };
}
