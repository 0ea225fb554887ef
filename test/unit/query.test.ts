import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors/index.ts';
import { toHttpError } from '../../src/api/http-errors.ts';
import { checkFilterFields, createParamsParser } from '../../src/query/params.ts';
import { filterClauses, filtersKey, withDefaultTerm } from '../../src/query/filters.ts';
import {
  ANN_OVERSAMPLE,
  annAnsweredExactly,
  decodeScore,
  hybridSearchBodies,
  numCandidates,
  popularSearchBody,
  scaleQuery,
  tunedNumCandidates,
  vectorSearchBody,
} from '../../src/query/search-body.ts';
import { competitionRanks, reciprocalRankFusion } from '../../src/query/fusion.ts';
import { DEFAULT_QUERY_OPTIONS, type Filters, type QueryOptions } from '../../src/query/types.ts';

const opts: QueryOptions = {
  ...DEFAULT_QUERY_OPTIONS,
  filterFields: { keyword: ['category', 'tags', 'brand', 'color'], boolean: ['available'], range: ['price'] },
};
const user = createParamsParser('user', opts);
const similar = createParamsParser('similar', opts);
const noFilters: Filters = { terms: {}, booleans: {}, ranges: {} };

function fails(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return e as ValidationError;
  }
  throw new Error('expected a ValidationError');
}

describe('request parameters', () => {
  it('applies defaults', () => {
    const r = user.parse({}, 'query');
    expect(r).toMatchObject({
      k: 10,
      mode: 'ann',
      excludeSeen: true,
      exclude: [],
      filters: noFilters,
      filterParams: {},
    });
    expect(r.q).toBeUndefined();
    expect(similar.parse(undefined, 'query').excludeSeen).toBe(false);
  });

  it('coerces GET query strings: single values become lists, numbers and booleans parse', () => {
    const r = user.parse(
      {
        k: '25',
        mode: 'lsh',
        category: 'shoes',
        tags: ['red', 'blue', 'red'],
        available: 'true',
        price_min: '10',
        price_max: '99.5',
        exclude_seen: 'false',
        exclude: 'i1',
        q: ' trail runner ',
      },
      'query',
    );
    expect(r.k).toBe(25);
    expect(r.mode).toBe('lsh');
    expect(r.q).toBe('trail runner');
    expect(r.excludeSeen).toBe(false);
    expect(r.exclude).toEqual(['i1']);
    expect(r.filters).toEqual({
      terms: { category: ['shoes'], tags: ['red', 'blue'] },
      booleans: { available: true },
      ranges: { price: { gte: 10, lte: 99.5 } },
    });
    expect(r.filterParams).toEqual({
      category: ['shoes'],
      tags: ['red', 'blue'],
      available: true,
      price_min: 10,
      price_max: 99.5,
    });
  });

  it('takes typed POST bodies (string or array for keyword fields) and refuses wrong types', () => {
    const r = user.parse({ k: 5, category: 'shoes', brand: ['a', 'b'], price_max: 20 }, 'body');
    expect(r.filters.terms).toEqual({ category: ['shoes'], brand: ['a', 'b'] });
    expect(r.filters.ranges).toEqual({ price: { lte: 20 } });
    expect(fails(() => user.parse({ k: '5' }, 'body')).field).toBe('k');
    expect(fails(() => user.parse({ available: 'yes' }, 'body')).field).toBe('available');
    const e = fails(() => user.parse({ category: 7 }, 'body'));
    expect(e.field).toBe('category');
    expect(e.message).toMatch(/string or an array of strings/);
    expect(fails(() => user.parse([], 'body')).code).toBe('invalid_body');
  });

  it.each([
    [{ k: '10000' }, 'k', 'invalid_parameter'],
    [{ k: '0' }, 'k', 'invalid_parameter'],
    [{ k: '2.5' }, 'k', 'invalid_parameter'],
    [{ k: 'ten' }, 'k', 'invalid_parameter'],
    [{ mode: 'fast' }, 'mode', 'invalid_parameter'],
    [{ price_min: 'cheap' }, 'price_min', 'invalid_parameter'],
    [{ available: 'maybe' }, 'available', 'invalid_parameter'],
    [{ q: '' }, 'q', 'invalid_parameter'],
    [{ foo: 'bar' }, 'foo', 'unknown_parameter'],
    [{ query: '{"match_all":{}}' }, 'query', 'unknown_parameter'],
    [{ description: 'x' }, 'description', 'filter_not_allowed'],
    [{ popularity_min: '3' }, 'popularity_min', 'filter_not_allowed'],
    [{ model_id: 'm1' }, 'model_id', 'filter_not_allowed'],
  ])('rejects %j naming %s', (params, field, code) => {
    const e = fails(() => user.parse(params, 'query'));
    expect(e.field).toBe(field);
    expect(e.code).toBe(code);
    expect(toHttpError(e).status).toBe(400);
  });

  it('rejects blank q, inverted ranges, exclude_seen on the item endpoint', () => {
    expect(fails(() => user.parse({ q: '   ' }, 'query')).field).toBe('q');
    expect(fails(() => user.parse({ price_min: '50', price_max: '10' }, 'query')).field).toBe('price_min');
    expect(fails(() => similar.parse({ exclude_seen: 'true' }, 'query')).field).toBe('exclude_seen');
    expect(fails(() => similar.parse({ q: 'x' }, 'query')).field).toBe('q');
  });

  it('validates the whitelist itself', () => {
    expect(() => checkFilterFields({ keyword: ['k'], boolean: [], range: [] })).toThrow(/clashes/);
    expect(() => checkFilterFields({ keyword: ['factor'], boolean: [], range: [] })).toThrow(/internal/);
    expect(() => checkFilterFields({ keyword: ['a b'], boolean: [], range: [] })).toThrow(/valid/);
    expect(() => checkFilterFields({ keyword: ['price_min'], boolean: [], range: ['price'] })).toThrow(
      /twice/,
    );
  });
});

