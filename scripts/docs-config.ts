// `npm run docs:config`: writes docs/configuration.md and recsys.example.toml from the schema.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/config/index.ts';
import {
  CONFIG_DOC_PATH,
  EXAMPLE_CONFIG_PATH,
  renderConfigDoc,
  renderExampleConfig,
} from '../src/config/docs.ts';

for (const [file, text] of [
  [CONFIG_DOC_PATH, renderConfigDoc()],
  [EXAMPLE_CONFIG_PATH, renderExampleConfig()],
] as const) {
  writeFileSync(path.join(PROJECT_ROOT, file), text);
  console.log(`wrote ${file}`);
}
