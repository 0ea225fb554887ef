import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { createEsClient, esTls, fingerprintWithColons, kafkaTls } from '../../src/infra/clients.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'recsys-clients-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ca = path.join(dir, 'ca.crt');
writeFileSync(ca, 'PEM');
const config = (env: Record<string, string>) => loadConfig({ env, file: null });

describe('client construction from the connection settings', () => {
  it('an Elastic Cloud id becomes the https URL of its Elasticsearch', async () => {
    const id = `shop:${Buffer.from('eu-west-1.aws.example.io:443$abc123$kib456').toString('base64')}`;
    const es = createEsClient(config({ ES_CLOUD_ID: id, ES_API_KEY: 'k' }));
    try {
      const urls = es.connectionPool.connections.map((c) => c.url.href);
      expect(urls).toEqual(['https://abc123.eu-west-1.aws.example.io/']);
    } finally {
      await es.close();
    }
  });

  it('a CA fingerprint alone replaces chain verification; with a CA file the chain is verified', () => {
    const fp = 'ab'.repeat(32);
    expect(fingerprintWithColons(fp)).toBe(Array(32).fill('AB').join(':'));
    expect(esTls(config({ ES_URL: 'https://h:9200', ES_CA_FINGERPRINT: fp }))).toMatchObject({
      rejectUnauthorized: false,
    });
    const both = esTls(config({ ES_URL: 'https://h:9200', ES_CA_FINGERPRINT: fp, ES_CA_FILE: ca }));
    expect(both?.rejectUnauthorized).toBeUndefined();
    expect(String(both?.ca)).toBe('PEM');
    expect(esTls(config({}))).toBeUndefined();
  });

  it('Kafka: plaintext, TLS with the system CAs, or TLS with the given CA', () => {
    expect(kafkaTls(config({}))).toBe(false);
    expect(kafkaTls(config({ KAFKA_SSL: 'true' }))).toBe(true);
    expect(kafkaTls(config({ KAFKA_CA_FILE: ca }))).toEqual({ ca: ['PEM'], cert: undefined, key: undefined });
  });
});
