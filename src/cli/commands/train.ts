import type { Command } from 'commander';
import { deployModel } from '../../deploy/index.ts';
import { modelLifecycle } from '../../model/lifecycle.ts';
import { createRegistry } from '../../infra/metrics.ts';
import { artifactStore, loadArtifact } from '../../model/artifacts.ts';
import { startOnline } from '../../online/service.ts';
import { runTraining, type TrainRunOptions, type TrainRunResult } from '../../release/run.ts';
import { startScheduler } from '../../release/schedule.ts';
import { runTuning } from '../../train/tune.ts';
import { createContext } from '../../app/context.ts';
import { progressBar } from '../progress.ts';
import { stopOnSignal } from '../shutdown.ts';

function fmt(x: number | undefined): string {
  return x === undefined ? '-' : x.toFixed(4);
}

export function printRun(r: TrainRunResult): void {
  console.log(`model ${r.modelId}: ${r.status}${r.error ? ` (${r.error})` : ''}`);
  if (r.metrics && r.baseline) {
    console.log('              nDCG@10  prec@10  recall@10  MAP@10   coverage  top-1% share');
    for (const [name, m] of [
      ['ALS', r.metrics],
      ['popularity', r.baseline],
    ] as const) {
      console.log(
        `  ${name.padEnd(11)} ${fmt(m.ndcg)}   ${fmt(m.precision)}   ${fmt(m.recall)}     ${fmt(m.map)}   ${fmt(m.coverage)}    ${fmt(m.popularity_bias)}`,
      );
    }
  }
  if (r.params && r.tuning) {
    const p = r.params;
    console.log(
      `params: k=${String(p['factors'])} λ=${String(p['regularization'])} α=${String(p['alpha'])} ${String(p['weighting'])} — ${r.tuning.source}${r.tuning.reason ? ` (${r.tuning.reason})` : ''}`,
    );
  }
  if (r.gate) console.log(`gate: ${r.gate.passed ? 'passed' : 'held back'}: ${r.gate.reason}`);
  if (r.skipped.total)
    console.log(
      `skipped ${r.skipped.total} events: ${r.skipped.by_reason.map((b) => `${b.reason} ×${b.count}`).join(', ')}`,
    );
  if (r.deploy)
    console.log(
      `deployed ${r.deploy.items} items (${r.deploy.itemsWithFactor} with factors), ${r.deploy.users} users in ${r.deploy.seconds.toFixed(1)} s`,
    );
  if (r.deploy?.skipped.total)
    console.log(
      `deploy skipped ${r.deploy.skippedItems} items, ${r.deploy.skippedUsers} users: ${r.deploy.skipped.by_reason.map((b) => `${b.stage} ${b.reason} ×${b.count}`).join(', ')}`,
    );
  console.log(
    `timings (s): ${Object.entries(r.timings)
      .map(([k, v]) => `${k.replace(/_seconds$/, '')} ${v.toFixed(2)}`)
      .join(', ')}`,
  );
}

/** Progress callback: an iteration bar for training, a bar for deploy loading, lines otherwise. */
export function trainProgress(iterations: number): NonNullable<TrainRunOptions['onProgress']> {
  let bar: ReturnType<typeof progressBar> | undefined;
  let deployBar: ReturnType<typeof progressBar> | undefined;
  let deployPhase = '';
  return (phase, detail) => {
    if (phase === 'iteration') {
      bar ??= progressBar('ALS', iterations);
      bar.update(Number(detail?.['iteration']), `loss ${Number(detail?.['loss']).toExponential(3)}`);
      if (Number(detail?.['iteration']) === iterations) {
        bar.stop();
        bar = undefined;
      }
    } else if (phase === 'deploy_progress') {
      if (deployPhase !== detail?.['phase']) {
        deployBar?.stop();
        deployPhase = String(detail?.['phase']);
        deployBar = progressBar(deployPhase, Number(detail?.['total']));
      }
      deployBar!.update(Number(detail?.['done']));
    } else {
      if (deployBar) {
        deployBar.stop();
        deployBar = undefined;
      }
      process.stderr.write(`» ${phase}${detail ? ` ${JSON.stringify(detail)}` : ''}\n`);
    }
  };
}

