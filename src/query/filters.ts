import type { estypes } from '@elastic/elasticsearch';
import type { FilterKind } from '../catalog/item-fields.ts';
import type { ProbeColumn } from '../model/norm-probe.ts';
import type { Filters } from './types.ts';

type Clause = estypes.QueryDslQueryContainer;

/** Request filters → ES filter clauses (all must hold; values of one keyword field are any-of). */
export function filterClauses(filters: Filters): Clause[] {
  const out: Clause[] = [];
  for (const [field, values] of Object.entries(filters.terms)) {
    if (!values.length) continue;
    out.push(values.length === 1 ? { term: { [field]: values[0]! } } : { terms: { [field]: values } });
  }
  for (const [field, value] of Object.entries(filters.booleans)) out.push({ term: { [field]: value } });
  for (const [field, r] of Object.entries(filters.ranges)) {
    const range: estypes.QueryDslNumberRangeQuery = {};
    if (r.gte !== undefined) range.gte = r.gte;
    if (r.lte !== undefined) range.lte = r.lte;
    out.push({ range: { [field]: range } });
  }
  return out;
}

/**
 * The request's filters evaluated in process on doc-value columns (the norm probe's), with the semantics of
 * filterClauses: every clause must hold; a keyword clause holds when any of the row's values is
 * one of the asked ones, a boolean clause when any value equals it, a range when any numeric value
 * lies inside it. null when the request has no filter; undefined when it filters a field the
 * columns do not carry as that kind (the caller cannot tell, and must not guess).
 */
export function filterPredicate(
  filters: Filters,
  columns: ReadonlyMap<string, ProbeColumn>,
): ((row: number) => boolean) | null | undefined {
  const checks: Array<(row: number) => boolean> = [];
  const column = (field: string, kind: FilterKind) => {
    const c = columns.get(field);
    return c?.kind === kind ? c.values : undefined;
  };
  for (const [field, asked] of Object.entries(filters.terms)) {
    if (!asked.length) continue;
    const values = column(field, 'keyword');
    if (!values) return undefined;
    const set = new Set<unknown>(asked);
    checks.push((row) => values[row]?.some((v) => set.has(v)) ?? false);
  }
  for (const [field, asked] of Object.entries(filters.booleans)) {
    const values = column(field, 'boolean');
    if (!values) return undefined;
    checks.push((row) => values[row]?.some((v) => v === asked) ?? false);
  }
  for (const [field, r] of Object.entries(filters.ranges)) {
    const values = column(field, 'range');
    if (!values) return undefined;
    const lo = r.gte ?? -Infinity;
    const hi = r.lte ?? Infinity;
    checks.push((row) => values[row]?.some((v) => typeof v === 'number' && v >= lo && v <= hi) ?? false);
  }
  if (!checks.length) return null;
  return checks.length === 1 ? checks[0]! : (row) => checks.every((c) => c(row));
}

/** `must_not ids` for the excluded items (undefined when there are none). */
export function excludeClause(ids: Iterable<string>): Clause | undefined {
  const values = [...ids];
  return values.length ? { ids: { values } } : undefined;
}

/** Stable key of a filter set (for caches): field order and value order do not matter. */
export function filtersKey(filters: Filters): string {
  const sortObj = <T>(o: Record<string, T>, f: (v: T) => unknown) =>
    Object.keys(o)
      .sort()
      .map((k) => [k, f(o[k]!)]);
  return JSON.stringify([
    sortObj(filters.terms, (v) => [...v].sort()),
    sortObj(filters.booleans, (v) => v),
    sortObj(filters.ranges, (v) => [v.gte ?? null, v.lte ?? null]),
  ]);
}

/** Adds `field ∈ values` unless the request already filters that field. */
export function withDefaultTerm(filters: Filters, field: string, value: string | undefined): Filters {
  if (value === undefined || filters.terms[field]) return filters;
  return { ...filters, terms: { ...filters.terms, [field]: [value] } };
}
