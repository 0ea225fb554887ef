import type { Client } from '@elastic/elasticsearch';
import type { Names } from '../config/names.ts';
import { esStatus } from '../infra/es-errors.ts';

export interface Lock {
  release(): Promise<void>;
}

/** The `locks` index: single-flight across processes and machines. */
export class LocksRepository {
  constructor(
    private readonly es: Client,
    private readonly names: Names,
  ) {}

  /**
   * A document created with op_type=create. An expired lock (its holder died) is taken over with a
   * compare-and-swap on seq_no/primary_term, so two contenders can't both take it over.
   */
  async acquire(name: string, owner: string, ttlMs: number): Promise<Lock | undefined> {
    const { es } = this;
    const index = this.names.locks;
    const now = Date.now();
    const doc = {
      owner,
      acquired_at: new Date(now).toISOString(),
      expires_at: new Date(now + ttlMs).toISOString(),
    };
    try {
      await es.index({ index, id: name, op_type: 'create', document: doc, refresh: 'wait_for' });
    } catch (e) {
      if (esStatus(e) !== 409) throw e;
      const current = await es.get<{ expires_at: string }>({ index, id: name }).catch(() => undefined);
      if (!current?._source || Date.parse(current._source.expires_at) > now) return undefined;
      try {
        await es.index({
          index,
          id: name,
          document: doc,
          if_seq_no: current._seq_no!,
          if_primary_term: current._primary_term!,
          refresh: 'wait_for',
        });
      } catch (e2) {
        if (esStatus(e2) === 409) return undefined;
        throw e2;
      }
    }
    return {
      async release() {
        const current = await es.get<{ owner: string }>({ index, id: name }).catch(() => undefined);
        if (current?._source?.owner !== owner) return;
        await es
          .delete({
            index,
            id: name,
            if_seq_no: current._seq_no!,
            if_primary_term: current._primary_term!,
            refresh: 'wait_for',
          })
          .catch(() => undefined);
      },
    };
  }
}
