// Named binary files per model, kept in Elasticsearch so every process on every machine reads the
// same bytes: the trainer writes, the API stages and the next run's gate re-scores from here. A
// local folder caches what this machine read or wrote; it is checked against the manifest's
// checksum on every read and never trusted on its own, so losing or sharing it changes nothing.

import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ValidationError } from '../errors/index.ts';
import { isModelId } from '../types/ids.ts';
import {
  chunkId,
  type ArtifactFileEntry,
  type ArtifactManifest,
  type ArtifactsRepository,
} from '../repositories/artifacts.ts';

/** Raw bytes per chunk document (base64 makes it a third larger on the wire). */
export const CHUNK_BYTES = 4 * 1024 * 1024;

/** Chunk sets without a manifest younger than this may be a write in progress: prune leaves them. */
const ORPHAN_GRACE_MS = 6 * 3600_000;

const FILE_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** A model has no artefact, or not the named file: the caller decides whether that is an error. */
export class ArtifactMissingError extends Error {
  constructor(
    readonly modelId: string,
    readonly file?: string,
  ) {
    super(
      file
        ? `model ${modelId} has no artefact file ${file} in the artefact store`
        : `model ${modelId} has no artefact in the artefact store`,
    );
    this.name = 'ArtifactMissingError';
  }
}

/** The model's folder under `dir`; refuses an id that is not a model id or would leave `dir`. */
export function artifactPath(dir: string, modelId: string): string {
  if (!isModelId(modelId))
    throw new ValidationError(
      `"${String(modelId).slice(0, 80)}" is not a model id (lower-case letters, digits, '.', '_', '-')`,
      'model_id',
    );
  const root = path.resolve(dir);
  const p = path.resolve(root, modelId);
  if (path.dirname(p) !== root)
    throw new ValidationError(`model id ${modelId} would leave MODEL_DIR`, 'model_id');
  return p;
}

