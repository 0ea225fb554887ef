import { describe, expect, it } from 'vitest';
import { attributionKind, positionIn } from '../../src/ingest/attribution.ts';

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
