import type { Client } from '@elastic/elasticsearch';
import type { Logger } from '../infra/logger.ts';
import { storeAll, type RetryPolicy, type SinkDoc, type StoreOutcome } from './bulk-store.ts';

/** Idempotent bulk writes of consumed messages (events, served lists, attributions) into any index family. */
export class DocumentWriter {
  constructor(private readonly es: Client) {}

  storeAll(docs: SinkDoc[], policy: RetryPolicy, log: Logger): Promise<StoreOutcome> {
    return storeAll(this.es, docs, policy, log);
  }
}
