import type { Client } from '@elastic/elasticsearch';
import type { Names } from '../config/names.ts';
import { esStatus, isIndexNotFound } from '../infra/es-errors.ts';
import { createIndexIfMissing } from '../setup/index.ts';
import { loadMapping } from '../setup/mappings.ts';

/** One named file of a model's artefact as its manifest records it. */
export interface ArtifactFileEntry {
  bytes: number;
  /** hex sha256 of the whole file */
  sha256: string;
  chunks: number;
  /** bytes per chunk (the last may be shorter) */
  chunk_bytes: number;
  /** the write that produced these chunks: a rewrite uses a new one, so readers never mix two */
  generation: string;
}

export interface ArtifactManifest {
  model_id: string;
  created_at: string;
  updated_at: string;
  files: Record<string, ArtifactFileEntry>;
}

/** The manifest with the version a compare-and-swap update must match. */
export interface VersionedManifest {
  manifest: ArtifactManifest;
  seqNo: number;
  primaryTerm: number;
}

/** A model id with artefact documents, and when its newest document was written. */
export interface ArtifactOwner {
  modelId: string;
  hasManifest: boolean;
  /** when the manifest was first written (epoch ms; 0 without one): the model's age here */
  createdAt: number;
  newestWrite: number;
}

export function chunkId(modelId: string, name: string, generation: string, seq: number): string {
  return `${modelId}/${name}/${generation}/${seq}`;
}

/**
 * The `artifacts` index: manifests and chunk documents (es-mappings/indices/artifacts.json).
 * Everything is read by id (real-time gets), so a reader on another machine sees a write as soon
 * as it is acknowledged, without waiting for a refresh.
 */
export class ArtifactsRepository {
  constructor(
    private readonly es: Client,
    private readonly names: Names,
  ) {}

  private ready: Promise<void> | undefined;

  private get index() {
    return this.names.artifacts;
  }

  /**
   * Before the first write: the index exists with its mapping. A deployment set up before artefacts
   * moved here gets it without another `recsys setup`; auto-creation would map the chunks' base64
   * as text. A key without the right to check or create it (setup made it) just goes on to write.
   */
  private ensureIndex(): Promise<void> {
    this.ready ??= createIndexIfMissing(this.es, this.index, loadMapping('indices/artifacts.json')).then(
      () => undefined,
      (e: unknown) => {
        if (esStatus(e) === 403) return;
        this.ready = undefined;
        throw e;
      },
    );
    return this.ready;
  }

  async getManifest(modelId: string): Promise<VersionedManifest | undefined> {
    try {
      const r = await this.es.get<ArtifactManifest>({ index: this.index, id: modelId });
      if (!r._source) return undefined;
      return { manifest: r._source, seqNo: r._seq_no!, primaryTerm: r._primary_term! };
    } catch (e) {
      if (esStatus(e) === 404) return undefined;
      throw e;
    }
  }

  /**
   * Writes the manifest: created when `expected` is absent and `create` is set, else replaced only
   * if it is still the version read (a concurrent writer makes this throw a 409).
   */
  async putManifest(
    manifest: ArtifactManifest,
    expected?: Pick<VersionedManifest, 'seqNo' | 'primaryTerm'>,
  ): Promise<void> {
    await this.ensureIndex();
    await this.es.index({
      index: this.index,
      id: manifest.model_id,
      document: { kind: 'manifest', ...manifest },
      ...(expected ? { if_seq_no: expected.seqNo, if_primary_term: expected.primaryTerm } : {}),
      // searchable at once, so keep-N's listing of artefacts sees it
      refresh: 'wait_for',
    });
  }

  async putChunk(
    modelId: string,
    name: string,
    generation: string,
    seq: number,
    data: Buffer,
  ): Promise<void> {
    await this.ensureIndex();
    await this.es.index({
      index: this.index,
      id: chunkId(modelId, name, generation, seq),
      document: {
        kind: 'chunk',
        model_id: modelId,
        name,
        generation,
        seq,
        created_at: new Date().toISOString(),
        data: data.toString('base64'),
      },
    });
  }

  /** One chunk's bytes, or undefined when it is gone (a rewrite or delete since the manifest was read). */
  async getChunk(
    modelId: string,
    name: string,
    generation: string,
    seq: number,
  ): Promise<Buffer | undefined> {
    try {
      const r = await this.es.get<{ data: string }>({
        index: this.index,
        id: chunkId(modelId, name, generation, seq),
      });
      return r._source ? Buffer.from(r._source.data, 'base64') : undefined;
    } catch (e) {
      if (esStatus(e) === 404) return undefined;
      throw e;
    }
  }

  /** Ids of every document of a model (manifest and chunks of any generation, orphans too). */
  async documentIds(modelId: string): Promise<string[]> {
    await this.refresh();
    const ids: string[] = [];
    try {
      // a model has tens of chunks per file; 10,000 is far beyond any artefact
      const r = await this.es.search({
        index: this.index,
        size: 10_000,
        _source: false,
        query: { bool: { should: [{ term: { model_id: modelId } }, { ids: { values: [modelId] } }] } },
      });
      for (const h of r.hits.hits) ids.push(h._id!);
    } catch (e) {
      if (!isIndexNotFound(e)) throw e;
    }
    return ids;
  }

  async deleteIds(ids: readonly string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += 500) {
      const r = await this.es.bulk({
        operations: ids.slice(i, i + 500).map((id) => ({ delete: { _index: this.index, _id: id } })),
        refresh: 'wait_for',
        filter_path: 'errors,items.*.error,items.*.status',
      });
      const failed = r.items?.find((it) => {
        const op = Object.values(it)[0];
        return op?.error && op.status !== 404;
      });
      if (failed)
        throw new Error(`artifacts: delete refused: ${JSON.stringify(Object.values(failed)[0]?.error)}`);
    }
  }

  /** Every model id with documents here, with whether its manifest exists and its newest write. */
  async owners(): Promise<ArtifactOwner[]> {
    await this.refresh();
    try {
      const r = await this.es.search({
        index: this.index,
        size: 0,
        aggs: {
          models: {
            terms: { field: 'model_id', size: 10_000 },
            aggs: {
              manifests: {
                filter: { term: { kind: 'manifest' } },
                aggs: { created: { max: { field: 'created_at' } } },
              },
              newest: { max: { field: 'created_at' } },
              updated: { max: { field: 'updated_at' } },
            },
          },
        },
      });
      const buckets = (
        r.aggregations?.['models'] as {
          buckets: Array<{
            key: string;
            manifests: { doc_count: number; created: { value: number | null } };
            newest: { value: number | null };
            updated: { value: number | null };
          }>;
        }
      ).buckets;
      return buckets.map((b) => ({
        modelId: b.key,
        hasManifest: b.manifests.doc_count > 0,
        createdAt: b.manifests.created.value ?? 0,
        newestWrite: Math.max(b.newest.value ?? 0, b.updated.value ?? 0),
      }));
    } catch (e) {
      if (isIndexNotFound(e)) return [];
      throw e;
    }
  }

  /**
   * Makes chunks written within the last refresh interval searchable before a listing. A key
   * without the `maintenance` privilege lists without it: the periodic refresh catches up within a
   * second, and prune leaves chunks without a manifest alone for hours anyway.
   */
  private async refresh(): Promise<void> {
    await this.es.indices
      .refresh({ index: this.index, ignore_unavailable: true, allow_no_indices: true })
      .catch((e: unknown) => {
        if (esStatus(e) !== 403) throw e;
      });
  }
}
