import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/api/app.ts';
import { deployModel } from '../../src/deploy/index.ts';
import { createRegistry } from '../../src/infra/metrics.ts';
import { startIngest } from '../../src/ingest/service.ts';
import { setup } from '../../src/setup/index.ts';
import { testContext } from './harness.ts';
import { call, ES_ERROR_TEXT, freshDeployment, rawRequest } from './hostile-support.ts';
import { waitUntil } from './wait.ts';

// Hostile input at the HTTP edge (poison-proof pipeline issue, findings 3, 4, 6–11): every hostile
// request is answered 4xx naming what is wrong, never 5xx, never with Elasticsearch's own words.
// The Kafka side of the same inputs is in hostile-topics.test.ts.

const KEY = 'hostile-key';
const auth = { 'x-api-key': KEY };
const EURO_ID = '€'.repeat(256); // 256 characters, 768 UTF-8 bytes
const event = (over: Record<string, unknown> = {}) => ({
  user_id: 'u1',
  item_id: 'i1',
  event_type: 'click',
  timestamp: new Date().toISOString(),
  ...over,
});

// The validation findings need no data: one server on a set-up prefix serves them all.
const ctx = testContext('hapi');
let server: RunningServer;
const get = (path: string, headers: Record<string, string> = {}) =>
  call(server.url, 'GET', path, undefined, headers);

beforeAll(async () => {
  await setup(ctx.es, ctx.kafka, ctx.config, ctx.names, ctx.log);
  server = await startServer({
    ctx,
    registry: createRegistry(false),
    port: 0,
    host: '127.0.0.1',
    options: { apiKeys: [KEY], defaultMode: 'exact', healthConsumerGroups: [] },
  });
});

afterAll(async () => {
  await server?.close();
  await ctx.dispose();
});

describe('3. ids are limited by UTF-8 bytes (256), not characters', () => {
  it('POST /v1/events with a 768-byte user_id → 400 naming user_id; 256 bytes is still accepted', async () => {
    expect(Buffer.byteLength(EURO_ID)).toBe(768);
    const r = await call(server.url, 'POST', '/v1/events', event({ user_id: EURO_ID }), auth);
    expect(r.status).toBe(400);
    expect(r.body.error?.field).toBe('user_id');
    expect(r.body.error?.message).toMatch(/user_id/);
    expect((r.body['errors'] as Array<{ field: string }>)[0]!.field).toBe('user_id');
    // the boundary: 85 × '€' + 'a' is 256 bytes
    const edge = '€'.repeat(85) + 'a';
    expect(Buffer.byteLength(edge)).toBe(256);
    const ok = await call(server.url, 'POST', '/v1/events', event({ user_id: edge }), auth);
    expect(ok.status).toBe(202);
  });

  it('PUT /v1/items with that item_id → 400 naming item_id', async () => {
    const r = await call(server.url, 'PUT', '/v1/items', [{ item_id: EURO_ID, name: 'x' }], auth);
    expect(r.status).toBe(400);
    expect(r.body.error?.field).toBe('items[0].item_id');
  });

  it('GET /v1/users/<768 bytes>/recommendations → 400 naming user_id, not 500', async () => {
    const r = await get(`/v1/users/${encodeURIComponent(EURO_ID)}/recommendations`);
    expect(r.status).toBe(400);
    expect(r.body.error?.field).toBe('user_id');
    expect(r.text).not.toMatch(ES_ERROR_TEXT);
  });
});

describe('4. a context must fit the event mapping; deep nesting is refused before parsing', () => {
  it('"context":{"device":{"x":1}} → 400 naming context.device', async () => {
    const r = await call(server.url, 'POST', '/v1/events', event({ context: { device: { x: 1 } } }), auth);
    expect(r.status).toBe(400);
    expect(r.body.error?.field).toBe('context.device');
  });

  it('a context nested 2,000 deep → 400', async () => {
    const body = `{"user_id":"u1","item_id":"i1","event_type":"click","timestamp":${Date.now()},"context":${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}}`;
    const r = await call(server.url, 'POST', '/v1/events', body, auth);
    expect(r.status).toBe(400);
    expect(r.body.error?.code).toBe('too_deep');
  });

  it('a body nested 50,000 deep → 400 too_deep on every write route, never 5xx', async () => {
    const deep = '['.repeat(50_000) + ']'.repeat(50_000);
    const deepObject = '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000);
    for (const [method, path] of [
      ['POST', '/v1/events'],
      ['PUT', '/v1/items'],
      ['PUT', '/v1/users'],
      ['POST', '/v1/users/u1/recommendations'],
    ] as const) {
      for (const body of [deep, deepObject]) {
        const r = await call(server.url, method, path, body, auth);
        expect(r.status, `${method} ${path}`).toBe(400);
        expect(r.body.error?.code, `${method} ${path}`).toBe('too_deep');
      }
    }
  });
});

