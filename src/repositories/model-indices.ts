import type { Client, estypes } from '@elastic/elasticsearch';
import type { Names } from '../config/names.ts';
import { esStatus } from '../infra/es-errors.ts';
import { RetryError, withRetry, type RetryPolicy } from '../infra/retry.ts';
import { loadVersionedIndex } from '../setup/mappings.ts';
import { bulkLoad, type BulkLoadOptions, type LoadDoc } from './bulk-load.ts';

// No replicas, no refreshes and no periodic flushes while loading; serving settings are restored
// before the swap. Each flush cuts every in-memory segment, and each segment is one more HNSW graph
// a knn search walks: with the default flush every minute a 1M-item deploy ended in dozens of
// segments, more on a busy machine (bench/deploy), so the load flushes only when the translog reaches 4 GB
// (about 800k items with four vectors) or the node's indexing buffer fills. The translog holds the
// loaded documents until then (disk about the size of the index), and makeServable flushes it.
const LOAD_SETTINGS = {
  refresh_interval: '-1',
  auto_expand_replicas: 'false',
  number_of_replicas: 0,
  'translog.flush_threshold_age': '1h',
  'translog.flush_threshold_size': '4gb',
} as const;
const SERVE_SETTINGS = {
  refresh_interval: '1s',
  auto_expand_replicas: '0-1',
  'translog.flush_threshold_age': null,
  'translog.flush_threshold_size': null,
} as const;

/** The items-/users-<model_id> index pairs and the two aliases that say which pair serves. */
export class ModelIndicesRepository {
  constructor(
    private readonly es: Client,
    private readonly names: Names,
  ) {}

  /**
   * Creates both indices of a version, tuned for loading. `extraItemProperties` are mapped in the
   * items index on top of its mapping file (the filter whitelist's fields: filterFieldMappings).
   * `similarGraph: false` leaves out the unit vectors' HNSW field ([deploy] similar_ann), `mipsGraph:
   * false` the raw factors' one ([deploy] mips_ann, deploy/mips-graph.ts).
   */
  async create(
    modelId: string,
    dims: number,
    extraItemProperties: Record<string, unknown> = {},
    opts: { similarGraph?: boolean; mipsGraph?: boolean } = {},
  ): Promise<void> {
    for (const [index, file] of [
      [this.names.itemsIndex(modelId), 'versioned/items.json'],
      [this.names.usersIndex(modelId), 'versioned/users.json'],
    ] as const) {
      const body = loadVersionedIndex(file, dims) as {
        settings: Record<string, unknown>;
        mappings: { properties: Record<string, unknown> };
      };
      if (file === 'versioned/items.json') {
        body.mappings.properties = { ...extraItemProperties, ...body.mappings.properties };
        if (opts.similarGraph === false) delete body.mappings.properties['factor_unit'];
        if (opts.mipsGraph === false) delete body.mappings.properties['factor'];
      }
      const { auto_expand_replicas: _a, ...settings } = body.settings;
      await this.es.indices.create({
        index,
        mappings: body.mappings as estypes.MappingTypeMapping,
        settings: { ...settings, ...LOAD_SETTINGS },
      });
    }
  }

  /**
   * Loads documents into the items or users index of a version; returns how many were written.
   * Refused documents go to `onRefused` (which may throw to fail the load), else fail the load.
   */
  async load(
    modelId: string,
    kind: 'items' | 'users',
    docs: Iterable<LoadDoc>,
    opts: Pick<BulkLoadOptions, 'onProgress' | 'onRefused'> = {},
  ): Promise<number> {
    const index = kind === 'items' ? this.names.itemsIndex(modelId) : this.names.usersIndex(modelId);
    return bulkLoad(this.es, index, docs, opts);
  }

  /** Serving settings, a refresh and yellow health: the version can take queries. */
  async makeServable(modelId: string): Promise<void> {
    const index = `${this.names.itemsIndex(modelId)},${this.names.usersIndex(modelId)}`;
    await this.es.indices.putSettings({ index, settings: SERVE_SETTINGS });
    await this.es.indices.refresh({ index });
    await this.es.indices.flush({ index });
    await this.es.cluster.health({ index, wait_for_status: 'yellow', timeout: '60s' });
  }

