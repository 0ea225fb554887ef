import { describe, expect, it } from 'vitest';
import {
  attributionKind,
  creditId,
  creditVerdict,
  positionIn,
  servedUser,
  type CreditInput,
} from '../../src/ingest/credit.ts';
import type { ReadTag } from '../../src/events/recommendation-id.ts';

describe('attribution maths', () => {
  it('position is the 1-based place of the item in the served list, null and flagged when it was not there', () => {
    const items = ['i7', 'i3', 'i9'];
    expect(positionIn(items, 'i7')).toEqual({ position: 1, in_list: true });
    expect(positionIn(items, 'i9')).toEqual({ position: 3, in_list: true });
    expect(positionIn(items, 'i1')).toEqual({ position: null, in_list: false });
    expect(positionIn([], 'i1')).toEqual({ position: null, in_list: false });
  });

  it('clicks and page views are clicks, carts and purchases conversions, anything else an action', () => {
    expect(['click', 'page_view', 'add_to_cart', 'purchase', 'like', 'rating'].map(attributionKind)).toEqual([
      'click',
      'click',
      'conversion',
      'conversion',
      'action',
      'action',
    ]);
  });
});

const HOUR = 3_600_000;
const rules = { windowMs: 24 * HOUR, skewMs: 60_000 };
const servedAt = Date.parse('2026-12-07T12:00:00.000Z');
const bound: ReadTag = { modelId: 'm1', servedAt, userId: 'alice', binding: 'user' };
const unbound: ReadTag = { modelId: 'm1', servedAt, binding: 'none' };
const legacy: ReadTag = { modelId: 'm1', servedAt, binding: 'legacy' };
const list = { timestamp: new Date(servedAt).toISOString(), user_id: 'alice' };
const ok = { credit: true };
const no = (reason: string) => ({ credit: false, reason });

function verdict(a: Partial<CreditInput>) {
  return creditVerdict({ user: 'alice', at: servedAt + 1000, ...a }, rules);
}

describe('credit verdict', () => {
  it('credits the user the list was served to, after the serve time and within the window', () => {
    expect(verdict({ tag: bound, secretIndex: 0 })).toEqual(ok);
    // clicks may overtake their list: a current-secret id needs no served record
    expect(verdict({ tag: bound, secretIndex: 0, list })).toEqual(ok);
  });

  it('refuses an id sent by another user, unless that user is what the anonymous id was merged into', () => {
    expect(verdict({ user: 'mallory', tag: bound, secretIndex: 0 })).toEqual(no('other_user'));
    const anon: ReadTag = { ...bound, userId: 'anon-7' };
    expect(verdict({ tag: anon, secretIndex: 0 })).toEqual(no('other_user'));
    expect(
      verdict({ tag: anon, secretIndex: 0, mergedInto: (a) => (a === 'anon-7' ? 'alice' : undefined) }),
    ).toEqual(ok);
    expect(verdict({ tag: anon, secretIndex: 0, mergedInto: () => 'bob' })).toEqual(no('other_user'));
  });

  it('takes the user from the served record when the id does not bind one (legacy ids), never when it binds nobody', () => {
    expect(verdict({ tag: legacy, secretIndex: 0, list })).toEqual(ok);
    expect(verdict({ user: 'mallory', tag: legacy, secretIndex: 0, list })).toEqual(no('other_user'));
    expect(
      verdict({ user: 'mallory', tag: legacy, secretIndex: 0, list: { ...list, user_id: undefined } }),
    ).toEqual(ok);
    // a list served without a user: whoever acts on it (a record naming a user does not change that)
    expect(verdict({ user: 'mallory', tag: unbound, secretIndex: 0, list })).toEqual(ok);
    expect(servedUser(bound, { user_id: 'bob' })).toBe('alice');
    expect(servedUser(unbound, { user_id: 'bob' })).toBeUndefined();
    expect(servedUser(legacy, { user_id: 'bob' })).toBe('bob');
    expect(servedUser(undefined, undefined)).toBeUndefined();
  });

  it('refuses actions stamped before the serve time (beyond the skew allowance) or after the window', () => {
    const at = (ms: number) => verdict({ tag: bound, secretIndex: 0, at: ms });
    expect(at(servedAt - 3 * HOUR)).toEqual(no('before_serve'));
    expect(at(servedAt - rules.skewMs - 1)).toEqual(no('before_serve'));
    expect(at(servedAt - rules.skewMs)).toEqual(ok);
    expect(at(servedAt)).toEqual(ok);
    expect(at(servedAt + rules.windowMs)).toEqual(ok);
    expect(at(servedAt + rules.windowMs + 1)).toEqual(no('outside_window'));
    // without a tag, the served record's time is the serve time
    const t = (ms: number) => verdict({ list, at: ms });
    expect(t(servedAt - rules.skewMs - 1)).toEqual(no('before_serve'));
    expect(t(servedAt + rules.windowMs + 1)).toEqual(no('outside_window'));
    expect(t(servedAt + 5)).toEqual(ok);
  });

  it('a previous secret, a legacy id or an unsigned id credits only with its served record', () => {
    expect(verdict({ tag: bound, secretIndex: 1 })).toEqual(no('list_not_found'));
    expect(verdict({ tag: bound, secretIndex: 1, list })).toEqual(ok);
    expect(verdict({ tag: legacy, secretIndex: 0 })).toEqual(no('list_not_found'));
    expect(verdict({ list })).toEqual(ok);
    expect(verdict({})).toEqual(no('invalid_id'));
    expect(verdict({ user: 'mallory', list })).toEqual(no('other_user'));
  });

  it('one credit id per (list, item, kind), fixed length and distinct for each part', () => {
    const id = creditId('r2~m1~~~x', 'i1', 'click');
    expect(id).toBe(creditId('r2~m1~~~x', 'i1', 'click'));
    expect(id).toMatch(/^credit-[A-Za-z0-9_-]{43}$/);
    const others = [
      creditId('r2~m1~~~y', 'i1', 'click'),
      creditId('r2~m1~~~x', 'i2', 'click'),
      creditId('r2~m1~~~x', 'i1', 'conversion'),
      // the separator keeps the boundary: ('ab','c') is not ('a','bc')
      creditId('r2~m1~~~xi', '1', 'click'),
    ];
    expect(new Set([id, ...others]).size).toBe(5);
  });
});