describe('6. event types that are Object.prototype names are unknown types', () => {
  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'])(
    'event_type %j → 400 naming event_type',
    async (type) => {
      const r = await call(server.url, 'POST', '/v1/events', event({ event_type: type }), auth);
      expect(r.status).toBe(400);
      expect(r.body.error?.field).toBe('event_type');
    },
  );
});

describe('7. range filters must be finite', () => {
  it.each([
    ['price_min', 'Infinity'],
    ['price_min', '1e309'],
    ['price_max', '-Infinity'],
    ['price_max', '1e309'],
    ['price_min', '-1e309'],
  ])('%s=%s → 400 naming the parameter', async (name, value) => {
    const r = await get(`/v1/users/u/recommendations?${name}=${encodeURIComponent(value)}`);
    expect(r.status).toBe(400);
    expect(r.body.error?.field).toBe(name);
    expect(r.body.error?.message).toContain(name);
  });

  it('also in a POST body (1e309 parses to Infinity in JSON too)', async () => {
    const r = await call(server.url, 'POST', '/v1/users/u/recommendations', '{"price_min":1e309}');
    expect(r.status).toBe(400);
    expect(r.body.error?.field).toBe('price_min');
  });
});

describe('8. write routes check the API key before reading the body', () => {
  // 1.2 MB is over the 1 MB body limit: a route that read the body first would answer 413
  const big = JSON.stringify({ ...event(), context: { note: 'x'.repeat(200) } }).padEnd(1_200_000, ' ');
  const nearLimit = JSON.stringify(
    Array.from({ length: 1000 }, () => ({ ...event(), context: { referrer: 'r'.repeat(200) } })),
  );

  it.each([
    ['POST', '/v1/events'],
    ['PUT', '/v1/items'],
    ['PUT', '/v1/users'],
  ])('%s %s with a ~1 MB body: no key → 401, wrong key → 403', async (method, path) => {
    expect(nearLimit.length).toBeGreaterThan(250_000);
    for (const body of [nearLimit, big]) {
      const none = await call(server.url, method, path, body);
      expect(none.status).toBe(401);
      expect(none.body.error?.code).toBe('unauthorized');
      const wrong = await call(server.url, method, path, body, { 'x-api-key': 'not-the-key' });
      expect(wrong.status).toBe(403);
      expect(wrong.body.error?.code).toBe('forbidden');
    }
    // with the key, the same oversized body is read and refused by size
    const keyed = await call(server.url, method, path, big, auth);
    expect(keyed.status).toBe(413);
  });
});

describe('9. model and run ids in paths are checked before Elasticsearch sees them', () => {
  it.each(['..%2F..%2Fx', '..%2F..', 'UPPER', 'a%2Fb', '_all', '-x', 'x'.repeat(65), 'a%20b', '*'])(
    'POST /v1/models/%s/activate → 400 with no ES error text',
    async (id) => {
      const r = await call(server.url, 'POST', `/v1/models/${id}/activate`, undefined, auth);
      expect(r.status).toBe(400);
      expect(r.body.error?.field).toBe('model_id');
      expect(r.text).not.toMatch(ES_ERROR_TEXT);
    },
  );

  it.each(['..%2F..%2Fetc', '..%2F..%2F..%2Fetc%2Fpasswd', 'UPPER', 'Model-1', '_search', '%2A', 'a,b'])(
    'GET /v1/train/%s → 400 with no ES error text',
    async (id) => {
      const r = await get(`/v1/train/${id}`, auth);
      expect(r.status).toBe(400);
      expect(r.body.error?.field).toBe('run_id');
      expect(r.text).not.toMatch(ES_ERROR_TEXT);
    },
  );

  it('dot segments sent as-is (no client-side URL normalisation) → 400, or 404 when no route matches', async () => {
    for (const [method, path, status] of [
      ['POST', '/v1/models/../activate', 400],
      ['POST', '/v1/models/%2e%2e/activate', 400],
      ['GET', '/v1/train/..', 400],
      ['GET', '/v1/train/%2E%2E', 400],
      ['GET', '/v1/train/../../etc', 404],
    ] as const) {
      const r = await rawRequest(server.url, method, path, auth);
      expect(r.status, `${method} ${path}`).toBe(status);
      expect(r.text, `${method} ${path}`).not.toMatch(ES_ERROR_TEXT);
      if (status === 400)
        expect(JSON.parse(r.text).error.field).toBe(path.includes('models') ? 'model_id' : 'run_id');
    }
  });

  it('a well-formed id that does not exist → 404, also without ES error text', async () => {
    const r = await get('/v1/train/no-such-run', auth);
    expect(r.status).toBe(404);
    expect(r.text).not.toMatch(ES_ERROR_TEXT);
  });
});

