// The public surface of the configuration: schema.ts defines every setting, load.ts reads them,
// docs.ts renders docs/configuration.md and recsys.example.toml, explain.ts `recsys config`.
import type { Config } from './schema.ts';

export { PROJECT_ROOT } from './root.ts';
export {
  DEFAULT_EVENT_WEIGHTS,
  DEV_RECOMMENDATION_ID_SECRET,
  type Config,
  type Deployment,
  type Settings,
  type SettingsOverrides,
  type SearchedAls,
} from './schema.ts';
export {
  ConfigError,
  DEFAULT_CONFIG_FILE,
  loadConfig,
  loadSettings,
  type ConfigSources,
  type LoadedConfig,
  type Source,
} from './load.ts';
export { settingsToml } from './settings.ts';
export { unknownEnvVariables, unknownEnvWarning } from './unknown-env.ts';
export { settingsFileEnv } from './settings-file.ts';

/**
 * A warning for `serve` / `ingest` when the public development secret signs ids against a cluster
 * that is not on this machine (anyone could then forge attributions), else undefined.
 */
export function recommendationIdSecretWarning(config: Config): string | undefined {
  if (!config.recommendationIds.secretIsDefault || !config.es.url) return undefined;
  const host = new URL(config.es.url).hostname;
  if (host === 'localhost' || host === '127.0.0.1' || host === '[::1]' || host === '::1') return undefined;
  return 'RECOMMENDATION_ID_SECRET is the public development default while ES_URL is not local: anyone can forge recommendation ids and attributions; set a secret of your own (the same on every API and ingest host)';
}