export function registerTrainCommands(program: Command): void {
  program
    .command('train')
    .description('train once: read ratings, ALS, evaluate vs popularity, record, gate, deploy')
    .option('--reader <reader>', 'scan | composite', 'scan')
    .option('--split <split>', 'temporal | random', 'temporal')
    .option('--holdout <n>', 'per-user holdout: count ≥ 1 or fraction', '0.2')
    .option('--factors <k>', 'override [als] factors')
    .option('--iterations <n>', 'override [als] iterations')
    .option('--no-deploy', 'stop after the gate')
    .option('--stage', 'if the gate passes, deploy without going live (candidate of an experiment)')
    .action(
      async (o: {
        reader: 'scan';
        split: 'temporal';
        holdout: string;
        factors?: string;
        iterations?: string;
        deploy: boolean;
        stage?: boolean;
      }) => {
        const ctx = createContext();
        try {
          const params = {
            ...(o.factors ? { factors: Number(o.factors) } : {}),
            ...(o.iterations ? { iterations: Number(o.iterations) } : {}),
          };
          const r = await runTraining(ctx, {
            trigger: 'cli',
            reader: o.reader,
            split: o.split,
            holdout: Number(o.holdout),
            deploy: o.deploy,
            stage: o.stage ?? false,
            params,
            onProgress: trainProgress(params.iterations ?? ctx.config.als.iterations),
          });
          printRun(r);
          if (r.status === 'failed') process.exitCode = 1;
        } finally {
          await ctx.close();
        }
      },
    );

  const list = (v: string) => v.split(',').map(Number);
  program
    .command('tune')
    .description(
      'grid search over factors, λ, α and iterations on a validation split; results go to the tuning index',
    )
    .option('--factors <list>', 'e.g. 32,64', list)
    .option('--regularization <list>', 'e.g. 0.1,1,10', list)
    .option('--alpha <list>', 'e.g. 5,10,20', list)
    .option('--iterations <list>', 'e.g. 10,15', list)
    .action(
      async (grid: {
        factors?: number[];
        regularization?: number[];
        alpha?: number[];
        iterations?: number[];
      }) => {
        const ctx = createContext();
        try {
          const { runId, results } = await runTuning(ctx, {
            grid,
            onResult: (r) =>
              process.stderr.write(
                `  k=${r.params.factors} λ=${r.params.regularization} α=${r.params.alpha} it=${r.params.iterations}: nDCG@10 ${fmt(r.metrics.ndcg)}\n`,
              ),
          });
          console.log(`tuning run ${runId} (recorded in ${ctx.names.tuning}), best first:`);
          console.log('  factors  λ        α      iter   nDCG@10  prec@10  train s');
          for (const r of results)
            console.log(
              `  ${String(r.params.factors).padEnd(8)} ${String(r.params.regularization).padEnd(8)} ${String(r.params.alpha).padEnd(6)} ${String(r.params.iterations).padEnd(6)} ${fmt(r.metrics.ndcg)}   ${fmt(r.metrics.precision)}   ${r.trainSeconds.toFixed(2)}`,
            );
        } finally {
          await ctx.close();
        }
      },
    );

  program
    .command('deploy <model_id>')
    .description('deploy a trained model (factors from the artefact store) and make it live')
    .option('--stage', 'build and keep its indices without going live (candidate of an experiment)')
    .action(async (modelId: string, o: { stage?: boolean }) => {
      const ctx = createContext();
      try {
        const a = await loadArtifact(artifactStore(ctx), modelId);
        const bars = new Map<string, ReturnType<typeof progressBar>>();
        const r = await deployModel(
          ctx,
          {
            ...a,
            recentItems: new Map(Object.entries(a.recentItems)),
            popularity: new Map(Object.entries(a.popularity)),
          },
          {
            stage: o.stage ?? false,
            onProgress: (phase, done, total) =>
              (bars.get(phase) ?? bars.set(phase, progressBar(phase, total)).get(phase)!).update(done),
          },
        );
        for (const b of bars.values()) b.stop();
        if (r.staged)
          console.log(
            `model ${r.modelId} staged (not live): ${r.items} items, ${r.users} users in ${r.seconds.toFixed(1)} s`,
          );
        else
          console.log(
            `model ${r.modelId} live: ${r.items} items, ${r.users} users in ${r.seconds.toFixed(1)} s (previous: ${r.previousModelId ?? 'none'})`,
          );
        if (r.skipped.total)
          console.log(
            `skipped ${r.skippedItems} items, ${r.skippedUsers} users: ${r.skipped.by_reason.map((b) => `${b.stage} ${b.reason} ×${b.count}`).join(', ')}`,
          );
      } finally {
        await ctx.close();
      }
    });

  program
    .command('rollback [model_id]')
    .description('make a kept version live again (default: the one live before the current)')
    .action(async (modelId?: string) => {
      const ctx = createContext();
      try {
        const r = await modelLifecycle(ctx).rollback(modelId);
        console.log(`live: ${r.modelId} (was ${r.previousModelId ?? 'none'})`);
      } finally {
        await ctx.close();
      }
    });

  program
    .command('activate <model_id>')
    .description('make a deployed version live (roll forward or back)')
    .action(async (modelId: string) => {
      const ctx = createContext();
      try {
        const r = await modelLifecycle(ctx).activate(modelId);
        console.log(`live: ${r.modelId} (was ${r.previousModelId ?? 'none'})`);
      } finally {
        await ctx.close();
      }
    });

  program
    .command('schedule')
    .description('train → evaluate → gate → deploy on TRAIN_SCHEDULE (cron), single-flight via a lock in ES')
    .option('--now', 'also run once right away')
    .action(async (o: { now?: boolean }) => {
      const ctx = createContext();
      const s = startScheduler(ctx);
      if (o.now) void s.tick().then((r) => r && printRun(r));
      await stopOnSignal(
        async () => {
          await s.stop();
          await ctx.close();
        },
        { log: ctx.log, graceMs: ctx.config.shutdownGraceSeconds * 1000 },
      );
    });

  program
    .command('online')
    .description('online fold-in: recompute user factors from new events against the live model')
    .action(async () => {
      const ctx = createContext();
      const svc = await startOnline(ctx, createRegistry());
      await stopOnSignal(
        async () => {
          await svc.stop();
          await ctx.close();
        },
        { log: ctx.log, graceMs: ctx.config.shutdownGraceSeconds * 1000 },
      );
    });
}
