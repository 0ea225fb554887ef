import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, ENV_SPEC, PROJECT_ROOT, loadConfig } from '../../src/config/index.ts';

describe('config', () => {
  it('has defaults for a local setup', () => {
    const c = loadConfig({});
    expect(c.es.local).toBe(true);
    expect(c.kafka.local).toBe(true);
    expect(c.train.factors).toBe(64);
    expect(c.train.pinned).toEqual([]);
    expect(loadConfig({ ALS_ALPHA: '3', ALS_SOLVER: 'cholesky' }).train.pinned).toEqual(['alpha']);
    expect(c.events.weights['purchase']).toBe(5);
  });

  it('coerces and validates, naming the variable', () => {
    expect(loadConfig({ ALS_FACTORS: '32', KAFKA_SSL: 'true' }).train.factors).toBe(32);
    expect(() => loadConfig({ ALS_FACTORS: '1' })).toThrowError(ConfigError);
    expect(() => loadConfig({ ALS_FACTORS: '1' })).toThrowError(/ALS_FACTORS/);
    expect(() => loadConfig({ KAFKA_SASL_MECHANISM: 'plain' })).toThrowError(/KAFKA_SASL_USERNAME/);
    expect(() => loadConfig({ RECSYS_INDEX_PREFIX: 'Upper-' })).toThrowError(/RECSYS_INDEX_PREFIX/);
  });

  it('the README documents every variable', () => {
    const readme = readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
    const missing = Object.keys(ENV_SPEC).filter((name) => !readme.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });
});
