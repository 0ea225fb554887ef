// The norm probe's scan (minTopKNorm, run on every bounded exact/ann request in the API) with its
// dot products in the wasm kernel, against the scalar JS loop it replaced (scalar-reference.ts),
// same probe, same users, same process. Pure CPU: no ES or Kafka needed.
//   npx tsx bench/probe/run.ts [--items 200000] [--users 2000] [--factors-source als|planted]
import { parseArgs } from 'node:util';
import { alsBenchModel, generateBenchModel, type BenchModel } from '../query/data.ts';
import { buildNormProbe, minTopKNorm, PROBE_SIZE } from '../../src/model/norm-probe.ts';
import { minTopKNormScalar } from './scalar-reference.ts';
import { percentile } from '../common.ts';
import { recordFigures, round } from '../record.ts';

const { values: a } = parseArgs({
  options: {
    items: { type: 'string', default: '200000' },
    users: { type: 'string', default: '2000' },
    factors: { type: 'string', default: '64' },
    'factors-source': { type: 'string', default: 'als' },
    k: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '5' },
  },
});
const N = Number(a.items);
const DIMS = Number(a.factors);
const K = Number(a.k);
const shape = { items: N, users: Number(a.users), factors: DIMS, categories: 20, clusters: 256, seed: 7 };
const model: BenchModel =
  a['factors-source'] === 'als'
    ? await alsBenchModel({ ...shape, users: Math.max(shape.users, N / 10), meanPerUser: 30, iterations: 6 })
    : generateBenchModel(shape);

// the probe as the API loads it: the PROBE_SIZE longest items, with their category as a column
const rows = Array.from({ length: N }, (_, i) => ({
  i,
  norm: Math.hypot(...model.itemFactors.subarray(i * DIMS, (i + 1) * DIMS)),
}))
  .sort((x, y) => y.norm - x.norm)
  .slice(0, PROBE_SIZE);
const probe = buildNormProbe(
  DIMS,
  rows.map(({ i }) => ({
    id: model.itemIds[i]!,
    vector: model.itemFactors.subarray(i * DIMS, (i + 1) * DIMS),
    fields: { category: [model.categories[model.itemCategory[i]!]!] },
  })),
  new Map([['category', 'keyword' as const]]),
);
const users = Array.from({ length: Math.min(Number(a.users), model.userIds.length) }, (_, u) => ({
  vector: model.userFactors.subarray(u * DIMS, (u + 1) * DIMS),
  exclude: new Set(model.recent.get(model.userIds[u]!) ?? []),
  category: model.categories[u % model.categories.length]!,
}));
const column = probe.columns.get('category')!.values;

type Scan = typeof minTopKNorm;
function time(scan: Scan, filtered: boolean): { us: number[]; bounds: Array<number | undefined> } {
  const us: number[] = [];
  const bounds: Array<number | undefined> = [];
  for (let round = 0; round < Number(a.rounds); round++) {
    for (const u of users) {
      const accept = filtered ? (i: number) => column[i]?.[0] === u.category : undefined;
      const t = performance.now();
      const b = scan(probe, u.vector, K, u.exclude, accept);
      us.push((performance.now() - t) * 1000);
      if (round === 0) bounds.push(b);
    }
  }
  return { us: us.sort((x, y) => x - y), bounds };
}

console.log(
  `\nnorm probe scan: ${probe.ids.length.toLocaleString('en')} longest of ${N.toLocaleString('en')} items × ${DIMS} (${a['factors-source']} factors), ${users.length} users × ${a.rounds} rounds, k=${K}, seen items excluded`,
);
const figureRows: Array<Array<string | number>> = [];
console.log(
  '  rows          wasm p50 / mean µs   scalar JS p50 / mean µs   JS ÷ wasm (mean)   bounds equal to float32',
);
for (const filtered of [false, true]) {
  // warm both up, then measure alternately so both see the same machine
  time(minTopKNormScalar, filtered);
  time(minTopKNorm, filtered);
  const js = time(minTopKNormScalar, filtered);
  const wasm = time(minTopKNorm, filtered);
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const agree = wasm.bounds.filter((b, i) => {
    const r = js.bounds[i];
    return b === undefined ? r === undefined : r !== undefined && Math.abs(b - r) <= 1e-5 * r;
  }).length;
  figureRows.push([
    filtered ? 'category filter' : 'unfiltered',
    round(percentile(wasm.us, 50), 0),
    round(mean(wasm.us), 0),
    round(percentile(js.us, 50), 0),
    round(mean(js.us), 0),
    round(mean(js.us) / mean(wasm.us), 2),
    `${agree} of ${users.length}`,
  ]);
  console.log(
    `  ${(filtered ? 'category' : 'unfiltered').padEnd(12)}  ${percentile(wasm.us, 50).toFixed(0).padStart(6)} / ${mean(wasm.us).toFixed(0).padEnd(12)} ${percentile(js.us, 50).toFixed(0).padStart(8)} / ${mean(js.us).toFixed(0).padEnd(15)} ${(mean(js.us) / mean(wasm.us)).toFixed(2).padStart(8)}×          ${agree} of ${users.length}`,
  );
}

await recordFigures({
  bench: 'probe',
  title: `norm probe scan (minTopKNorm, every bounded exact/ann request): wasm kernel vs the scalar JS loop it replaced, ${probe.ids.length.toLocaleString('en')} longest of ${N.toLocaleString('en')} ${a['factors-source']} items × ${DIMS}, ${users.length} users`,
  tables: [
    {
      title: `µs per request, ${users.length} users × ${a.rounds} rounds, k=${K}, seen items excluded`,
      columns: [
        'rows',
        'wasm p50 µs',
        'wasm mean µs',
        'scalar JS p50 µs',
        'scalar JS mean µs',
        'JS ÷ wasm (mean)',
        'bounds equal to float32',
      ],
      rows: figureRows,
      reference: 'the scalar JS loop (bench/probe/scalar-reference.ts), same probe, same users, same process',
      ratio: 'JS ÷ wasm (mean)',
    },
  ],
});
