import type { Config } from '../config/index.ts';
import type { Repositories } from '../repositories/index.ts';
import { ArtifactMissingError, ArtifactStore } from './artifact-store.ts';

export { ArtifactMissingError, ArtifactStore, artifactPath } from './artifact-store.ts';

/**
 * A trained model's factors as named files in the artefact store (artifact-store.ts): meta.json,
 * items.f32, users.f32, recent.json, popularity.json and, for the fair gate, exam.json,
 * exam-items.f32, exam-users.f32. Not the items-/users-<id> indices, because a deploy reads them
 * once in bulk (1M × 64 floats is 256 MB: a staging index would double the indexing work) and a
 * candidate the gate held back has no indices at all.
 */
export interface ModelArtifact {
  modelId: string;
  factors: number;
  itemIds: string[];
  userIds: string[];
  itemFactors: Float32Array;
  userFactors: Float32Array;
  recentItems: Record<string, string[]>;
  popularity: Record<string, number>;
  /**
   * The factors the model was evaluated with (trained on its run's train part only, before the
   * refit on everything): what a later run's gate re-scores on its own holdout. Absent in
   * artefacts written before the fair gate.
   */
  exam?: ExamFactors;
}

export interface ExamFactors {
  userIds: string[];
  itemIds: string[];
  userFactors: Float32Array;
  itemFactors: Float32Array;
}

/** The context's artefact store: Elasticsearch, with MODEL_DIR as this machine's cache. */
export function artifactStore(ctx: {
  repos: Pick<Repositories, 'artifacts'>;
  config: Pick<Config, 'modelDir'>;
}): ArtifactStore {
  return new ArtifactStore(ctx.repos.artifacts, ctx.config.modelDir);
}

function json(v: unknown): Buffer {
  return Buffer.from(JSON.stringify(v));
}

function f32Bytes(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function f32(b: Buffer): Float32Array {
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** Writes the whole artefact of `a.modelId`, replacing an earlier one. */
export async function saveArtifact(store: ArtifactStore, a: ModelArtifact): Promise<void> {
  await store.write(a.modelId, {
    'meta.json': json({ modelId: a.modelId, factors: a.factors, itemIds: a.itemIds, userIds: a.userIds }),
    'items.f32': f32Bytes(a.itemFactors),
    'users.f32': f32Bytes(a.userFactors),
    'recent.json': json(a.recentItems),
    'popularity.json': json(a.popularity),
    ...(a.exam
      ? {
          'exam.json': json({ userIds: a.exam.userIds, itemIds: a.exam.itemIds }),
          'exam-items.f32': f32Bytes(a.exam.itemFactors),
          'exam-users.f32': f32Bytes(a.exam.userFactors),
        }
      : {}),
  });
}

/** The artefact of `modelId`; ArtifactMissingError when the store has none. */
export async function loadArtifact(store: ArtifactStore, modelId: string): Promise<ModelArtifact> {
  const files = await store.files(modelId);
  if (!files?.['meta.json']) throw new ArtifactMissingError(modelId);
  const read = (name: string) => store.read(modelId, name);
  const parse = async <T>(name: string) => JSON.parse((await read(name)).toString('utf8')) as T;
  const meta = await parse<Pick<ModelArtifact, 'modelId' | 'factors' | 'itemIds' | 'userIds'>>('meta.json');
  return {
    ...meta,
    itemFactors: f32(await read('items.f32')),
    userFactors: f32(await read('users.f32')),
    recentItems: await parse<Record<string, string[]>>('recent.json'),
    popularity: await parse<Record<string, number>>('popularity.json'),
    ...(files['exam.json']
      ? {
          exam: {
            ...(await parse<Pick<ExamFactors, 'userIds' | 'itemIds'>>('exam.json')),
            itemFactors: f32(await read('exam-items.f32')),
            userFactors: f32(await read('exam-users.f32')),
          },
        }
      : {}),
  };
}