  /**
   * Merges a version's items index down to `maxSegments` and returns the segment count after it.
   * The merge runs as a task (wait_for_completion=false) polled every `pollMs`: a 1M-item merge
   * runs for many minutes, longer than any HTTP timeout, and a timed-out request does not stop it.
   * Each poll is retried by the retry rule; the whole merge is bounded by `deadlineMs`.
   */
  async forceMerge(
    modelId: string,
    opts: { maxSegments?: number; pollMs?: number; deadlineMs?: number } = {},
  ): Promise<number> {
    const index = this.names.itemsIndex(modelId);
    const pollMs = opts.pollMs ?? 2_000;
    const started = await this.es.indices.forcemerge({
      index,
      max_num_segments: opts.maxSegments ?? 1,
      wait_for_completion: false,
    });
    const taskId = (started as { task?: string }).task;
    if (!taskId) throw new Error(`force-merge of ${index} returned no task`);
    const policy: RetryPolicy = {
      initialMs: pollMs,
      maxMs: pollMs,
      deadlineMs: opts.deadlineMs ?? 3_600_000,
      label: `force-merge of ${index}`,
    };
    await withRetry(async () => {
      const t = await this.es.tasks.get({ task_id: taskId });
      if (t.error)
        throw new Error(`force-merge of ${index} failed: ${JSON.stringify(t.error).slice(0, 300)}`);
      if (!t.completed) throw new RetryError(`force-merge of ${index} still running`, { retriable: true });
    }, policy);
    const s = await this.es.indices.stats({ index, metric: ['segments'] });
    return s._all.primaries?.segments?.count ?? 0;
  }

  /**
   * Waits until no merge runs on a version's items index (polled every `pollMs`, bounded by
   * `deadlineMs`); returns its segment count. HNSW recall at a given num_candidates depends on
   * the segments, so what deploy measures must be the layout that will serve.
   */
  async mergesSettled(modelId: string, opts: { pollMs?: number; deadlineMs?: number } = {}): Promise<number> {
    const index = this.names.itemsIndex(modelId);
    const pollMs = opts.pollMs ?? 1_000;
    const policy: RetryPolicy = {
      initialMs: pollMs,
      maxMs: pollMs,
      deadlineMs: opts.deadlineMs ?? 1_800_000,
      label: `merges on ${index}`,
    };
    return withRetry(async () => {
      const s = await this.es.indices.stats({ index, metric: ['merge', 'segments'] });
      if ((s._all.primaries?.merges?.current ?? 0) > 0)
        throw new RetryError(`merges still running on ${index}`, { retriable: true });
      return s._all.primaries?.segments?.count ?? 0;
    }, policy);
  }

  /**
   * Merges the small segments a load leaves beside its large ones (the indexing threads' last,
   * part-filled buffers: 1M items ended as 6 segments of 95–230k documents and 8 of 0.7–7k) into
   * one, and leaves the large ones alone. Every segment is one more HNSW graph a knn search walks,
   * and merging only the small ones re-inserts a few thousand vectors, where merging everything
   * would re-insert all but the largest segment's. A forced merge to n segments merges the smallest
   * ones (Lucene's TieredMergePolicy), so n = the large segments + 1. "Small": under `smallShare`
   * of its shard's documents. Returns the primaries' segment counts before and after.
   */
  async compactSmallSegments(
    modelId: string,
    opts: { smallShare?: number; pollMs?: number } = {},
  ): Promise<{ before: number; after: number }> {
    const index = this.names.itemsIndex(modelId);
    const share = opts.smallShare ?? 0.02;
    const res = await this.es.indices.segments({ index });
    let before = 0;
    let target = 0;
    let smallPairs = false;
    for (const copies of Object.values(res.indices[index]?.shards ?? {})) {
      for (const copy of copies as Array<{
        routing?: { primary?: boolean };
        segments?: Record<string, { num_docs: number }>;
      }>) {
        if (!copy.routing?.primary) continue;
        const docs = Object.values(copy.segments ?? {}).map((x) => x.num_docs);
        const total = docs.reduce((t, d) => t + d, 0);
        const large = docs.filter((d) => d >= share * total).length;
        before += docs.length;
        if (docs.length - large >= 2) smallPairs = true;
        target = Math.max(target, large + 1);
      }
    }
    if (!smallPairs) return { before, after: before };
    const after = await this.forceMerge(modelId, { maxSegments: target, pollMs: opts.pollMs });
    return { before, after };
  }

