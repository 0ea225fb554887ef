import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { createContext } from '../../app/context.ts';
import { alsParams } from '../../config/als-params.ts';
import { loadConfig, PROJECT_ROOT } from '../../config/index.ts';
import { generateDataset, type ShopDynamics } from '../../demo/generate.ts';
import { ratingRules } from '../../events/rating.ts';
import { checkEvent } from '../../events/validate.ts';
import { pipelineSource } from '../../freshness/pipeline.ts';
import { renderHtml, stepHeader, stepLine, summaryLines } from '../../freshness/report.ts';
import {
  memorySource,
  runReplay,
  variantNames,
  type ReplayEvent,
  type ReplaySource,
} from '../../freshness/replay.ts';
import { setup } from '../../setup/index.ts';
import { readRows } from '../read-rows.ts';
import { removeDeployment } from '../../setup/teardown.ts';

/** tiny: the integration test; small: about a minute, large: a few minutes on two shared cores (both through Kafka and the event store). */
export const FRESHNESS_SIZES = {
  tiny: { users: 150, items: 80, days: 12, events: 5_000, warmup: 7 },
  small: { users: 1_000, items: 400, days: 28, events: 30_000, warmup: 14 },
  large: { users: 4_000, items: 1_200, days: 35, events: 100_000, warmup: 14 },
} as const;

/** A growing shop over weeks: see ShopDynamics, and docs/operations.md "Measuring what the stream buys on your data". */
export const FRESHNESS_DYNAMICS: Required<ShopDynamics> = {
  newUsers: 0.3,
  newItems: 0.2,
  novelty: 0.15,
  drift: 0.3,
  seasonality: 0.4,
};

interface Opts {
  size: keyof typeof FRESHNESS_SIZES;
  users?: string;
  items?: string;
  days?: string;
  events?: string;
  seed: string;
  warmup?: string;
  retrain: string;
  stepHours: string;
  popularityDays: string;
  onlineLagHours: string;
  factors?: string;
  iterations?: string;
  store: 'es' | 'memory';
  out: string;
  prefix?: string;
  keep?: boolean;
  input?: string;
}

