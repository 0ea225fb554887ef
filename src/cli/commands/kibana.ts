import type { Command } from 'commander';
import { loadConfig } from '../../config/index.ts';
import { importSavedObjects } from '../../kibana/index.ts';

export function registerKibanaCommands(program: Command): void {
  const kibana = program.command('kibana').description('Kibana dashboards (saved objects under kibana/)');
  kibana
    .command('import')
    .description('import data views, visualisations and dashboards through the saved objects API')
    .requiredOption('--url <url>', 'Kibana base URL, e.g. http://localhost:5601')
    .option('--space <id>', 'Kibana space')
    .option('--api-key <key>', 'Kibana API key (else KIBANA_USERNAME / KIBANA_PASSWORD)')
    .action(async (o: { url: string; space?: string; apiKey?: string }) => {
      const config = loadConfig();
      const summary = await importSavedObjects({
        kibanaUrl: o.url,
        prefix: config.indexPrefix,
        spaceId: o.space,
        apiKey: o.apiKey,
        username: process.env['KIBANA_USERNAME'],
        password: process.env['KIBANA_PASSWORD'],
      });
      console.log(JSON.stringify(summary, null, 2));
      if (!summary.success) process.exitCode = 1;
    });
}
