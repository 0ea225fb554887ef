// The run report of a real trained model (real ES, two runs so the second has a previous live
// model) as served by the admin API, rendered by headless Chromium: the DOM holds every chart with
// its data points, and the screenshot shows the charts' colours (so they were painted, not only
// parsed). Chromium missing fails the test (see test/support/chromium.ts).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/api/app.ts';
import { generateDataset } from '../../src/demo/generate.ts';
import { createRegistry } from '../../src/infra/metrics.ts';
import { runTraining } from '../../src/release/run.ts';
import { PALETTE } from '../../src/report/svg.ts';
import { setup } from '../../src/setup/index.ts';
import {
  gridSearch,
  plantedInteractions,
  plantedToInteractions,
  randomSplit,
  splitToMatrices,
} from '../../src/train/evaluate/index.ts';
import { alsParams } from '../../src/config/als-params.ts';
import { PROJECT_ROOT } from '../../src/config/index.ts';
import { dumpDom, findChromium, screenshot } from '../support/chromium.ts';
import { countColour, decodePng } from '../support/png.ts';
import { loadDirect, testContext } from './harness.ts';

const ITERATIONS = 6;
const ctx = testContext('report', { als: { factors: 12, iterations: ITERATIONS, threads: 1 } });
const { es, names } = ctx;
const KEY = 'report-key';
const data = generateDataset({
  users: 250,
  items: 200,
  days: 21,
  seed: 5,
  events: 15_000,
  malformedFraction: 0,
});
const dir = mkdtempSync(path.join(tmpdir(), 'recsys-report-'));
let server: RunningServer;
let chromium: string;
let first: string;
let second: string;
let trials: Array<{ params: Record<string, number>; ndcg: number; iterations: number; rung: number }>;

beforeAll(async () => {
  chromium = await findChromium();
  await setup(es, ctx.kafka, ctx.config, names, ctx.log);
  await loadDirect(ctx, data);
  const a = await runTraining(ctx, { trigger: 'test' });
  expect(a.status).toBe('live');
  // the second run is gated against the first whether it goes live or stays a candidate
  const b = await runTraining(ctx, { trigger: 'test' });
  expect(b.gate?.live_model_id, b.error).toBe(a.modelId);
  [first, second] = [a.modelId, b.modelId];
  // a tuning record in the shape the tuner writes (params, validation nDCG, iterations, rung):
  // a real small grid on planted data, scored at two iteration counts = two rungs
  const { train, test } = splitToMatrices(
    randomSplit(
      plantedToInteractions(
        plantedInteractions({ nUsers: 150, nItems: 120, rank: 4, meanPerUser: 12, seed: 3 }),
      ),
      0.2,
      3,
    ),
  );
  const grid = await gridSearch(
    train,
    test,
    { alpha: [0.5, 5, 40], regularization: [0.1, 10], iterations: [2, 6] },
    alsParams(ctx.config.als, { factors: 8, threads: 1 }),
  );
  trials = grid.map((g) => ({
    params: { alpha: g.params.alpha, regularization: g.params.regularization },
    ndcg: g.metrics.ndcg,
    iterations: g.params.iterations,
    rung: g.params.iterations === 2 ? 0 : 1,
  }));
  const best = trials.reduce((x, y) => (y.ndcg > x.ndcg ? y : x));
  await es.update({
    index: names.models,
    id: second,
    doc: {
      tuning: {
        source: 'search',
        search_id: 'grid-test',
        validation_ndcg: best.ndcg,
        budget_seconds: 30,
        used_seconds: 4.2,
        trials,
      },
    },
    refresh: true,
  });
  server = await startServer({
    ctx,
    registry: createRegistry(false),
    port: 0,
    host: '127.0.0.1',
    options: { apiKeys: [KEY], defaultMode: 'exact' },
  });
});

afterAll(async () => {
  await server?.close();
  await ctx.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const get = (p: string, key = KEY) => fetch(server.url + p, { headers: key ? { 'x-api-key': key } : {} });

/** elements of the dumped DOM: <tag …class="cls"…> inside the chart titled `title` */
function chartsIn(dom: string): Array<{ kind: string; title: string; points: number; bars: number }> {
  return dom
    .split('<svg ')
    .slice(1)
    .map((s) => {
      const body = s.slice(0, s.indexOf('</svg>'));
      return {
        kind: /data-chart="(\w+)"/.exec(body)?.[1] ?? '',
        title: /aria-label="([^"]*)"/.exec(body)?.[1] ?? '',
        points: (body.match(/<circle class="point"/g) ?? []).length,
        bars: (body.match(/<rect class="bar"/g) ?? []).length,
      };
    });
}

