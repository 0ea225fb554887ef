import type { estypes } from '@elastic/elasticsearch';
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
