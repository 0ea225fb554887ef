// How long the API takes to answer when Elasticsearch does not: a black hole (accepts connections,
// never answers) and a closed port (connection refused), with the shipped budgets and breaker
// ([serving] defaults). Issue 35 measured 60.4 s (black hole) and 4.7-7.6 s (refused) before
// deadlines existed. Needs only Kafka (the health probe); Elasticsearch is the fake one.
//   npx tsx bench/deadlines/run.ts [--requests 200] [--concurrency 10]
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { startServer } from '../../src/api/app.ts';
import { createRegistry } from '../../src/infra/metrics.ts';
import { benchContext, percentile } from '../common.ts';
import { recordFigures, round } from '../record.ts';

const { values: a } = parseArgs({
  options: {
    requests: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '10' },
  },
});
const N = Number(a.requests);
const CONCURRENCY = Number(a.concurrency);

/** A server that accepts every connection and never answers (what a wedged node looks like). */
async function blackHole(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.resume();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

interface Run {
  ms: number[];
  statuses: Map<number, number>;
}

async function measure(url: string, n: number, concurrency: number): Promise<Run> {
  const ms: number[] = [];
  const statuses = new Map<number, number>();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const t = performance.now();
        const r = await fetch(url.replace('{i}', String(i % 50)), { signal: AbortSignal.timeout(120_000) });
        await r.arrayBuffer();
        ms.push(performance.now() - t);
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      }
    }),
  );
  return { ms: ms.sort((x, y) => x - y), statuses };
}

const hole = await blackHole();
const refused = await closedPort();
const rows: Array<Array<string | number>> = [];
let deadlines: { read: number; health: number } | undefined;
for (const [backend, esUrl] of [
  ['black hole', `http://127.0.0.1:${hole.port}`],
  ['connection refused', `http://127.0.0.1:${refused}`],
] as const) {
  const ctx = benchContext('deadlines', {}, { ES_URL: esUrl });
  const server = await startServer({
    ctx,
    registry: createRegistry(false),
    port: 0,
    host: '127.0.0.1',
    options: { healthConsumerGroups: [] },
  });
  deadlines = { read: server.app.options.deadlineMs, health: server.app.options.healthDeadlineMs };
  try {
    for (const [what, path] of [
      ['recommendations', '/v1/users/u{i}/recommendations?k=10'],
      ['similar items', '/v1/items/i{i}/similar?k=10'],
      ['/health', '/health'],
      ['/ready', '/ready'],
    ] as const) {
      const r = await measure(`${server.url}${path}`, N, CONCURRENCY);
      const statuses = [...r.statuses]
        .sort()
        .map(([s, c]) => `${c}× ${s}`)
        .join(', ');
      console.log(
        `${backend} ${what}: p50 ${round(percentile(r.ms, 50))} p99 ${round(percentile(r.ms, 99))} ms (${statuses})`,
      );
      rows.push([
        backend,
        what,
        r.ms.length,
        statuses,
        round(percentile(r.ms, 50)),
        round(percentile(r.ms, 99)),
        round(r.ms.at(-1)!),
        what.startsWith('/') ? deadlines.health : deadlines.read,
      ]);
    }
  } finally {
    await server.close();
    await ctx.close();
  }
}
await hole.close();

await recordFigures({
  bench: 'deadlines',
  title: `API answers with Elasticsearch not answering: ${N} requests per row, ${CONCURRENCY} concurrent, shipped budgets and breaker`,
  tables: [
    {
      title: 'time to the answer, as the client saw it (ms)',
      columns: [
        'Elasticsearch',
        'request',
        'answered',
        'statuses',
        'p50 ms',
        'p99 ms',
        'max ms',
        'budget ms',
      ],
      rows,
    },
  ],
  notes: [
    'Before request deadlines (issue 35): 60.4 s to the 503 with a black hole, 4.7-7.6 s with the cluster stopped; /health 60.4 s and 6.4-7.1 s.',
    'The first requests of a row are concurrent and cold: they wait out the whole budget until the breaker opens (after [serving] breaker_failures failures); backend calls are cut min(50 ms, 10 %) before the budget ends, the time kept for answering (cold first answers took about 60 ms past a cut at the full budget).',
    'No live model is resolvable and no popular list is cached here, so recommendation requests answer 503 with Retry-After (the degraded answer needs a list cached earlier: test/integration/deadlines.test.ts).',
  ],
});