describe("10. HEAD runs no query; error messages list only the endpoint's own parameters", () => {
  it('HEAD /v1/users/u1/recommendations → 405 and no served list is logged (GET does log one)', async () => {
    const { ctx: c } = await freshDeployment('hhead');
    const ids = Array.from({ length: 20 }, (_, i) => `i${i}`);
    const users = ['u1', 'u2'];
    const k = 4;
    await deployModel(c, {
      modelId: 'mhead1',
      factors: k,
      itemIds: ids,
      itemFactors: Float32Array.from({ length: ids.length * k }, (_, j) => ((j * 7) % 11) / 11 - 0.4),
      userIds: users,
      userFactors: Float32Array.from({ length: users.length * k }, (_, j) => ((j * 5) % 7) / 7 - 0.3),
    });
    const s = await startServer({
      ctx: c,
      registry: createRegistry(false),
      port: 0,
      host: '127.0.0.1',
      options: {
        apiKeys: [KEY],
        defaultMode: 'exact',
        servedLog: { lingerMs: 10 },
        healthConsumerGroups: [],
      },
    });
    try {
      const log = s.app.servedLog;
      // control: a GET on the same path is served and logged
      const served = await call(s.url, 'GET', '/v1/users/u1/recommendations?k=3');
      expect(served.status).toBe(200);
      expect(served.body['model_id']).toBe('mhead1');
      await log.flush();
      expect(log.sent).toBe(1);
      for (const path of [
        '/v1/users/u1/recommendations',
        '/v1/users/u1/recommendations?k=3',
        '/v1/items/i1/similar',
      ]) {
        const res = await fetch(s.url + path, { method: 'HEAD' });
        expect(res.status, path).toBe(405);
        expect(res.headers.get('allow')).toBe('GET, POST');
      }
      await log.flush();
      expect(log.sent).toBe(1);
      expect(log.failed).toBe(0);
    } finally {
      await s.close();
    }
  });

  it('the similar-items unknown-parameter error lists neither q nor exclude_seen', async () => {
    const r = await get('/v1/items/i1/similar?bogus=1');
    expect(r.status).toBe(400);
    expect(r.body.error?.code).toBe('unknown_parameter');
    expect(r.body.error?.field).toBe('bogus');
    const allowed = /\(allowed: ([^)]*)\)/.exec(r.body.error!.message)?.[1]?.split(', ');
    expect(allowed).toBeDefined();
    expect(allowed).toContain('k');
    expect(allowed).not.toContain('q');
    expect(allowed).not.toContain('exclude_seen');
    // and both are refused there as parameters of another endpoint
    for (const p of ['q=shoes', 'exclude_seen=false']) {
      const x = await get(`/v1/items/i1/similar?${p}`);
      expect(x.status, p).toBe(400);
      expect(x.body.error?.field, p).toBe(p.split('=')[0]);
    }
    // the user endpoint does take them: its own message lists them
    const u = await get('/v1/users/u1/recommendations?bogus=1');
    expect(u.status).toBe(400);
    expect(u.body.error?.message).toMatch(/\bq\b/);
    expect(u.body.error?.message).toMatch(/exclude_seen/);
  });
});

describe('11. /health reports the ingest consumer group', () => {
  it('no ingest running → degraded naming the consumer; ingest running → members ≥ 1', async () => {
    const { ctx: c, defer } = await freshDeployment('hhealth');
    // a live model, so the only thing that can make /health degraded is the consumer
    const ids = ['i0', 'i1', 'i2'];
    await deployModel(c, {
      modelId: 'mhealth1',
      factors: 2,
      itemIds: ids,
      itemFactors: Float32Array.from([1, 0, 0, 1, 1, 1]),
      userIds: ['u1'],
      userFactors: Float32Array.from([1, 0]),
    });
    const s = await startServer({
      ctx: c,
      registry: createRegistry(false),
      port: 0,
      host: '127.0.0.1',
      options: {
        apiKeys: [KEY],
        healthConsumerGroups: ['ingest'],
        healthCacheMs: 0,
        healthTimeoutMs: 10_000,
      },
    });
    defer(() => s.close());
    type Health = {
      status: string;
      degraded_by?: string[];
      consumers: Record<string, { ok: boolean; members: number; group: string }>;
      model: { ok: boolean };
    };
    const health = async () => {
      const r = await call(s.url, 'GET', '/health');
      expect(r.status).toBe(200);
      return r.body as unknown as Health;
    };

    const idle = await health();
    expect(idle.model.ok).toBe(true);
    expect(idle.status).toBe('degraded');
    expect(idle.degraded_by).toEqual(['consumer ingest has no members']);
    expect(idle.consumers['ingest']).toMatchObject({ ok: false, members: 0, group: c.names.groups.ingest });

    const ingest = await startIngest(c, createRegistry(false), { lagIntervalMs: 1000 });
    defer(() => ingest.stop());
    let last: Health | undefined;
    await waitUntil(
      '/health sees the ingest group with members',
      async () => (last = await health()).consumers['ingest']!.members >= 1,
      90_000,
    );
    expect(last!.consumers['ingest']!.ok).toBe(true);
    expect(last!.status).toBe('ok');
    expect(last!.degraded_by).toBeUndefined();
  });
});
