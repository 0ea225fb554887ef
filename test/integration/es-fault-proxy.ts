import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Which `_bulk` requests to reject. `n` counts bulk requests through the proxy from 1 (since the
 * last reset()); `i` is an item's position in that request's response.
 */
export interface BulkFaults {
  /** answer this bulk request with a whole-request 429 es_rejected_execution_exception, without forwarding it */
  wholeRequest?: (n: number) => boolean;
  /** forward the request, then turn this item (position i, document id) of the real response into a 429 es_rejected_execution_exception */
  item?: (n: number, i: number, id: string) => boolean;
  /** sees every bulk request body, e.g. to count how often a document was sent */
  onBulk?: (n: number, body: string) => void;
}

export interface FaultProxy {
  url: string;
  faults: BulkFaults;
  /** counts since the last reset() */
  stats: { bulkRequests: number; wholeRejected: number; itemsRejected: number };
  reset(faults?: BulkFaults): void;
  close(): Promise<void>;
}

const REJECTED = {
  type: 'es_rejected_execution_exception',
  reason: 'rejected execution of coordinating operation [injected by the test proxy]',
};

/**
 * An HTTP proxy in front of a real Elasticsearch that forwards everything, but can answer `_bulk`
 * requests with a whole-request 429 or rewrite items of a real bulk response into 429 rejections
 * (what a busy cluster does). An item rewritten to 429 may well have been written by ES; writes
 * with a fixed _id (deploy: index, metadata: update) make the retry of it harmless.
 */
export async function startEsFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const proxy: FaultProxy = {
    url: '',
    faults: {},
    stats: { bulkRequests: 0, wholeRejected: 0, itemsRejected: 0 },
    reset(faults = {}) {
      proxy.faults = faults;
      proxy.stats = { bulkRequests: 0, wholeRejected: 0, itemsRejected: 0 };
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const isBulk = new URL(req.url ?? '/', 'http://x').pathname.endsWith('/_bulk');
      const n = isBulk ? ++proxy.stats.bulkRequests : 0;
      const faults = proxy.faults;
      if (isBulk) faults.onBulk?.(n, body.toString('utf8'));
      if (isBulk && faults.wholeRequest?.(n)) {
        proxy.stats.wholeRejected++;
        const payload = JSON.stringify({ error: { root_cause: [REJECTED], ...REJECTED }, status: 429 });
        res.writeHead(429, {
          'content-type': 'application/json',
          'x-elastic-product': 'Elasticsearch',
          'content-length': Buffer.byteLength(payload),
        });
        return void res.end(payload);
      }
      const headers = { ...req.headers, host: upstream.host };
      delete headers['accept-encoding']; // plain JSON back, so a bulk response can be rewritten
      const forward = http.request(
        {
          hostname: upstream.hostname,
          port: upstream.port || 9200,
          method: req.method,
          path: req.url,
          headers,
        },
        (up) => {
          const rewrite = isBulk && faults.item !== undefined && (up.statusCode ?? 0) < 300;
          if (!rewrite) {
            res.writeHead(up.statusCode ?? 502, up.headers);
            return void up.pipe(res);
          }
          const parts: Buffer[] = [];
          up.on('data', (c: Buffer) => parts.push(c));
          up.on('end', () => {
            const json = JSON.parse(Buffer.concat(parts).toString('utf8')) as {
              errors?: boolean;
              items?: Array<Record<string, Record<string, unknown>>>;
            };
            (json.items ?? []).forEach((item, i) => {
              const op = Object.keys(item)[0]!;
              if (!faults.item!(n, i, String(item[op]!['_id']))) return;
              const {
                result: _r,
                _version: _v,
                _seq_no: _s,
                _primary_term: _p,
                _shards: _sh,
                get: _g,
                ...rest
              } = item[op]!;
              item[op] = { ...rest, status: 429, error: REJECTED };
              json.errors = true;
              proxy.stats.itemsRejected++;
            });
            const payload = JSON.stringify(json);
            const { 'transfer-encoding': _te, ...upHeaders } = up.headers;
            res.writeHead(up.statusCode ?? 200, {
              ...upHeaders,
              'content-length': Buffer.byteLength(payload),
            });
            res.end(payload);
          });
        },
      );
      forward.on('error', (e) => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`proxy: ${e.message}`);
      });
      forward.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