const num = (v: string | undefined, name: string): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${v}`);
  return n;
};

export function registerFreshnessCommand(program: Command): void {
  program
    .command('evaluate-freshness')
    .description(
      'prequential replay of a drifting shop: batch retrained every N steps vs batch + online fold-in vs recent popularity, events through Kafka into the event store',
    )
    .option('--size <size>', `preset: ${Object.keys(FRESHNESS_SIZES).join(', ')}`, 'small')
    .option('--users <n>')
    .option('--items <n>')
    .option('--days <n>')
    .option('--events <n>')
    .option('--seed <n>', 'generator seed', '42')
    .option('--warmup <steps>', 'steps revealed before the first scored one')
    .option('--retrain <list>', 'batch retrain periods in steps', '1,7')
    .option('--step-hours <h>', 'step length', '24')
    .option('--popularity-days <d>', 'window of the popularity floor', '7')
    .option('--online-lag-hours <h>', 'how far the online consumer is behind the stream', '0')
    .option('--factors <k>', 'ALS factors (default [als] factors)')
    .option('--iterations <n>', 'ALS iterations (default [als] iterations)')
    .option(
      '--store <es|memory>',
      'es: Kafka → ingest → event store → training scan; memory: the same reader without ES/Kafka',
      'es',
    )
    .option(
      '--out <dir>',
      'where the JSON and HTML reports go',
      path.join(PROJECT_ROOT, 'bench', 'freshness', 'results'),
    )
    .option(
      '--input <file>',
      'replay this history (JSON Lines or CSV events, as `import events` reads them) instead of the generated shop; no drift labels',
    )
    .option(
      '--prefix <prefix>',
      'index/topic prefix of the run (default freshness-<time>-; removed afterwards)',
    )
    .option('--keep', 'keep the run’s indices and topics')
    .action(async (o: Opts) => {
      const preset = FRESHNESS_SIZES[o.size];
      if (!preset) throw new Error(`--size must be one of ${Object.keys(FRESHNESS_SIZES).join(', ')}`);
      if (o.store !== 'es' && o.store !== 'memory') throw new Error('--store must be es or memory');
      const gen = {
        users: num(o.users, 'users') ?? preset.users,
        items: num(o.items, 'items') ?? preset.items,
        days: num(o.days, 'days') ?? preset.days,
        events: num(o.events, 'events') ?? preset.events,
        seed: Number(o.seed),
      };
      const retrainEvery = o.retrain.split(',').map((s) => num(s.trim(), 'retrain')!);
      const prefix = o.prefix ?? `freshness-${Date.now().toString(36)}-`;
      // a run writes a whole shop's events: never into the configured (maybe production) prefix
      const config = loadConfig({
        env: { LOG_LEVEL: 'warn', ...process.env, RECSYS_INDEX_PREFIX: prefix, RECSYS_TOPIC_PREFIX: prefix },
      });
      const rules = ratingRules(config);
      const params = alsParams(config.als, {
        ...(o.factors ? { factors: num(o.factors, 'factors')! } : {}),
        ...(o.iterations ? { iterations: num(o.iterations, 'iterations')! } : {}),
      });
      const t0 = performance.now();
      let events: ReplayEvent[];
      let driftAt = new Map<string, number>();
      if (o.input) {
        // the ingest's own validation: a row it would dead-letter is not part of the history
        events = [];
        const refused: string[] = [];
        for await (const row of readRows(o.input)) {
          const c = row.error ? undefined : checkEvent(row.value, config.events);
          if (c?.ok) events.push(c.event);
          else
            refused.push(
              `line ${row.line}: ${row.error ?? (c && !c.ok ? `${c.error.field ?? ''} ${c.error.message}` : '')}`,
            );
        }
        console.log(
          `history: ${events.length} events from ${o.input}${refused.length ? `; ${refused.length} rows refused (${refused.slice(0, 3).join('; ')})` : ''}; store ${o.store}; ALS k=${params.factors}, ${params.iterations} iterations`,
        );
      } else {
        const ds = generateDataset({ ...gen, malformedFraction: 0, dynamics: FRESHNESS_DYNAMICS });
        events = ds.events;
        driftAt = new Map(ds.users.filter((u) => u._drift).map((u) => [u.user_id, Date.parse(u._drift!.at)]));
        console.log(
          `shop: ${gen.users} users (${ds.users.filter((u) => u._arrived).length} arriving, ${driftAt.size} drifting), ${gen.items} items (${ds.items.filter((i) => i.created_at >= ds.events[0]!.timestamp.slice(0, 10)).length} released in the window), ${ds.events.length} events over ${gen.days} days; store ${o.store}${o.store === 'es' ? `, prefix ${prefix}` : ''}; ALS k=${params.factors}, ${params.iterations} iterations`,
        );
      }

      const ctx = o.store === 'es' ? createContext(config) : undefined;
      let roundTrips = 0;
      ctx?.es.diagnostic.on('response', () => roundTrips++);
      let source: ReplaySource & { close?: () => Promise<void>; stats?: () => unknown } = memorySource(rules);
      try {
        if (ctx) {
          await setup(ctx.es, ctx.kafka, ctx.config, ctx.names, ctx.log);
          source = await pipelineSource(ctx, { rules, roundTrips: () => roundTrips });
        }
        const popularityDays = num(o.popularityDays, 'popularity-days')!;
        const variants = variantNames(
          [...new Set(retrainEvery)].sort((a, b) => a - b),
          popularityDays,
        );
        for (const l of stepHeader(variants)) console.log(l);
        const result = await runReplay(events, source, {
          params,
          rules,
          stepMs: num(o.stepHours, 'step-hours')! * 3_600_000,
          warmupSteps: num(o.warmup, 'warmup') ?? preset.warmup,
          retrainEvery,
          popularityDays,
          onlineLagMs: Number(o.onlineLagHours) * 3_600_000,
          seenLimit: config.serving.seenEventsLimit,
          driftAt,
          onStep: (s) => console.log(stepLine(s, variants)),
        });
        const seconds = (performance.now() - t0) / 1000;
        console.log('');
        for (const l of summaryLines(result)) console.log(l);
        const pipeline = source.stats?.();
        const label = o.input ? 'input' : o.size;
        console.log(
          `\n${label}: ${seconds.toFixed(1)} s in all${pipeline ? `; through Kafka → ingest → event store: ${JSON.stringify(pipeline)}` : ''}`,
        );
        mkdirSync(o.out, { recursive: true });
        const base = path.join(o.out, `freshness-${label}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
        writeFileSync(
          `${base}.json`,
          JSON.stringify(
            {
              size: o.size,
              ...(o.input ? { input: o.input } : { generator: { ...gen, dynamics: FRESHNESS_DYNAMICS } }),
              store: o.store,
              params,
              seconds,
              pipeline,
              result,
            },
            null,
            2,
          ),
        );
        const title = o.input
          ? `What the stream buys: ${path.basename(o.input)} (${events.length} events)`
          : `What the stream buys: ${o.size} shop (${gen.users} users, ${gen.items} items, ${events.length} events)`;
        writeFileSync(
          `${base}.html`,
          renderHtml(result, title, [
            `Store: ${o.store === 'es' ? 'events produced to Kafka, stored by recsys ingest, training read by the sliced scan of the event store' : 'in memory (the same reader, no ES/Kafka)'}. Total ${seconds.toFixed(1)} s.`,
          ]),
        );
        console.log(`wrote ${base}.json and ${base}.html`);
      } finally {
        await source.close?.();
        if (ctx) {
          if (!o.keep) await removeDeployment(ctx.es, ctx.kafka, ctx.config);
          await ctx.close();
        }
      }
    });
}
