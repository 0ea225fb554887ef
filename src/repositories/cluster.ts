import type { Client } from '@elastic/elasticsearch';

/** Cluster-level reads the API's /health needs. */
export class ClusterRepository {
  constructor(private readonly es: Client) {}

  /** Cluster health within `timeoutMs`, no retries (a health check must answer fast). */
  async health(timeoutMs: number): Promise<{ ok: boolean; status?: string; error?: string }> {
    try {
      const h = await this.es.cluster.health(
        { timeout: `${Math.ceil(timeoutMs / 1000)}s` },
        { requestTimeout: timeoutMs + 1000, maxRetries: 0 },
      );
      return { ok: h.status !== 'red', status: h.status };
    } catch {
      return { ok: false, error: 'unreachable' };
    }
  }
}