function checkFileName(name: string): void {
  if (!FILE_NAME.test(name) || name.includes('..'))
    throw new ValidationError(`"${name.slice(0, 80)}" is not an artefact file name`, 'name');
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

export class ArtifactStore {
  constructor(
    private readonly repo: ArtifactsRepository,
    /** the local cache (MODEL_DIR) */
    readonly cacheDir: string,
    private readonly chunkBytes = CHUNK_BYTES,
  ) {}

  /**
   * Writes named files of a model. `replace` (the default) makes them the whole artefact; without
   * it they are added to or replace files of the existing one, the others kept. Chunks go first,
   * the manifest that points at them last (compare-and-swap against the one read), then the
   * replaced generation's chunks are deleted: a reader sees the old files or the new, never a mix.
   */
  async write(
    modelId: string,
    files: Record<string, Uint8Array>,
    opts: { replace?: boolean } = {},
  ): Promise<void> {
    const replace = opts.replace ?? true;
    const dir = artifactPath(this.cacheDir, modelId);
    for (const name of Object.keys(files)) checkFileName(name);
    const before = await this.repo.getManifest(modelId);
    if (!replace && !before) throw new ArtifactMissingError(modelId);
    const generation = randomBytes(4).toString('hex');
    const written: ArtifactManifest['files'] = {};
    try {
      for (const [name, bytes] of Object.entries(files)) {
        const buf = asBuffer(bytes);
        const chunks = Math.ceil(buf.length / this.chunkBytes);
        await inWindows(chunks, (seq) =>
          this.repo.putChunk(
            modelId,
            name,
            generation,
            seq,
            buf.subarray(seq * this.chunkBytes, (seq + 1) * this.chunkBytes),
          ),
        );
        written[name] = {
          bytes: buf.length,
          sha256: sha256(buf),
          chunks,
          chunk_bytes: this.chunkBytes,
          generation,
        };
      }
      const now = new Date().toISOString();
      await this.repo.putManifest(
        {
          model_id: modelId,
          created_at: before?.manifest.created_at ?? now,
          updated_at: now,
          files: replace ? written : { ...before!.manifest.files, ...written },
        },
        before,
      );
    } catch (e) {
      await this.repo.deleteIds(chunkIdsOf(modelId, written)).catch(() => undefined);
      throw e;
    }
    if (before) {
      const superseded = Object.fromEntries(
        Object.entries(before.manifest.files).filter(([name]) => replace || name in files),
      );
      await this.repo.deleteIds(chunkIdsOf(modelId, superseded));
    }
    if (replace) rmSync(dir, { recursive: true, force: true });
    for (const [name, bytes] of Object.entries(files)) this.cache(dir, name, asBuffer(bytes));
  }

  /** The named files of a model's artefact, or undefined when it has none. */
  async files(modelId: string): Promise<Record<string, ArtifactFileEntry> | undefined> {
    artifactPath(this.cacheDir, modelId);
    return (await this.repo.getManifest(modelId))?.manifest.files;
  }

  /** One file's bytes, from the cache when it matches the manifest's checksum, else from the store. */
  async read(modelId: string, name: string): Promise<Buffer> {
    const dir = artifactPath(this.cacheDir, modelId);
    checkFileName(name);
    // a rewrite between reading the manifest and its chunks deletes them: read the new manifest once more
    for (let attempt = 0; ; attempt++) {
      const entry = (await this.repo.getManifest(modelId))?.manifest.files[name];
      if (!entry) throw new ArtifactMissingError(modelId, name);
      const cached = this.cached(dir, name, entry);
      if (cached) return cached;
      const buf = Buffer.allocUnsafe(entry.bytes);
      let complete = true;
      await inWindows(entry.chunks, async (seq) => {
        const chunk = await this.repo.getChunk(modelId, name, entry.generation, seq);
        const at = seq * entry.chunk_bytes;
        if (chunk?.length !== Math.min(entry.chunk_bytes, entry.bytes - at)) complete = false;
        else chunk.copy(buf, at);
      });
      if (complete && sha256(buf) === entry.sha256) {
        this.cache(dir, name, buf);
        return buf;
      }
      if (attempt >= 1)
        throw new Error(
          `artefact file ${name} of model ${modelId} is incomplete or corrupt in the artefact store (expected ${entry.bytes} bytes, sha256 ${entry.sha256.slice(0, 12)}…)`,
        );
    }
  }

  /** Deletes a model's artefact (every document of it, orphaned chunks too) and its cached copy. */
  async delete(modelId: string): Promise<void> {
    const dir = artifactPath(this.cacheDir, modelId);
    await this.repo.deleteIds(await this.repo.documentIds(modelId));
    rmSync(dir, { recursive: true, force: true });
  }

  /** Model ids with a complete artefact, newest first (by when it was first written, not rewritten). */
  async modelIds(): Promise<string[]> {
    return (await this.repo.owners())
      .filter((o) => o.hasManifest)
      .sort((a, b) => b.createdAt - a.createdAt)
      .map((o) => o.modelId);
  }

  /**
   * Deletes every artefact not kept: those `keep` refuses, and chunks a crashed write left without
   * a manifest once they are old enough not to be a write in progress. Returns the deleted model
   * ids. Another machine's cached copy of a deleted artefact stays: it is never read without a
   * manifest, and MODEL_DIR may be shared by several prefixes, so no folder is swept by name.
   */
  async prune(keep: (modelId: string) => boolean, now = Date.now()): Promise<string[]> {
    const owners = await this.repo.owners();
    const doomed = owners
      .filter((o) =>
        o.hasManifest ? !keep(o.modelId) : now - o.newestWrite > ORPHAN_GRACE_MS && !keep(o.modelId),
      )
      .map((o) => o.modelId);
    for (const id of doomed) await this.delete(id);
    return doomed;
  }

  // The cache is an optimisation: a file that cannot be written or read is fetched again.
  private cache(dir: string, name: string, buf: Buffer): void {
    try {
      mkdirSync(dir, { recursive: true });
      const tmp = path.join(dir, `.${name}.${process.pid}.tmp`);
      writeFileSync(tmp, buf);
      renameSync(tmp, path.join(dir, name));
    } catch {
      // fetched from the store next time
    }
  }

  private cached(dir: string, name: string, entry: ArtifactFileEntry): Buffer | undefined {
    try {
      const b = readFileSync(path.join(dir, name));
      return b.length === entry.bytes && sha256(b) === entry.sha256 ? b : undefined;
    } catch {
      return undefined;
    }
  }
}

function chunkIdsOf(modelId: string, files: ArtifactManifest['files']): string[] {
  return Object.entries(files).flatMap(([name, f]) =>
    Array.from({ length: f.chunks }, (_, seq) => chunkId(modelId, name, f.generation, seq)),
  );
}

/** Chunk requests in flight per file: a few, so one large artefact neither crawls nor floods the node. */
const IN_FLIGHT = 4;

async function inWindows(n: number, fn: (i: number) => Promise<void>): Promise<void> {
  for (let from = 0; from < n; from += IN_FLIGHT)
    await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, n - from) }, (_, j) => fn(from + j)));
}
