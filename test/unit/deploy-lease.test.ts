import { describe, expect, it } from 'vitest';
import { leaseLapsed } from '../../src/model/lifecycle.ts';

const T = Date.parse('2026-12-07T12:00:00.000Z');
const at = (ms: number) => new Date(ms).toISOString();

describe('deploy lease', () => {
  it('lapses once its until has passed, not before', () => {
    const m = { created_at: at(T - 3_600_000), deploy_lease: { owner: 'h:1:a', until: at(T) } };
    expect(leaseLapsed(m, 60_000, T - 1)).toBe(false);
    expect(leaseLapsed(m, 60_000, T)).toBe(true);
    expect(leaseLapsed(m, 60_000, T + 1)).toBe(true);
  });

  it('a deploying model without a lease (written before leases) counts one lease length from its last record', () => {
    const m = { created_at: at(T - 3_600_000), finished_at: at(T) };
    expect(leaseLapsed(m, 60_000, T + 59_999)).toBe(false);
    expect(leaseLapsed(m, 60_000, T + 60_000)).toBe(true);
    expect(leaseLapsed({ created_at: at(T) }, 60_000, T + 1)).toBe(false);
    expect(leaseLapsed({ created_at: at(T), deploy_lease: null }, 60_000, T + 60_001)).toBe(true);
  });

  it('an unreadable time counts as lapsed rather than holding a model forever', () => {
    expect(leaseLapsed({ created_at: 'garbage' }, 60_000, T)).toBe(true);
  });
});