describe('filters → ES clauses', () => {
  it('term for one value, terms (any-of) for several, term for booleans, inclusive ranges', () => {
    const f: Filters = {
      terms: { category: ['shoes'], tags: ['a', 'b'] },
      booleans: { available: false },
      ranges: { price: { gte: 1 }, weight: { lte: 2 } },
    };
    expect(filterClauses(f)).toEqual([
      { term: { category: 'shoes' } },
      { terms: { tags: ['a', 'b'] } },
      { term: { available: false } },
      { range: { price: { gte: 1 } } },
      { range: { weight: { lte: 2 } } },
    ]);
    expect(filterClauses(noFilters)).toEqual([]);
  });

  it('cache key ignores order', () => {
    const a: Filters = { terms: { tags: ['x', 'y'], category: ['c'] }, booleans: {}, ranges: {} };
    const b: Filters = { terms: { category: ['c'], tags: ['y', 'x'] }, booleans: {}, ranges: {} };
    expect(filtersKey(a)).toBe(filtersKey(b));
    expect(filtersKey(a)).not.toBe(filtersKey({ ...a, booleans: { available: true } }));
  });

  it('adds a default term only when the field is not filtered yet', () => {
    expect(withDefaultTerm(noFilters, 'category', 'c').terms).toEqual({ category: ['c'] });
    const mine: Filters = { ...noFilters, terms: { category: ['d'] } };
    expect(withDefaultTerm(mine, 'category', 'c')).toBe(mine);
    expect(withDefaultTerm(noFilters, 'category', undefined)).toBe(noFilters);
  });
});

