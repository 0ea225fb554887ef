// The one shape of an event's write, for ingest, the bucket migration and anything that stores
// events as ingest does: into the bucket of its time, created once (a replay is a no-op), with its
// claim in the event-id ledger so a copy dated into another bucket is a duplicate too.
import type { Names } from '../config/names.ts';
import type { SinkDoc } from '../repositories/bulk-store.ts';

export function eventWrite(
  names: Names,
  event: { id: string; timestamp: string; doc: Record<string, unknown> },
  origin: number,
  claim = true,
): SinkDoc {
  const bucket = names.eventsIndex(new Date(event.timestamp));
  return {
    index: bucket,
    id: event.id,
    op: 'create',
    origin,
    doc: event.doc,
    ...(claim ? { ledger: { id: event.id, bucket } } : {}),
  };
}
