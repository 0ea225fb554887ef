import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  DEV_RECOMMENDATION_ID_SECRET,
  loadConfig,
  recommendationIdSecretWarning,
} from '../../src/config/index.ts';

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

  it('the recommendation-id secret: a documented default, at least 16 characters, a warning when the default meets a remote cluster', () => {
    expect(loadConfig({}).recommendationIds).toEqual({
      secret: DEV_RECOMMENDATION_ID_SECRET,
      secretIsDefault: true,
      previousSecrets: [],
    });
    expect(() => loadConfig({ RECOMMENDATION_ID_SECRET: 'short' })).toThrowError(/RECOMMENDATION_ID_SECRET/);
    expect(recommendationIdSecretWarning(loadConfig({}))).toBeUndefined();
    expect(recommendationIdSecretWarning(loadConfig({ ES_URL: 'http://127.0.0.1:9200' }))).toBeUndefined();
    expect(recommendationIdSecretWarning(loadConfig({ ES_URL: 'https://es.example.com:9243' }))).toMatch(
      /RECOMMENDATION_ID_SECRET.*forge/,
    );
    const own = loadConfig({
      ES_URL: 'https://es.example.com:9243',
      RECOMMENDATION_ID_SECRET: 'a-secret-of-our-own-123',
    });
    expect(own.recommendationIds.secretIsDefault).toBe(false);
    expect(recommendationIdSecretWarning(own)).toBeUndefined();
    expect(
      loadConfig({ RECOMMENDATION_ID_PREVIOUS_SECRETS: 'rotated-out-secret-1,rotated-out-secret-2' })
        .recommendationIds.previousSecrets,
    ).toEqual(['rotated-out-secret-1', 'rotated-out-secret-2']);
    expect(loadConfig({}).recommendationIds.previousSecrets).toEqual([]);
    expect(() =>
      loadConfig({ RECOMMENDATION_ID_PREVIOUS_SECRETS: 'long-enough-secret-1,short' }),
    ).toThrowError(/RECOMMENDATION_ID_PREVIOUS_SECRETS/);
  });

  it('retired variables are refused, not silently ignored; HYBRID_RRF_K is validated', () => {
    expect(loadConfig({}).api.hybrid.rrfK).toBe(60);
    expect(loadConfig({ HYBRID_RRF_K: '10' }).api.hybrid.rrfK).toBe(10);
    expect(() => loadConfig({ HYBRID_RRF_K: '-1' })).toThrow(/HYBRID_RRF_K/);
    for (const name of ['HYBRID_TEXT_BOOST', 'HYBRID_VECTOR_BOOST']) {
      const e = (() => {
        try {
          loadConfig({ [name]: '2' });
        } catch (err) {
          return err;
        }
      })();
      expect(e).toBeInstanceOf(ConfigError);
      expect(String((e as Error).message)).toMatch(new RegExp(`${name}.*retired.*HYBRID_RRF_K`));
    }
  });
});