describe('mode → knn body', () => {
  const vector = [0.5, -1, 2];
  const filters: Filters = { terms: { category: ['shoes'] }, booleans: {}, ranges: {} };

  it('exact: flat inner-product field, num_candidates = k, filters + exclusions in knn.filter (items without a factor have no vector to match)', () => {
    const b = vectorSearchBody(
      { space: 'mips', mode: 'exact', k: 7, vector, filters, exclude: ['i1', 'i2'] },
      opts,
    );
    expect(b.size).toBe(7);
    expect(b.query).toBeUndefined();
    expect(b.knn).toEqual({
      field: 'factor_exact',
      query_vector: vector,
      k: 7,
      num_candidates: 7,
      filter: [{ term: { category: 'shoes' } }, { bool: { must_not: [{ ids: { values: ['i1', 'i2'] } }] } }],
    });
    expect(JSON.stringify(b._source)).not.toMatch(/factor/);
  });

  it('ann: HNSW field, num_candidates = max(10k, 100) capped at 10,000', () => {
    const b = vectorSearchBody(
      { space: 'mips', mode: 'ann', k: 10, vector, filters: noFilters, exclude: [] },
      opts,
    );
    expect(b.knn).toMatchObject({ field: 'factor', k: 10, num_candidates: 100 });
    // nothing to filter: no filter clause at all (a match-all filter still costs a walk per segment)
    expect((b.knn as { filter?: unknown }).filter).toBeUndefined();
    expect(numCandidates('ann', 50, opts)).toBe(500);
    expect(numCandidates('ann', 500, { ...opts, annCandidatesFactor: 100 })).toBe(10_000);
    expect(numCandidates('exact', 50, opts)).toBe(50);
    expect(numCandidates('lsh', 50, opts)).toBe(50);
  });

  it('ann: re-scores k · oversample quantised hits with the float vectors; num_candidates never below that', () => {
    const b = vectorSearchBody(
      { space: 'mips', mode: 'ann', k: 200, vector, filters: noFilters, exclude: [], numCandidates: 100 },
      opts,
    );
    expect(b.knn).toMatchObject({
      k: 200,
      num_candidates: 200 * ANN_OVERSAMPLE,
      rescore_vector: { oversample: ANN_OVERSAMPLE },
    });
    expect(
      (
        vectorSearchBody(
          { space: 'mips', mode: 'exact', k: 10, vector, filters: noFilters, exclude: [] },
          opts,
        ).knn as { rescore_vector?: unknown }
      ).rescore_vector,
    ).toBeUndefined();
  });

  it('ann: a model-measured num_candidates replaces the rule, per filtered / unfiltered request, scaled to k', () => {
    const tuned = { k: 10, unfiltered: 400, filtered: 1600 };
    expect(tunedNumCandidates(tuned, 10, noFilters)).toBe(400);
    expect(tunedNumCandidates(tuned, 10, filters)).toBe(1600);
    expect(tunedNumCandidates(tuned, 5, noFilters)).toBe(400); // never below what k = 10 needed
    expect(tunedNumCandidates(tuned, 30, noFilters)).toBe(1200);
    expect(tunedNumCandidates(tuned, 100, filters)).toBe(10_000); // ES's cap
    expect(tunedNumCandidates({ k: 10, unfiltered: 400 }, 10, filters)).toBe(400); // nothing measured filtered
    expect(tunedNumCandidates(undefined, 10, noFilters)).toBeUndefined();
    const b = vectorSearchBody(
      {
        space: 'mips',
        mode: 'ann',
        k: 10,
        vector,
        filters,
        exclude: [],
        numCandidates: tunedNumCandidates(tuned, 10, filters),
      },
      opts,
    );
    expect((b.knn as { num_candidates: number }).num_candidates).toBe(1600);
    // exact and lsh ignore it: they score every candidate
    expect(
      (
        vectorSearchBody(
          { space: 'mips', mode: 'exact', k: 10, vector, filters, exclude: [], numCandidates: 1600 },
          opts,
        ).knn as { num_candidates: number }
      ).num_candidates,
    ).toBe(10);
  });

  it('lsh: flat field restricted to the query bucket terms; needs terms', () => {
    const b = vectorSearchBody(
      {
        space: 'mips',
        mode: 'lsh',
        k: 10,
        vector,
        filters: noFilters,
        exclude: [],
        lshTerms: ['0_0101', '1_1100'],
      },
      opts,
    );
    const knn = b.knn as { field: string; num_candidates: number; filter: unknown[] };
    expect(knn.field).toBe('factor_exact');
    expect(knn.num_candidates).toBe(10);
    expect(knn.filter).toContainEqual({ terms: { lsh: ['0_0101', '1_1100'] } });
    expect(() =>
      vectorSearchBody({ space: 'mips', mode: 'lsh', k: 10, vector, filters: noFilters, exclude: [] }, opts),
    ).toThrow(/bucket terms/);
  });

  it('cosine space uses the unit-vector fields and lsh_cos', () => {
    expect(
      (
        vectorSearchBody(
          { space: 'cosine', mode: 'ann', k: 5, vector, filters: noFilters, exclude: [] },
          opts,
        ).knn as { field: string }
      ).field,
    ).toBe('factor_unit');
    expect(
      (
        vectorSearchBody(
          { space: 'cosine', mode: 'exact', k: 5, vector, filters: noFilters, exclude: [] },
          opts,
        ).knn as { field: string }
      ).field,
    ).toBe('factor_unit_exact');
    const lsh = vectorSearchBody(
      { space: 'cosine', mode: 'lsh', k: 5, vector, filters: noFilters, exclude: [], lshTerms: ['0_1'] },
      opts,
    );
    expect((lsh.knn as { filter: unknown[] }).filter).toContainEqual({ terms: { lsh_cos: ['0_1'] } });
  });

  it('q: two bodies for one _msearch, knn among the text matches and BM25, same filters and exclusions, candidates long', () => {
    const { knn, text } = hybridSearchBodies(
      { space: 'mips', mode: 'exact', k: 10, vector, filters, exclude: new Set(['i9']), q: 'trail' },
      opts,
    );
    const match = { multi_match: { query: 'trail', fields: ['name^2', 'description'] } };
    const shared = [{ term: { category: 'shoes' } }, { bool: { must_not: [{ ids: { values: ['i9'] } }] } }];
    expect(knn.knn).toMatchObject({
      field: 'factor_exact',
      k: 100,
      num_candidates: 100,
      filter: [...shared, match],
    });
    expect(knn.size).toBe(100);
    expect(knn.query).toBeUndefined();
    expect(text.size).toBe(100);
    expect(text.knn).toBeUndefined();
    expect(text.query).toEqual({ bool: { must: [match], filter: shared } });
    // k above the candidates: both lists are k long
    const big = hybridSearchBodies(
      { space: 'mips', mode: 'ann', k: 300, vector, filters, exclude: [], q: 'trail' },
      opts,
    );
    expect([big.knn.size, big.text.size, (big.knn.knn as { num_candidates: number }).num_candidates]).toEqual(
      [300, 300, 3000],
    );
  });

  it('popular: filters, exclusions, popularity desc with a stable tiebreak', () => {
    const b = popularSearchBody({ filters, exclude: ['a'], size: 20 });
    expect(b.query).toEqual({
      bool: { filter: [{ term: { category: 'shoes' } }], must_not: [{ ids: { values: ['a'] } }] },
    });
    expect(b.sort).toEqual([
      { popularity: { order: 'desc', missing: '_last', unmapped_type: 'float' } },
      { item_id: { order: 'asc', unmapped_type: 'keyword' } },
    ]);
    expect(popularSearchBody({ filters: noFilters, exclude: [], size: 5, q: 'x' }).sort).toHaveLength(3);
  });

  it('rescales an ann query to the measured rms without changing its direction, and says how to undo it on scores', () => {
    const v = [3, -4, 0, 0]; // rms 2.5
    const s = scaleQuery(v, 10);
    expect(s.factor).toBeCloseTo(4);
    expect(s.vector).toEqual([12, -16, 0, 0]);
    // a dot product with the scaled query, divided by the factor, is the original one
    const item = [0.5, 0.25, 7, 1];
    const dot = (a: number[], b: number[]) => a.reduce((t, x, i) => t + x * b[i]!, 0);
    expect(dot(s.vector, item) / s.factor).toBeCloseTo(dot(v, item));
    expect(scaleQuery(v, undefined)).toEqual({ vector: v, factor: 1 });
    expect(scaleQuery([0, 0], 10)).toEqual({ vector: [0, 0], factor: 1 });
  });

  it('ann is answered exactly without a graph, or for the kind of request (filtered or not) whose deploy missed the recall target', () => {
    expect(annAnsweredExactly(undefined, filters)).toBe(false);
    expect(annAnsweredExactly({ k: 10, exactOnly: true }, noFilters)).toBe(true);
    const missedUnfiltered = { k: 10, unfiltered: 10_000, filtered: 400, exactUnfiltered: true };
    expect(annAnsweredExactly(missedUnfiltered, noFilters)).toBe(true);
    expect(annAnsweredExactly(missedUnfiltered, filters)).toBe(false);
    const missedFiltered = { k: 10, unfiltered: 400, filtered: 10_000, exactFiltered: true };
    expect(annAnsweredExactly(missedFiltered, filters)).toBe(true);
    expect(annAnsweredExactly(missedFiltered, noFilters)).toBe(false);
    // nothing measured filtered: a filtered request goes by the unfiltered measurement, as its num_candidates does
    expect(annAnsweredExactly({ k: 10, unfiltered: 10_000, exactUnfiltered: true }, filters)).toBe(true);
  });

  it('decodes scores back to dot products and cosines', () => {
    expect(decodeScore('mips', 1 + 2.5)).toBeCloseTo(2.5);
    expect(decodeScore('mips', 1 / (1 + 3))).toBeCloseTo(-3);
    expect(decodeScore('mips', 1)).toBe(0);
    expect(decodeScore('cosine', (1 + 0.8) / 2)).toBeCloseTo(0.8);
    expect(decodeScore('cosine', 0)).toBe(-1);
  });
});

