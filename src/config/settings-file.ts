import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SettingsOverrides } from './schema.ts';
import { settingsToml } from './settings.ts';

/**
 * The environment that gives a child process (`recsys ingest`, the API, …) these settings: a
 * settings file written for it, named by RECSYS_CONFIG, removed when this process exits. Tests and
 * benches use it to hand what they set in code to the commands they start.
 */
export function settingsFileEnv(label: string, settings: SettingsOverrides): { RECSYS_CONFIG: string } {
  const file = path.join(tmpdir(), `recsys-${label}-${randomBytes(4).toString('hex')}.toml`);
  writeFileSync(file, settingsToml(settings));
  process.once('exit', () => rmSync(file, { force: true }));
  return { RECSYS_CONFIG: file };
}
