import type { RecommendationsRepository } from '../repositories/recommendations.ts';
import type { KafkaMessage } from 'kafkajs';
import type { Names } from '../config/names.ts';
import type { SinkDoc } from '../repositories/bulk-store.ts';
import type { BatchTransform, Rejection } from './sink.ts';
import { checkEvent, type EventRules } from '../events/validate.ts';
import type { StoredEvent } from '../events/schema.ts';
import { checkServedRecord, SERVED_MAX_AGE_MS } from '../events/served-record.ts';
import { parseJsonBounded, type JsonParse } from '../infra/json.ts';

function parseJson(message: KafkaMessage): JsonParse {
  return parseJsonBounded(message.value?.toString('utf8'));
}

/** Which attribution kind an action on a served list counts as. */
export function attributionKind(eventType: string): 'click' | 'conversion' | 'action' {
  if (eventType === 'click' || eventType === 'page_view') return 'click';
  if (eventType === 'add_to_cart' || eventType === 'purchase') return 'conversion';
  return 'action';
}

/**
 * events topic → the event-store bucket of its time (events-YYYY.MM by default), `_id` = event_id
 * with op create and a claim in the event-id ledger, so a replayed event is a no-op and a copy of an
 * event_id dated into another bucket is a duplicate too. Events that carry a recommendation_id also become click/conversion records
 * in recommendations-*, tagged with the model that served the list.
 */
export function eventsTransform(recommendations: RecommendationsRepository, names: Names, rules: EventRules & { dedupLedger?: boolean }, topic: string): BatchTransform {
  const claim = rules.dedupLedger ?? true;
  return async (messages, partition) => {
    const docs: SinkDoc[] = [];
    const rejected: Rejection[] = [];
    const attributed: Array<{ origin: number; event: StoredEvent }> = [];
    const ingestedAt = new Date().toISOString();
    messages.forEach((m, origin) => {
      const parsed = parseJson(m);
      if (!parsed.ok) return void rejected.push({ origin, reason: parsed.reason === 'too_deep' ? 'too_deep' : 'invalid_json', message: parsed.error });
      const check = checkEvent(parsed.value, rules);
      if (!check.ok) return void rejected.push({ origin, reason: 'schema', field: check.error.field, message: `${check.error.field} ${check.error.message}` });
      const e = check.event;
      const bucket = names.eventsIndex(new Date(e.timestamp));
      docs.push({
        index: bucket,
        id: e.event_id,
        op: 'create',
        origin,
        ...(claim ? { ledger: { id: e.event_id, bucket } } : {}),
        doc: { ...e, ingested_at: ingestedAt, source: { topic, partition, offset: Number(m.offset) } },
      });
      // an action on a served list is as recent as the lists the sink still accepts: an older one
      // (an event from 2001 with a recommendation_id) is history, not an attribution, and would
      // create a recommendations index for its day
      if (e.recommendation_id && Date.parse(e.timestamp) >= Date.now() - SERVED_MAX_AGE_MS) attributed.push({ origin, event: e });
    });
    if (attributed.length) {
      const models = await recommendations.servedBy(attributed.map((a) => a.event.recommendation_id!));
      for (const { origin, event } of attributed) {
        docs.push({
          index: names.recommendationsIndex(new Date(event.timestamp)),
          id: `attr-${event.event_id}`,
          op: 'create',
          origin,
          // written with its event only: a copy of the event dated into another bucket adds no second click
          ...(claim ? { ledger: { id: event.event_id, bucket: names.eventsIndex(new Date(event.timestamp)) } } : {}),
          doc: {
            kind: attributionKind(event.event_type),
            recommendation_id: event.recommendation_id,
            model_id: models.get(event.recommendation_id!)?.model_id ?? 'unknown',
            endpoint: models.get(event.recommendation_id!)?.endpoint,
            // the list's experiment and arm, so GET /v1/experiments/<id> and the arm panel count the action
            experiment_id: models.get(event.recommendation_id!)?.experiment_id,
            arm: models.get(event.recommendation_id!)?.arm,
            user_id: event.user_id,
            item_id: event.item_id,
            event_id: event.event_id,
            event_type: event.event_type,
            timestamp: event.timestamp,
          },
        });
      }
    }
    return { docs, rejected };
  };
}

/** recommendations topic (written by our own API) → recommendations-*, `_id` = recommendation_id. */
export function servedTransform(names: Names): BatchTransform {
  return async (messages) => {
    const docs: SinkDoc[] = [];
    const rejected: Rejection[] = [];
    const now = Date.now();
    messages.forEach((m, origin) => {
      const parsed = parseJson(m);
      if (!parsed.ok) return void rejected.push({ origin, reason: parsed.reason === 'too_deep' ? 'too_deep' : 'invalid_json', message: parsed.error });
      const check = checkServedRecord(parsed.value, now);
      if (!check.ok) return void rejected.push({ origin, reason: 'schema', field: check.field, message: `${check.field} ${check.message}` });
      const rec = check.record;
      docs.push({ index: names.recommendationsIndex(new Date(rec.timestamp)), id: rec.recommendation_id, op: 'create', origin, doc: { ...rec, kind: 'served' } });
    });
    return { docs, rejected };
  };
}