  /** Item documents of a version, all or only those with a factor. */
  async countItems(modelId: string, withFactorOnly = false): Promise<number> {
    return (
      await this.es.count({
        index: this.names.itemsIndex(modelId),
        ...(withFactorOnly ? { query: { term: { has_factor: true } } } : {}),
      })
    ).count;
  }

  async remove(modelId: string): Promise<void> {
    await this.es.indices.delete({
      index: `${this.names.itemsIndex(modelId)},${this.names.usersIndex(modelId)}`,
      ignore_unavailable: true,
    });
  }

  async exists(modelId: string): Promise<boolean> {
    const [items, users] = await Promise.all([
      this.es.indices.exists({ index: this.names.itemsIndex(modelId) }),
      this.es.indices.exists({ index: this.names.usersIndex(modelId) }),
    ]);
    return items && users;
  }

  /**
   * Points `items` and `user-factors` at one version in a single _aliases call, so every search
   * sees either the old pair or the new pair, never a mix.
   */
  async swap(modelId: string): Promise<void> {
    const current = await this.aliased();
    const actions: Array<Record<string, { index: string; alias: string }>> = [];
    for (const index of current.items) actions.push({ remove: { index, alias: this.names.itemsAlias } });
    for (const index of current.users) actions.push({ remove: { index, alias: this.names.usersAlias } });
    actions.push({ add: { index: this.names.itemsIndex(modelId), alias: this.names.itemsAlias } });
    actions.push({ add: { index: this.names.usersIndex(modelId), alias: this.names.usersAlias } });
    await this.es.indices.updateAliases({ actions });
  }

  /** The concrete indices behind the two aliases. */
  async aliased(): Promise<{ items: string[]; users: string[] }> {
    const get = async (name: string) => {
      try {
        return Object.keys(await this.es.indices.getAlias({ name }));
      } catch (e) {
        if (esStatus(e) === 404) return [];
        throw e;
      }
    };
    const [items, users] = await Promise.all([get(this.names.itemsAlias), get(this.names.usersAlias)]);
    return { items, users };
  }

  /**
   * Model ids whose items-<id> index the items alias points to, sorted by id (normally exactly one:
   * the swap is atomic). The alias, not the registry, decides what serves.
   */
  async aliasedModelIds(): Promise<string[]> {
    const prefix = this.names.itemsIndex('');
    return (await this.aliased()).items
      .filter((i) => i.startsWith(prefix))
      .map((i) => i.slice(prefix.length))
      .sort();
  }

  /** Model ids with at least one of their two indices on the cluster (a half-built version too). */
  async versionIds(): Promise<string[]> {
    const ids = new Set<string>();
    for (const [pattern, prefix] of [
      [this.names.itemsPattern, this.names.itemsIndex('')],
      [this.names.usersPattern, this.names.usersIndex('')],
    ] as const) {
      const rows = (await this.es.cat
        .indices({ index: pattern, h: ['index'], format: 'json' })
        .catch(() => [])) as Array<{ index?: string }>;
      for (const r of rows) if (r.index?.startsWith(prefix)) ids.add(r.index.slice(prefix.length));
    }
    return [...ids];
  }

  /** Versions that have both of their indices on the cluster, newest first by index creation. */
  async versions(): Promise<string[]> {
    const rows = await this.es.cat
      .indices({
        index: this.names.itemsPattern,
        h: ['index', 'creation.date'],
        format: 'json',
        expand_wildcards: 'open',
      })
      .catch(() => []);
    const users = new Set(
      (
        (await this.es.cat
          .indices({ index: this.names.usersPattern, h: ['index'], format: 'json' })
          .catch(() => [])) as Array<{ index?: string }>
      ).map((r) => r.index),
    );
    return (rows as Array<{ index?: string; 'creation.date'?: string }>)
      .map((r) => ({
        id: r.index!.slice(this.names.itemsIndex('').length),
        created: Number(r['creation.date']),
      }))
      .filter((r) => users.has(this.names.usersIndex(r.id)))
      .sort((a, b) => b.created - a.created)
      .map((r) => r.id);
  }
}
