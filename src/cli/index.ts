import { Command, CommanderError } from 'commander';
import { ConfigError, loadConfig } from '../config/index.ts';
import { DomainError } from '../errors/index.ts';
import { infraDown, infraStatus, infraUp, type ServiceStatus } from '../infra/local/index.ts';
import { createLogger } from '../infra/logger.ts';
import { checkConnections } from '../infra/connection-check.ts';
import { setup } from '../setup/index.ts';
import { esRoles, kafkaAcls } from '../setup/roles.ts';
import { namesFor } from '../config/names.ts';
import { createContext } from '../app/context.ts';
import { startIngest } from '../ingest/service.ts';
import { createRegistry } from '../infra/metrics.ts';
import { stopOnSignal } from './shutdown.ts';
import { registerTrainCommands } from './commands/train.ts';
import { registerDataCommands } from './commands/data.ts';
import { registerKibanaCommands } from './commands/kibana.ts';
import { registerBenchCommand } from './commands/bench.ts';
import { registerServeCommand } from './commands/serve.ts';
import { registerDemoCommand } from './commands/demo.ts';
import { registerEventStoreCommands } from './commands/event-store.ts';
import { registerFreshnessCommand } from './commands/freshness.ts';
import { registerReportCommand } from './commands/report.ts';
import { registerConfigCommand } from './commands/config.ts';
import { registerPrivacyCommands } from './commands/privacy.ts';

function printStatus(rows: ServiceStatus[]): void {
  for (const r of rows) {
    const state = r.running ? 'running' : 'stopped';
    const parts = [
      r.service.padEnd(13),
      state.padEnd(8),
      r.where,
      r.version ? `v${r.version}` : '',
      r.pid ? `pid ${r.pid}` : '',
      r.managed,
      r.detail ?? '',
    ];
    console.log(parts.filter(Boolean).join('  '));
  }
}

export function buildProgram(): Command {
  const program = new Command('recsys')
    .description('Recommendations on Kafka + Elasticsearch')
    .showHelpAfterError();

  const infra = program
    .command('infra')
    .description('local Elasticsearch + Kafka (skipped for ES_URL / KAFKA_BROKERS)');
  infra
    .command('up')
    .description('download once, start (or reuse) and wait until healthy')
    .action(async () => {
      const config = loadConfig();
      printStatus(await infraUp(config, createLogger(config.logLevel)));
    });
  infra
    .command('down')
    .description('stop the local services by their recorded pids')
    .action(async () => {
      const config = loadConfig();
      await infraDown(config, createLogger(config.logLevel));
      printStatus(await infraStatus(config));
    });
  infra
    .command('status')
    .description('what runs where, with versions')
    .action(async () => printStatus(await infraStatus(loadConfig())));

  program
    .command('check')
    .description(
      'connect to Elasticsearch and Kafka as configured; a wrong CA, credential or protocol is one line naming the setting',
    )
    .action(async () => {
      const r = await checkConnections(loadConfig());
      console.log(`elasticsearch: ok (${r.elasticsearch})`);
      console.log(`kafka: ok (${r.kafkaBrokers} broker(s))`);
    });

  program
    .command('roles')
    .description(
      "each process's Elasticsearch role (PUT _security/role body) and Kafka ACLs for this deployment's prefixes, as JSON",
    )
    .action(() => {
      const config = loadConfig();
      const names = namesFor(config);
      const out = { elasticsearch: esRoles(names), kafka: kafkaAcls(names, config.topicPrefix) };
      console.log(JSON.stringify(out, null, 2));
    });

  program
    .command('setup')
    .description('apply es-mappings/ (templates, indices) and create Kafka topics; idempotent')
    .action(async () => {
      const ctx = createContext();
      try {
        await checkConnections(ctx.config);
        const r = await setup(ctx.es, ctx.kafka, ctx.config, ctx.names, ctx.log);
        console.log(`templates: ${r.templates.join(', ')}`);
        console.log(
          `indices created: ${r.indicesCreated.join(', ') || '-'}; already there: ${r.indicesExisting.join(', ') || '-'}`,
        );
        console.log(
          `topics created: ${r.topicsCreated.join(', ') || '-'}; already there: ${r.topicsExisting.join(', ') || '-'}`,
        );
      } finally {
        await ctx.close();
      }
    });

  program
    .command('ingest')
    .description('consume events (→ event store, invalid → DLQ) and served lists (→ recommendations-*)')
    .action(async () => {
      const ctx = createContext();
      const service = await startIngest(ctx, createRegistry(), {
        metricsPort: ctx.config.metricsPort,
      });
      await stopOnSignal(
        async () => {
          await service.stop();
          await ctx.close();
        },
        { log: ctx.log, graceMs: ctx.config.shutdownGraceSeconds * 1000 },
      );
    });

  registerTrainCommands(program);
  registerReportCommand(program);
  registerDataCommands(program);
  registerKibanaCommands(program);
  registerBenchCommand(program);
  registerServeCommand(program);
  registerDemoCommand(program);
  registerEventStoreCommands(program);
  registerPrivacyCommands(program);
  registerFreshnessCommand(program);
  registerConfigCommand(program);
  return program;
}

async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().exitOverride().parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode);
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(2);
    }
    // a refusal in the domain's words (unknown model, bad argument) is one line; anything else is
    // unexpected, and its stack is what a bug report needs
    if (e instanceof DomainError) console.error(`recsys: ${e.message}`);
    else console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(1);
  }
}

await main(process.argv);
