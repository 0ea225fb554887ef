import { describe, expect, it } from 'vitest';
import { rateUserHistory, type RatingRules } from '../../src/events/rating.ts';

const DAY = 86_400_000;
const now = Date.parse('2026-06-30T00:00:00Z');
const at = (daysAgo: number) => new Date(now - daysAgo * DAY).toISOString();
const rules: RatingRules = { weights: { view: 1, buy: 5, rating: 0 }, windowDays: 10, halfLifeDays: 2 };

describe('rateUserHistory', () => {
  it('sums each item’s events as training rates them: weight, window, decay', () => {
    const { ratings } = rateUserHistory(
      [
        { item_id: 'a', event_type: 'view', timestamp: at(0) },
        { item_id: 'a', event_type: 'buy', timestamp: at(2) },
        { item_id: 'b', event_type: 'rating', weight: 4, timestamp: at(4) },
        { item_id: 'c', event_type: 'buy', timestamp: at(11) }, // outside the window
        { item_id: 'd', event_type: 'rating', weight: 0, timestamp: at(1) }, // rated 0: no rating
      ],
      rules,
      now,
      10,
    );
    expect([...ratings.keys()]).toEqual(['a', 'b']);
    expect(ratings.get('a')).toBeCloseTo(1 + 5 * 0.5, 12);
    expect(ratings.get('b')).toBeCloseTo(4 * 0.25, 12);
  });

  it('keeps the `seen` most recently touched items, newest first, rated or not', () => {
    const { recent } = rateUserHistory(
      [
        { item_id: 'a', event_type: 'view', timestamp: at(3) },
        { item_id: 'b', event_type: 'view', timestamp: at(1) },
        { item_id: 'c', event_type: 'buy', timestamp: at(30) },
        { item_id: 'a', event_type: 'view', timestamp: at(0.5) },
        { item_id: 'd', event_type: 'view', timestamp: at(2) },
      ],
      rules,
      now,
      3,
    );
    expect(recent).toEqual(['a', 'b', 'd']);
  });
});