describe('reciprocal rank fusion', () => {
  const list = (...ids: string[]) => ids.map((id, i) => ({ id, score: 100 - i }));

  it('sums 1 / (k + rank) over the lists; an item missing from a list gets nothing from it', () => {
    const f = reciprocalRankFusion([list('a', 'b', 'c'), list('c', 'a')], 60);
    expect(f.map((x) => x.id)).toEqual(['a', 'c', 'b']);
    expect(f[0]!.score).toBeCloseTo(1 / 61 + 1 / 62, 12);
    expect(f[1]!.score).toBeCloseTo(1 / 63 + 1 / 61, 12);
    expect(f[2]).toEqual({ id: 'b', score: 1 / 62, ranks: [2, undefined] });
  });

  it("scale-free: multiplying one list's scores changes nothing", () => {
    const text = [
      { id: 'x', score: 9.1 },
      { id: 'y', score: 8.7 },
      { id: 'z', score: 8.2 },
    ];
    const knn = [
      { id: 'z', score: 1.3 },
      { id: 'y', score: 1.1 },
      { id: 'x', score: 0.2 },
    ];
    const scaled = text.map((t) => ({ ...t, score: t.score * 1000 }));
    expect(reciprocalRankFusion([knn, scaled], 60)).toEqual(reciprocalRankFusion([knn, text], 60));
  });

  it('equal scores share a rank, so a tie in one list leaves the order to the other', () => {
    expect(
      competitionRanks([
        { id: 'a', score: 3 },
        { id: 'b', score: 3 },
        { id: 'c', score: 2 },
        { id: 'd', score: 2 },
        { id: 'e', score: 1 },
      ]),
    ).toEqual([1, 1, 3, 3, 5]);
    const text = ['p', 'q', 'r', 's'].map((id) => ({ id, score: 5 })); // a broad word: one BM25 for all
    const knn = list('s', 'r', 'q', 'p');
    expect(reciprocalRankFusion([knn, text], 60).map((x) => x.id)).toEqual(['s', 'r', 'q', 'p']);
  });

  it('size cuts, k = 0 works, a negative k is refused, ties in the fused score go to the better best rank then the id', () => {
    expect(reciprocalRankFusion([list('a', 'b', 'c')], 60, 2).map((x) => x.id)).toEqual(['a', 'b']);
    expect(reciprocalRankFusion([list('a', 'b')], 0)[0]!.score).toBe(1);
    expect(() => reciprocalRankFusion([list('a')], -1)).toThrow(RangeError);
    // b: ranks 1 and 3, a: 2 and 2 → 1/61 + 1/63 > 2/62, so b before a; x (rank 1 once) last
    expect(reciprocalRankFusion([list('b', 'a'), list('x', 'a', 'b')], 60).map((x) => x.id)).toEqual([
      'b',
      'a',
      'x',
    ]);
    const sym = reciprocalRankFusion([list('m', 'n'), list('n', 'm')], 60);
    expect(sym.map((x) => x.id)).toEqual(['m', 'n']); // equal scores and best ranks → by id
    expect(reciprocalRankFusion([list('n', 'm'), list('m', 'n')], 60).map((x) => x.id)).toEqual(['m', 'n']);
    // k = 0: z and y (rank 1 in one list) score 1, as does a (rank 2 in both): equal scores, so the
    // better best rank goes first, and between z and y the id decides
    const tied = reciprocalRankFusion([list('z', 'a'), list('y', 'a')], 0);
    expect(tied.map((x) => [x.id, x.score])).toEqual([
      ['y', 1],
      ['z', 1],
      ['a', 1],
    ]);
    expect(() => reciprocalRankFusion([list('a')], -1)).toThrow(/RRF constant must be ≥ 0/);
  });

  it('an id repeated within a list keeps its first (best) rank and counts once', () => {
    const f = reciprocalRankFusion([list('a', 'b', 'a')], 60);
    expect(f.find((x) => x.id === 'a')).toEqual({ id: 'a', score: 1 / 61, ranks: [1] });
  });
});
