// Environment variables that look like settings of this system but are none: a typo, or a setting
// of another version (ES_CA_FINGERPRINT before TLS settings existed) would otherwise be ignored in
// silence. Retired names are refused by the loader with their new place; these are only reported.
import { ENV_SETTINGS, retiredEnvVariables } from './settings.ts';

const PREFIXES = /^(RECSYS|ES|KAFKA)_/;

/** Read by the Elasticsearch and Kafka distributions' own launchers, not by this system. */
const TOOLS = new Set([
  'ES_JAVA_OPTS',
  'ES_JAVA_HOME',
  'ES_HOME',
  'ES_PATH_CONF',
  'ES_TMPDIR',
  'KAFKA_HEAP_OPTS',
  'KAFKA_OPTS',
  'KAFKA_JVM_PERFORMANCE_OPTS',
  'KAFKA_LOG4J_OPTS',
  'KAFKA_GC_LOG_OPTS',
  'KAFKA_JMX_OPTS',
  'KAFKA_DEBUG',
]);

/** Names in `env` with a RECSYS_, ES_ or KAFKA_ prefix that no setting reads, sorted. */
export function unknownEnvVariables(env: Record<string, string | undefined>): string[] {
  const known = new Set<string>([
    ...ENV_SETTINGS.map((s) => s.env!),
    ...retiredEnvVariables().keys(),
    ...TOOLS,
  ]);
  return Object.keys(env)
    .filter((name) => PREFIXES.test(name) && !known.has(name))
    .sort();
}

/** The startup warning for them, or undefined when there are none. */
export function unknownEnvWarning(env: Record<string, string | undefined>): string | undefined {
  const unknown = unknownEnvVariables(env);
  if (!unknown.length) return undefined;
  return `ignoring environment variables no setting reads: ${unknown.join(', ')} (typo, or a setting of another version? \`recsys config\` lists every setting)`;
}
