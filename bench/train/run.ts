/**
 * Implicit ALS benchmark: this repo's AlsModel.fit against the Python `implicit` library (CPU) on the
 * same planted MovieLens-like matrix, the same holdout and the same k, λ, α, iterations, threads.
 *
 *   npx tsx bench/train/run.ts [--size 1m|10m] [--factors 64] [--regularization 0.1] [--alpha 2]
 *                              [--iterations 15] [--threads 2] [--skip-implicit] [--regen]
 *
 * Data and factors go to bench/results/<size>/ (git-ignored); the virtualenv for implicit is
 * bench/.venv (git-ignored, created with `pip install implicit numpy scipy threadpoolctl` if
 * missing). Each trainer runs in its own child process so peak RSS (getrusage maxrss) is its own.
 * Quality (nDCG@10 etc.) and loss of both libraries' factors are computed by the same code here.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { AlsSolver, RatingsMatrix } from '../../src/types/index.ts';
import { AlsModel, csrFromCoo, gramian } from '../../src/als/index.ts';
import { createScratch, lossRows, maxRowNnz, sumSquares } from '../../src/als/kernels.ts';
import { uniformSource } from '../../src/random/rng.ts';
import {
  alsScorer,
  evaluateRanking,
  holdoutMask,
  plantedInteractions,
  popularityBaseline,
  type PlantedOptions,
} from '../../src/train/evaluate/index.ts';
import { recordFigures } from '../record.ts';

const here = dirname(fileURLToPath(import.meta.url));
const benchDir = resolve(here, '..');
const MAGIC = 0x43535231;

const { values: opt } = parseArgs({
  options: {
    size: { type: 'string', default: '1m' },
    factors: { type: 'string', default: '64' },
    regularization: { type: 'string', default: '0.1' },
    alpha: { type: 'string', default: '2' },
    iterations: { type: 'string', default: '15' },
    threads: { type: 'string', default: '2' },
    'cg-steps': { type: 'string', default: '3' },
    seed: { type: 'string', default: '1' },
    solvers: { type: 'string', default: 'cg,cholesky' },
    /** evaluate on a fixed random sample of this many users (default: all for 1m, 6000 for 10m) */
    'eval-users': { type: 'string' },
    /** runs per library and solver, alternating; the fastest (median s/iter) is reported */
    repeat: { type: 'string', default: '3' },
    'skip-implicit': { type: 'boolean', default: false },
    regen: { type: 'boolean', default: false },
    child: { type: 'boolean', default: false },
    solver: { type: 'string' },
    data: { type: 'string' },
  },
});

const params = {
  factors: Number(opt.factors),
  regularization: Number(opt.regularization),
  alpha: Number(opt.alpha),
  iterations: Number(opt.iterations),
  threads: Number(opt.threads),
  cgSteps: Number(opt['cg-steps']),
  seed: Number(opt.seed),
};

const SIZES: Record<string, Omit<PlantedOptions, 'seed'>> = {
  // MovieLens-1M: 6,040 users, 3,706 items, 1,000,209 ratings, ≥ 20 per user
  '1m': {
    nUsers: 6040,
    nItems: 3706,
    rank: 16,
    meanPerUser: 165.6,
    minPerUser: 20,
    maxPerUser: 2300,
    activitySpread: 1,
    popularityExponent: 0.9,
    signal: 2.5,
    noise: 0.5,
  },
  // MovieLens-10M: 69,878 users, 10,677 items, 10,000,054 ratings
  '10m': {
    nUsers: 69878,
    nItems: 10677,
    rank: 16,
    meanPerUser: 143.1,
    minPerUser: 20,
    maxPerUser: 7000,
    activitySpread: 1,
    popularityExponent: 0.9,
    signal: 2.5,
    noise: 0.5,
  },
};

// ---------- CSR files ----------

function writeCsr(
  path: string,
  m: Pick<RatingsMatrix, 'nUsers' | 'nItems' | 'indptr' | 'indices' | 'data'>,
): void {
  const nnz = m.indptr[m.nUsers]!;
  const header = Int32Array.from([MAGIC, m.nUsers, m.nItems, nnz]);
  const parts = [header, m.indptr, m.indices.subarray(0, nnz), m.data.subarray(0, nnz)];
  writeFileSync(path, Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength))));
}