describe('run report', () => {
  it('the admin API links every model to its report and serves it as HTML behind the API key', async () => {
    const list = (await (await get('/v1/models')).json()) as {
      models: Array<{ model_id: string; report_url: string }>;
    };
    const mine = list.models.find((m) => m.model_id === second)!;
    expect(mine.report_url).toBe(`/v1/models/${second}/report`);
    const run = (await (await get(`/v1/train/${second}`)).json()) as { report_url: string };
    expect(run.report_url).toBe(mine.report_url);
    expect((await get(mine.report_url, '')).status).toBe(401);
    expect((await get('/v1/models/no-such-model/report')).status).toBe(404);
    const res = await get(mine.report_url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain(`previous live ${first}`);
    const doc = (
      await es.get<{ metrics: { popularity_bias: number }; baseline_metrics: { popularity_bias: number } }>({
        index: names.models,
        id: second,
      })
    )._source!;
    // recorded as numbers; the popularity baseline leans on the head far more than ALS
    expect(doc.metrics.popularity_bias).toBeGreaterThanOrEqual(0);
    expect(doc.baseline_metrics.popularity_bias).toBeGreaterThan(doc.metrics.popularity_bias);
    writeFileSync(path.join(dir, 'report.html'), html);
  });

  it('recsys report writes the same page to a file; an unknown model is an error', async () => {
    const env = { ...process.env, RECSYS_INDEX_PREFIX: names.prefix, LOG_LEVEL: 'warn' };
    const out = path.join(dir, 'cli.html');
    // the user's entry point: the compiled build when npm test built it, else the source
    const cli = path.join(PROJECT_ROOT, 'bin/recsys.js');
    const ok = spawnSync(process.execPath, [cli, 'report', second, '--out', out], {
      env,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(out);
    const strip = (h: string) => h.replace(/ · generated [^<]*/, '');
    expect(strip(readFileSync(out, 'utf8'))).toBe(strip(readFileSync(path.join(dir, 'report.html'), 'utf8')));
    const missing = spawnSync(
      process.execPath,
      [cli, 'report', 'no-such-model', '--out', path.join(dir, 'x.html')],
      {
        env,
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('does not exist');
  });

  it('renders in headless Chromium with every chart and its data points', async () => {
    const file = path.join(dir, 'report.html');
    const dom = await dumpDom(chromium, file);
    const charts = chartsIn(dom);
    const byTitle = (re: RegExp) => charts.find((c) => re.test(c.title));
    expect(byTitle(/loss/i)).toMatchObject({ kind: 'line', points: ITERATIONS });
    expect(byTitle(/Ranking quality/)).toMatchObject({ kind: 'bar', bars: 4 * 3 }); // P, R, nDCG, MAP × model, popularity, previous
    expect(byTitle(/coverage/i)).toMatchObject({ kind: 'bar', bars: 3 });
    expect(byTitle(/Popularity bias/)).toMatchObject({ kind: 'bar', bars: 2 * 3 });
    expect(byTitle(/vs α/)).toMatchObject({ kind: 'scatter', points: trials.length });
    expect(byTitle(/vs λ/)).toMatchObject({ kind: 'scatter', points: trials.length });
    expect(byTitle(/time went/)!.bars).toBeGreaterThanOrEqual(4);
    expect(dom).not.toContain('class="no-data"');

    const png = path.join(dir, 'report.png');
    await screenshot(chromium, file, png);
    const blank = path.join(dir, 'blank.html');
    writeFileSync(blank, '<!doctype html><html><body></body></html>');
    await screenshot(chromium, blank, path.join(dir, 'blank.png'));
    const img = decodePng(readFileSync(png));
    expect(img.width).toBe(1200);
    // painted, not only parsed: the series colours cover real areas of the page
    const [blue, orange, green] = PALETTE.slice(0, 3).map((c) => countColour(img, c));
    console.log(
      `report screenshot ${img.width}×${img.height}, ${(statSync(png).size / 1024).toFixed(0)} KiB (blank page ${(statSync(path.join(dir, 'blank.png')).size / 1024).toFixed(0)} KiB); pixels: series 1 ${blue}, series 2 ${orange}, series 3 ${green}`,
    );
    expect(blue).toBeGreaterThan(2000);
    expect(orange).toBeGreaterThan(1000);
    expect(green).toBeGreaterThan(500);
    expect(statSync(png).size).toBeGreaterThan(5 * statSync(path.join(dir, 'blank.png')).size);
    if (process.env['REPORT_SCREENSHOT']) writeFileSync(process.env['REPORT_SCREENSHOT'], readFileSync(png));
  });
});
