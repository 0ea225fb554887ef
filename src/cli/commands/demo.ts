import type { Command } from 'commander';
import { startServer } from '../../api/app.ts';
import { loadConfig, loadSettings } from '../../config/index.ts';
import { DEMO_SIZE, runDemoPipeline } from '../../demo/pipeline.ts';
import { describeList, describeUser, pickShowcaseUsers, type ServedList } from '../../demo/report.ts';
import { infraUp } from '../../infra/local/index.ts';
import { createLogger } from '../../infra/logger.ts';
import { createRegistry } from '../../infra/metrics.ts';
import { startOnline } from '../../online/service.ts';
import { createContext } from '../../app/context.ts';
import { progressBar } from '../progress.ts';
import { untilSignal } from '../signals.ts';
import { printRun, trainProgress } from './train.ts';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'infra up → setup → sample data through Kafka → ingest → train → deploy → API; prints recommendations',
    )
    .option('--users <n>', 'users', String(DEMO_SIZE.users))
    .option('--items <n>', 'items', String(DEMO_SIZE.items))
    .option('--events <n>', 'approximate events', String(DEMO_SIZE.events))
    .option('--days <n>', 'days of history', String(DEMO_SIZE.days))
    .option('--seed <n>', 'seed', String(DEMO_SIZE.seed))
    .option('--no-wait', 'exit after printing instead of serving until Ctrl-C')
    .action(async (o: Record<string, string | boolean>) => {
      const started = Date.now();
      // The demo lives under its own prefix unless one is configured: it resets what it owns.
      const env = {
        ...process.env,
        RECSYS_INDEX_PREFIX: process.env['RECSYS_INDEX_PREFIX'] ?? 'demo-',
        RECSYS_TOPIC_PREFIX: process.env['RECSYS_TOPIC_PREFIX'] ?? 'demo-',
        LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'warn',
        API_KEYS: process.env['API_KEYS'] ?? 'demo-key',
      };
      // The demo pins what autotune picks for its shop at this size (bench/tune, --scale 1): the same
      // quality as searching (nDCG@10 0.456 vs 0.261 with the defaults) without ~3 fits of search on every run.
      // A settings file's [als] values win over these, key by key.
      const tuned = { factors: 16, regularization: 50, alpha: 3, weighting: 'log' } as const;
      const loaded = loadSettings({ env });
      const als = Object.fromEntries(
        Object.entries(tuned).filter(([k]) => loaded.sources[`[als] ${k}`] !== 'file'),
      ) as Partial<typeof tuned>;
      const config = loadConfig({ env, overrides: { als } });
      const step = (s: string) => console.log(`\n▶ ${s}  (${((Date.now() - started) / 1000).toFixed(0)} s)`);
      step('infra up: local Elasticsearch + Kafka (downloaded once into .local/)');
      for (const s of await infraUp(config, createLogger('warn')))
        console.log(`  ${s.service} ${s.running ? 'running' : 'DOWN'} at ${s.where} ${s.version ?? ''}`);
      const ctx = createContext(config);
      const bars = new Map<string, ReturnType<typeof progressBar>>();
      const size = {
        users: Number(o['users']),
        items: Number(o['items']),
        events: Number(o['events']),
        days: Number(o['days']),
        seed: Number(o['seed']),
      };
      const demo = await runDemoPipeline(
        ctx,
        size,
        {
          step: (s) => {
            for (const b of bars.values()) b.stop();
            bars.clear();
            step(s);
          },
          progress: (label, done, total) =>
            (bars.get(label) ?? bars.set(label, progressBar(label, total)).get(label)!).update(done),
          train: trainProgress(config.als.iterations),
        },
        { reset: true },
      );
      for (const b of bars.values()) b.stop();
      console.log(
        `  stored ${demo.stored} events; ${demo.data.malformed.length} malformed went to ${ctx.names.topics.dlq}`,
      );
      printRun(demo.train);

      step('serve: REST API + online fold-in');
      const online = await startOnline(ctx, createRegistry(false));
      const server = await startServer({ ctx, registry: createRegistry() });
      for (const user of pickShowcaseUsers(demo.data)) {
        console.log(`\n● ${user}`);
        for (const line of describeUser(demo.data, user)) console.log(`  ${line}`);
        const res = await fetch(`${server.url}/v1/users/${encodeURIComponent(user)}/recommendations?k=8`);
        const list = (await res.json()) as ServedList;
        console.log(`  recommended (model ${list.model_id}, ${list.source}):`);
        for (const line of describeList(list)) console.log(`   ${line}`);
      }
      console.log(
        `\nmodel ${demo.train.modelId}: nDCG@10 ${demo.train.metrics?.ndcg.toFixed(4)} vs popularity ${demo.train.baseline?.ndcg.toFixed(4)} on the held-out latest 20% of each user's items`,
      );
      console.log(
        `demo ready in ${((Date.now() - started) / 1000).toFixed(0)} s. API: ${server.url}  (admin key: ${config.api.apiKeys[0]})`,
      );
      console.log(
        `  curl '${server.url}/v1/users/${pickShowcaseUsers(demo.data)[0]}/recommendations?k=5&category=books'`,
      );
      console.log(`  curl '${server.url}/v1/items/${demo.data.items[0]!.item_id}/similar?k=5'`);
      console.log(`  curl '${server.url}/health'`);
      if (o['wait'] !== false) {
        console.log(
          'Ctrl-C stops the API, the ingest and fold-in consumers (local ES/Kafka keep running: `npm run infra:down`).',
        );
        await untilSignal();
      }
      await server.close();
      await online.stop();
      await demo.stopIngest();
      await ctx.close();
    });
}
