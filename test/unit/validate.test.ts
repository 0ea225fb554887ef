import { describe, expect, it } from 'vitest';
import { DEFAULT_EVENT_WEIGHTS } from '../../src/config/index.ts';
import { acceptEvents } from '../../src/ingest/accept.ts';
import { checkEvent } from '../../src/events/validate.ts';
import { eventWeight } from '../../src/events/rating.ts';

const rules = { weights: DEFAULT_EVENT_WEIGHTS, allowUnknownTypes: false };
const ok = {
  event_id: 'e1',
  user_id: 'u1',
  item_id: 'i1',
  event_type: 'purchase',
  timestamp: '2026-11-01T10:00:00+01:00',
};
const NOW = Date.parse('2026-11-20T00:00:00Z');

describe('event validation', () => {
  it('normalises timestamps (ISO with offset or epoch ms) to UTC ISO', () => {
    const a = checkEvent(ok, rules, { now: NOW });
    expect(a.ok && a.event.timestamp).toBe('2026-11-01T09:00:00.000Z');
    const b = checkEvent({ ...ok, timestamp: Date.parse('2026-11-01T09:00:00Z') }, rules, { now: NOW });
    expect(b.ok && b.event.timestamp).toBe('2026-11-01T09:00:00.000Z');
  });

  it.each([
    [{ ...ok, user_id: undefined }, 'user_id', /required/],
    [{ ...ok, user_id: '' }, 'user_id', /fewer than 1/],
    [{ ...ok, item_id: 42 }, 'item_id', /string/],
    [{ ...ok, timestamp: 'last tuesday' }, 'timestamp', /ISO 8601/],
    [{ ...ok, timestamp: '1969-12-31T23:59:59Z' }, 'timestamp', /before 1970-01-01/],
    [{ ...ok, timestamp: '2027-01-01T00:00:00Z' }, 'timestamp', /future/],
    [{ ...ok, event_type: 'teleport' }, 'event_type', /unknown event type/],
    [{ ...ok, weight: -1 }, 'weight', /must be >= 0/],
    [{ ...ok, event_type: 'rating' }, 'weight', /rating value/],
    [{ ...ok, colour: 'red' }, 'colour', /not a known field/],
    [{ ...ok, context: 'mobile' }, 'context', /object/],
  ])('rejects %j naming %s', (input, field, message) => {
    const r = checkEvent(input, rules, { now: NOW });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.field).toBe(field);
      expect(r.error.message).toMatch(message);
    }
  });

  it('accepts history from any year since the configured earliest date', () => {
    const r = checkEvent({ ...ok, timestamp: '1997-09-20T12:00:00Z' }, rules, { now: NOW });
    expect(r.ok && r.event.timestamp).toBe('1997-09-20T12:00:00.000Z');
    expect(checkEvent({ ...ok, timestamp: 0 }, rules, { now: NOW }).ok).toBe(true);
    const stricter = checkEvent(
      { ...ok, timestamp: '1997-09-20T12:00:00Z' },
      { ...rules, earliestMs: Date.parse('2000-01-01T00:00:00Z') },
      { now: NOW },
    );
    expect(!stricter.ok && stricter.error.message).toMatch(/before 2000-01-01/);
  });

  it('accepts unknown types only when configured', () => {
    expect(
      checkEvent({ ...ok, event_type: 'share' }, { ...rules, allowUnknownTypes: true }, { now: NOW }).ok,
    ).toBe(true);
  });

  it('requires event_id on the topic but assigns one at the API edge', () => {
    const { event_id: _e, ...noId } = ok;
    expect(checkEvent(noId, rules, { now: NOW }).ok).toBe(false);
    const r = checkEvent(noId, rules, { now: NOW, assignId: true });
    expect(r.ok && r.event.event_id).toMatch(/^h-[0-9a-f]{40}$/);
    // the same event sent again (a client's retry) gets the same id; a different one does not
    const again = checkEvent({ ...noId }, rules, { now: NOW + 5000, assignId: true });
    expect(again.ok && again.event.event_id).toBe(r.ok && r.event.event_id);
    const other = checkEvent({ ...noId, item_id: 'other' }, rules, { now: NOW, assignId: true });
    expect(other.ok && other.event.event_id).not.toBe(r.ok && r.event.event_id);
    const keyOrder = Object.fromEntries(Object.entries(noId).reverse());
    expect(checkEvent(keyOrder, rules, { now: NOW, assignId: true })).toEqual(r);
  });

  it('splits a batch into accepted events and per-index errors', () => {
    const r = acceptEvents([ok, { ...ok, user_id: 5 }, { ...ok, event_id: 'e3' }, null], rules, NOW);
    expect(r.accepted.map((e) => e.event_id)).toEqual(['e1', 'e3']);
    expect(r.acceptedIndex).toEqual([0, 2]);
    expect(r.errors.map((e) => [e.index, e.field])).toEqual([
      [1, 'user_id'],
      [3, ''],
    ]);
  });

  it('weights: explicit weight wins, else the type weight', () => {
    expect(eventWeight({ event_type: 'purchase' }, DEFAULT_EVENT_WEIGHTS)).toBe(5);
    expect(eventWeight({ event_type: 'rating', weight: 4 }, DEFAULT_EVENT_WEIGHTS)).toBe(4);
    expect(eventWeight({ event_type: 'view', weight: 0 }, DEFAULT_EVENT_WEIGHTS)).toBe(0);
  });
});