function readCsr(path: string): RatingsMatrix {
  const buf = readFileSync(path);
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const [magic, nUsers, nItems, nnz] = new Int32Array(ab, 0, 4) as unknown as [
    number,
    number,
    number,
    number,
  ];
  if (magic !== MAGIC) throw new Error(`${path}: bad magic`);
  let off = 16;
  const indptr = new Int32Array(ab, off, nUsers + 1);
  off += 4 * (nUsers + 1);
  const indices = new Int32Array(ab, off, nnz);
  off += 4 * nnz;
  const data = new Float32Array(ab, off, nnz);
  const ids = (p: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${p}${i}`);
  return { nUsers, nItems, indptr, indices, data, userIds: ids('u', nUsers), itemIds: ids('i', nItems) };
}

function readF32(path: string): Float32Array {
  const buf = readFileSync(path);
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

function writeF32(path: string, a: Float32Array): void {
  writeFileSync(path, Buffer.from(a.buffer, a.byteOffset, a.byteLength));
}

// ---------- child: train ours ----------

async function child(): Promise<void> {
  const dir = opt.data!;
  const solver = opt.solver as AlsSolver;
  const train = readCsr(join(dir, 'train.bin'));
  const t0 = performance.now();
  const model = await AlsModel.fit(train, { ...params, solver });
  const total = (performance.now() - t0) / 1000;
  writeF32(join(dir, `ours-${solver}-user.f32`), model.userFactors);
  writeF32(join(dir, `ours-${solver}-item.f32`), model.itemFactors);
  const out = {
    secondsPerIteration: model.secondsPerIteration,
    totalSeconds: total,
    maxRssKb: process.resourceUsage().maxRSS,
    node: process.version,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

// ---------- parent ----------

function generate(dir: string, size: string): void {
  const cfg = SIZES[size];
  if (!cfg) throw new Error(`unknown --size ${size} (1m | 10m)`);
  const meta = JSON.stringify({ ...cfg, seed: 20240101, holdout: 0.2, version: 1 });
  const metaPath = join(dir, 'meta.json');
  if (
    !opt.regen &&
    existsSync(metaPath) &&
    readFileSync(metaPath, 'utf8') === meta &&
    existsSync(join(dir, 'test.bin'))
  ) {
    console.log(`reusing ${dir}`);
    return;
  }
  const t0 = performance.now();
  const d = plantedInteractions({ ...cfg, seed: 20240101 });
  // temporal holdout: each user's latest 20 % (at least one; users keep ≥ 2 in train)
  const mask = holdoutMask(d.users, d.nUsers, d.ts, 0.2);
  const pick = (test: boolean): RatingsMatrix => {
    const idx: number[] = [];
    for (let j = 0; j < mask.length; j++) if ((mask[j] === 1) === test) idx.push(j);
    const m = csrFromCoo(
      d.nUsers,
      d.nItems,
      idx.map((j) => d.users[j]!),
      idx.map((j) => d.items[j]!),
      idx.map((j) => d.weights[j]!),
    );
    return { ...m, userIds: [], itemIds: [] };
  };
  const train = pick(false);
  const test = pick(true);
  writeCsr(join(dir, 'train.bin'), train);
  writeCsr(join(dir, 'test.bin'), test);
  writeFileSync(metaPath, meta);
  const pop = new Int32Array(d.nItems);
  for (let j = 0; j < d.items.length; j++) pop[d.items[j]!]!++;
  const sorted = [...pop].sort((a, b) => b - a);
  console.log(
    `generated ${d.nUsers} users × ${d.nItems} items, ${d.users.length} interactions ` +
      `(train ${train.indptr[train.nUsers]}, test ${test.indptr[test.nUsers]}); ` +
      `top item ${sorted[0]} users, median item ${sorted[Math.floor(sorted.length / 2)]}; ` +
      `${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
}

function ensureVenv(): string {
  const py = join(benchDir, '.venv', 'bin', 'python');
  if (existsSync(py)) {
    const ok = spawnSync(py, ['-c', 'import implicit, numpy, scipy, threadpoolctl'], { stdio: 'ignore' });
    if (ok.status === 0) return py;
  }
  console.log('creating bench/.venv (pip install implicit numpy scipy threadpoolctl) …');
  const mk = spawnSync('python3', ['-m', 'venv', join(benchDir, '.venv')], { stdio: 'inherit' });
  if (mk.status !== 0) throw new Error('python3 -m venv failed');
  const pip = spawnSync(py, ['-m', 'pip', 'install', '-q', 'implicit', 'numpy', 'scipy', 'threadpoolctl'], {
    stdio: 'inherit',
  });
  if (pip.status !== 0) throw new Error('pip install implicit numpy scipy threadpoolctl failed');
  return py;
}

interface RunResult {
  secondsPerIteration: number[];
  totalSeconds: number;
  maxRssKb: number;
  [key: string]: unknown;
}

function runJson(cmd: string, args: string[], env: NodeJS.ProcessEnv): RunResult {
  const r = spawnSync(cmd, args, {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 26,
  });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}`);
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line) as RunResult;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function quality(
  train: RatingsMatrix,
  test: RatingsMatrix,
  userFactors: Float32Array,
  itemFactors: Float32Array,
) {
  const k = params.factors;
  const metrics = evaluateRanking(alsScorer({ factors: k, userFactors, itemFactors }), train, test);
  // the weighted objective, same formula for both libraries
  const parts = lossRows(
    train,
    userFactors,
    itemFactors,
    gramian(itemFactors, k),
    k,
    params.alpha,
    0,
    train.nUsers,
    createScratch(k, maxRowNnz(train.indptr)),
  );
  const loss = parts.data + params.regularization * (parts.norm + sumSquares(itemFactors));
  return { metrics, loss };
}

async function parent(): Promise<void> {
  const size = opt.size!;
  const dir = join(benchDir, 'results', size);
  mkdirSync(dir, { recursive: true });
  generate(dir, size);
  const train = readCsr(join(dir, 'train.bin'));
  const fullTest = readCsr(join(dir, 'test.bin'));
  // evaluate on a fixed sample of users (all of them for 1m)
  const nEval = Math.min(Number(opt['eval-users'] ?? (size === '1m' ? train.nUsers : 6000)), train.nUsers);
  const keep = new Uint8Array(train.nUsers);
  const rand = uniformSource(7);
  const order = Array.from({ length: train.nUsers }, (_, u) => u);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  for (let i = 0; i < nEval; i++) keep[order[i]!] = 1;
  const tIndptr = new Int32Array(train.nUsers + 1);
  const tIdx: number[] = [];
  for (let u = 0; u < train.nUsers; u++) {
    if (keep[u])
      for (let j = fullTest.indptr[u]!; j < fullTest.indptr[u + 1]!; j++) tIdx.push(fullTest.indices[j]!);
    tIndptr[u + 1] = tIdx.length;
  }
  const test: RatingsMatrix = {
    ...fullTest,
    indptr: tIndptr,
    indices: Int32Array.from(tIdx),
    data: new Float32Array(tIdx.length).fill(1),
  };

  const solvers = opt.solvers!.split(',') as AlsSolver[];
  console.log(
    `train nnz ${train.indptr[train.nUsers]}, test nnz ${test.indptr[test.nUsers]} (${nEval} eval users); ` +
      `k=${params.factors} λ=${params.regularization} α=${params.alpha} iterations=${params.iterations} ` +
      `threads=${params.threads} cgSteps=${params.cgSteps}`,
  );
  const py = opt['skip-implicit'] ? null : ensureVenv();
  const script = fileURLToPath(import.meta.url);
  const rows: Array<{
    lib: string;
    solver: AlsSolver;
    run: RunResult;
    ndcg: number;
    precision: number;
    map: number;
    coverage: number;
    loss: number;
  }> = [];
  const repeat = Math.max(1, Number(opt.repeat));
  const best = (runs: RunResult[]): RunResult =>
    runs.reduce((a, b) => (median(b.secondsPerIteration) < median(a.secondsPerIteration) ? b : a));
  const spread = (runs: RunResult[]): string =>
    runs.map((r) => median(r.secondsPerIteration).toFixed(3)).join('/');
  for (const solver of solvers) {
    const common = [
      '--factors',
      String(params.factors),
      '--regularization',
      String(params.regularization),
      '--alpha',
      String(params.alpha),
      '--iterations',
      String(params.iterations),
      '--threads',
      String(params.threads),
      '--seed',
      String(params.seed),
    ];
    const oursRuns: RunResult[] = [];
    const theirRuns: RunResult[] = [];
    for (let rep = 0; rep < repeat; rep++) {
      oursRuns.push(
        runJson(
          process.execPath,
          [
            ...process.execArgv,
            script,
            '--child',
            '--solver',
            solver,
            '--data',
            dir,
            '--cg-steps',
            String(params.cgSteps),
            ...common,
          ],
          process.env,
        ),
      );
      if (py) {
        // implicit: OpenBLAS single-threaded (implicit parallelises over rows itself); the
        // OPENBLAS_CORETYPE / L2_SIZE overrides set on this machine slow current numpy, so they
        // are dropped for this command only.
        const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: '1' };
        delete env.OPENBLAS_CORETYPE;
        delete env.OPENBLAS_L2_SIZE;
        theirRuns.push(
          runJson(
            py,
            [join(here, 'implicit_bench.py'), '--data', dir, '--out', dir, '--solver', solver, ...common],
            env,
          ),
        );
      }
    }
    const q = quality(
      train,
      test,
      readF32(join(dir, `ours-${solver}-user.f32`)),
      readF32(join(dir, `ours-${solver}-item.f32`)),
    );
    rows.push({ lib: 'ours', solver, run: best(oursRuns), ...q.metrics, loss: q.loss });
    console.log(
      `ours ${solver}: median s/it per run ${spread(oursRuns)}, nDCG@10 ${q.metrics.ndcg.toFixed(4)}`,
    );
    if (py) {
      const qt = quality(
        train,
        test,
        readF32(join(dir, `implicit-${solver}-user.f32`)),
        readF32(join(dir, `implicit-${solver}-item.f32`)),
      );
      rows.push({ lib: 'implicit', solver, run: best(theirRuns), ...qt.metrics, loss: qt.loss });
      console.log(
        `implicit ${solver}: median s/it per run ${spread(theirRuns)}, nDCG@10 ${qt.metrics.ndcg.toFixed(4)}`,
      );
    }
  }
  const pop = evaluateRanking(popularityBaseline(train), train, test);

  const fmt = (v: number, d: number): string => v.toFixed(d);
  const header = [
    'solver',
    'library',
    's/iter (median)',
    's/iter (mean)',
    'total s',
    'peak RSS MB',
    'nDCG@10',
    'P@10',
    'MAP@10',
    'coverage',
    'loss/nnz',
  ];
  const table: string[][] = [];
  const nnz = train.indptr[train.nUsers]!;
  for (const r of rows) {
    const sp = r.run.secondsPerIteration;
    table.push([
      r.solver,
      r.lib,
      fmt(median(sp), 3),
      fmt(sp.reduce((a, b) => a + b, 0) / sp.length, 3),
      fmt(r.run.totalSeconds, 1),
      fmt(r.run.maxRssKb / 1024, 0),
      fmt(r.ndcg, 4),
      fmt(r.precision, 4),
      fmt(r.map, 4),
      fmt(r.coverage, 3),
      fmt(r.loss / nnz, 4),
    ]);
  }
  for (const solver of solvers) {
    const o = rows.find((r) => r.lib === 'ours' && r.solver === solver);
    const t = rows.find((r) => r.lib === 'implicit' && r.solver === solver);
    if (!o || !t) continue;
    table.push([
      solver,
      'ours/implicit',
      fmt(median(o.run.secondsPerIteration) / median(t.run.secondsPerIteration), 2) + '×',
      '',
      fmt(o.run.totalSeconds / t.run.totalSeconds, 2) + '×',
      fmt(o.run.maxRssKb / t.run.maxRssKb, 2) + '×',
      fmt(o.ndcg / t.ndcg, 3) + '×',
      '',
      '',
      '',
      '',
    ]);
  }
  table.push([
    '—',
    'popularity',
    '',
    '',
    '',
    '',
    fmt(pop.ndcg, 4),
    fmt(pop.precision, 4),
    fmt(pop.map, 4),
    fmt(pop.coverage, 3),
    '',
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...table.map((row) => row[c]!.length)));
  const line = (cells: string[]): string =>
    '| ' + cells.map((x, c) => x.padEnd(widths[c]!)).join(' | ') + ' |';
  console.log('\n' + line(header));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const row of table) console.log(line(row));
  const blas = rows.find((r) => r.lib === 'implicit')?.run.blas;
  if (blas) console.log(`\nimplicit BLAS: ${JSON.stringify(blas)}`);
  console.log(
    `load average during the run: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} on ${cpus().length} cores (best of ${repeat} runs each)`,
  );
  writeFileSync(join(dir, 'results.json'), JSON.stringify({ params, size, rows, popularity: pop }, null, 2));

  const implicitVersion = rows.find((r) => r.lib === 'implicit')?.run['implicit'];
  const asCell = (x: string) => (x === '' ? null : /^-?\d+(\.\d+)?$/.test(x) ? Number(x) : x);
  await recordFigures({
    bench: 'train',
    variant: size,
    title: `implicit ALS: AlsModel.fit vs the Python implicit library (CPU) on a planted MovieLens-like matrix (${size}: ${train.nUsers.toLocaleString('en')} users × ${train.nItems.toLocaleString('en')} items), same holdout`,
    tables: [
      {
        title: `k=${params.factors} λ=${params.regularization} α=${params.alpha}, ${params.iterations} iterations, ${params.threads} threads, cgSteps ${params.cgSteps}; best of ${repeat} runs each; ${nEval.toLocaleString('en')} evaluation users`,
        columns: header,
        rows: table.map((row) => row.map(asCell)),
        ...(py
          ? {
              reference: `implicit${typeof implicitVersion === 'string' ? ` ${implicitVersion}` : ''} (Python, CPU), same data, holdout, parameters and threads; the "ours/implicit" rows are the ratios`,
            }
          : {}),
      },
    ],
  });
}

if (opt.child) await child();
else await parent();
