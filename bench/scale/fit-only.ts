/**
 * The fit alone at a size whose ALS memory passes 2 GiB: a CSR of N non-zeros built directly
 * (16 items a user, 40 pairs an item), one iteration. Checks the engine past the signed 32-bit
 * offsets that stopped the 100M bench run's fit; run.ts is the whole path.
 *
 *   npx tsx bench/scale/fit-only.ts --nnz 100000000
 */
import { parseArgs } from 'node:util';
import { AlsModel } from '../../src/als/index.ts';

const { values: opt } = parseArgs({
  options: { nnz: { type: 'string', default: '100000000' }, factors: { type: 'string', default: '32' } },
});
const NNZ = Number(opt.nnz);
const nItems = Math.round(NNZ / 40);
const perUser = 16;
const nUsers = Math.ceil(NNZ / perUser);
const indptr = new Int32Array(nUsers + 1);
const indices = new Int32Array(NNZ);
const data = new Float32Array(NNZ);
let s = 7;
const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) | 0) >>> 0) / 2 ** 32;
for (let u = 0, nnz = 0; u < nUsers; u++) {
  const d = Math.min(perUser, NNZ - nnz);
  const step = Math.floor(nItems / d);
  for (let k = 0; k < d; k++) {
    indices[nnz + k] = k * step + Math.floor(rand() * step);
    data[nnz + k] = 1 + Math.floor(rand() * 5);
  }
  nnz += d;
  indptr[u + 1] = nnz;
}
const model = await AlsModel.fit(
  { nUsers, nItems, indptr, indices, data, userIds: [], itemIds: [] },
  {
    factors: Number(opt.factors),
    regularization: 0.1,
    alpha: 1,
    iterations: 1,
    solver: 'cg',
    cgSteps: 3,
    seed: 42,
    threads: 2,
    weighting: 'linear',
  },
);
console.log(
  JSON.stringify({
    nnz: NNZ,
    users: nUsers,
    items: nItems,
    seconds_per_iteration: model.secondsPerIteration,
    loss: model.loss,
    factors_finite: model.userFactors.every(Number.isFinite) && model.itemFactors.every(Number.isFinite),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
