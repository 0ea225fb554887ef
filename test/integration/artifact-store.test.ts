import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactMissingError, ArtifactStore } from '../../src/model/artifact-store.ts';
import { artifactStore, loadArtifact, saveArtifact, type ModelArtifact } from '../../src/model/artifacts.ts';
import { modelLifecycle } from '../../src/model/lifecycle.ts';
import { setup } from '../../src/setup/index.ts';
import { testContext } from './harness.ts';

// The artefact store on the real cluster: files cut into chunk documents, a manifest with sizes and
// checksums, per-machine caches that never override the store, and deletion of every document.

const dirs: string[] = [mkdtempSync(path.join(tmpdir(), 'recsys-artifacts-'))];
const ctx = testContext('artifacts', {}, { MODEL_DIR: dirs[0]! });
/** a store with its own cache folder (another "machine") and tiny chunks, so files span many */
function machine(): ArtifactStore {
  const dir = mkdtempSync(path.join(tmpdir(), 'recsys-artifacts-'));
  dirs.push(dir);
  return new ArtifactStore(ctx.repos.artifacts, dir, 1000);
}

beforeAll(async () => {
  await setup(ctx.es, ctx.kafka, ctx.config, ctx.names, ctx.log);
});

afterAll(async () => {
  await ctx.dispose();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

async function chunkCount(modelId: string): Promise<number> {
  await ctx.es.indices.refresh({ index: ctx.names.artifacts });
  const r = await ctx.es.count({
    index: ctx.names.artifacts,
    query: { bool: { filter: [{ term: { model_id: modelId } }, { term: { kind: 'chunk' } }] } },
  });
  return r.count;
}

describe('artefact store', () => {
  it('writes on one machine and reads the same bytes on another, in chunks with a checksummed manifest', async () => {
    const a = machine();
    const b = machine();
    const big = bytes(10_500, 1);
    await a.write('mstore1', { 'big.bin': big, 'empty.bin': Buffer.alloc(0) });
    const files = await b.files('mstore1');
    expect(files?.['big.bin']).toMatchObject({ bytes: 10_500, chunks: 11 });
    expect(files?.['big.bin']?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(files?.['empty.bin']).toMatchObject({ bytes: 0, chunks: 0 });
    expect(await chunkCount('mstore1')).toBe(11);
    expect((await b.read('mstore1', 'big.bin')).equals(big)).toBe(true);
    expect((await b.read('mstore1', 'empty.bin')).length).toBe(0);
    // b cached it: a corrupted cache file is noticed by its checksum and fetched again
    const cached = path.join(b.cacheDir, 'mstore1', 'big.bin');
    expect(readFileSync(cached).equals(big)).toBe(true);
    writeFileSync(cached, bytes(10_500, 2));
    expect((await b.read('mstore1', 'big.bin')).equals(big)).toBe(true);
    await expect(b.read('mstore1', 'nothere.bin')).rejects.toBeInstanceOf(ArtifactMissingError);
    await expect(b.read('mnostore', 'big.bin')).rejects.toBeInstanceOf(ArtifactMissingError);
  });

  it('a rewrite replaces one file by model id and name, deletes the old chunks, and others read the new bytes', async () => {
    const a = machine();
    const b = machine();
    await a.write('mstore2', { 'x.bin': bytes(3_000, 3), 'y.bin': bytes(2_500, 4) });
    expect((await b.read('mstore2', 'x.bin')).equals(bytes(3_000, 3))).toBe(true);
    await a.write('mstore2', { 'x.bin': bytes(1_200, 5) }, { replace: false });
    // b's cached x.bin no longer matches the manifest: it reads the new bytes
    expect((await b.read('mstore2', 'x.bin')).equals(bytes(1_200, 5))).toBe(true);
    expect((await b.read('mstore2', 'y.bin')).equals(bytes(2_500, 4))).toBe(true);
    expect(await chunkCount('mstore2')).toBe(2 + 3);
    // a whole rewrite drops files not written again
    await a.write('mstore2', { 'z.bin': bytes(10, 6) });
    expect(Object.keys((await b.files('mstore2')) ?? {})).toEqual(['z.bin']);
    expect(await chunkCount('mstore2')).toBe(1);
  });

  it('refuses to read a file whose chunks do not add up to the manifest', async () => {
    const a = machine();
    await a.write('mstore3', { 'x.bin': bytes(2_500, 7) });
    const entry = (await a.files('mstore3'))!['x.bin']!;
    await ctx.es.delete({ index: ctx.names.artifacts, id: `mstore3/x.bin/${entry.generation}/1` });
    await expect(machine().read('mstore3', 'x.bin')).rejects.toThrow(/incomplete or corrupt/);
  });

  it('delete removes every document of a model and its cache; prune keeps what it is told to', async () => {
    const a = machine();
    await a.write('mstore4', { 'x.bin': bytes(2_000, 8) });
    await a.write('mstore5', { 'x.bin': bytes(2_000, 9) });
    await a.delete('mstore4');
    expect(await chunkCount('mstore4')).toBe(0);
    expect(await a.files('mstore4')).toBeUndefined();
    expect((await a.modelIds()).includes('mstore4')).toBe(false);
    const removed = await a.prune((id) => id !== 'mstore5');
    expect(removed).toEqual(['mstore5']);
    expect(await chunkCount('mstore5')).toBe(0);
  });

  it('keeps a model artefact as named files that load back equal', async () => {
    const store = machine();
    const art: ModelArtifact = {
      modelId: 'mstore6',
      factors: 2,
      itemIds: ['i1', 'i2'],
      userIds: ['u1'],
      itemFactors: new Float32Array([1, 2, 3, 4]),
      userFactors: new Float32Array([0.5, -0.5]),
      recentItems: { u1: ['i2'] },
      popularity: { i1: 3, i2: 1 },
      exam: {
        userIds: ['u1'],
        itemIds: ['i1'],
        userFactors: new Float32Array([1, 1]),
        itemFactors: new Float32Array([2, 2]),
      },
    };
    await saveArtifact(store, art);
    expect(await loadArtifact(machine(), 'mstore6')).toEqual(art);
    await expect(loadArtifact(machine(), 'mstore7')).rejects.toBeInstanceOf(ArtifactMissingError);
  });

  it('keep-N deletes artefacts with their models: a removed version’s and undeployed ones beyond the newest N go, a running one stays', async () => {
    const store = artifactStore(ctx);
    const lifecycle = modelLifecycle(ctx, undefined, 1);
    const ids = ['mkeep1', 'mkeep2', 'mkeep3', 'mkeep4', 'mkeep5'];
    for (const id of ids) {
      await lifecycle.ensureRegistered(id, { factors: 1 });
      await store.write(id, { 'x.bin': bytes(1_500, 10) });
    }
    // mkeep1 is still training (its run wrote the artefact and has not finished): never removed
    await ctx.repos.models.update('mkeep1', { status: 'training' });
    // mkeep5 was live once and keep-N has removed its indices: its artefact goes although it is the newest
    await ctx.repos.models.update('mkeep5', {
      status: 'retired',
      live_at: new Date().toISOString(),
      deploy: { status: 'removed' },
    });
    await lifecycle.removeOldVersions();
    const left = (await store.modelIds()).filter((id) => id.startsWith('mkeep'));
    expect(left.sort()).toEqual(['mkeep1', 'mkeep4']);
    expect(await chunkCount('mkeep2')).toBe(0);
    expect(await chunkCount('mkeep5')).toBe(0);
    expect(existsSync(path.join(store.cacheDir, 'mkeep2'))).toBe(false);
    expect(existsSync(path.join(store.cacheDir, 'mkeep4'))).toBe(true);
  });

  it('a deployment set up before the artefacts index existed gets it with its mapping at the first write', async () => {
    const fresh = testContext('artifacts-nosetup', {}, { MODEL_DIR: dirs[0]! });
    try {
      await new ArtifactStore(fresh.repos.artifacts, dirs[0]!, 1000).write('mfresh', {
        'x.bin': bytes(10, 1),
      });
      const mapping = await fresh.es.indices.getMapping({ index: fresh.names.artifacts });
      const m = mapping[fresh.names.artifacts]!.mappings;
      expect(m.dynamic).toBe('strict');
      expect(m.properties!['data']).toMatchObject({ type: 'binary' });
    } finally {
      await fresh.dispose();
    }
  });
});
