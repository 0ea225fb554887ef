import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { ValidationError } from '../errors/index.ts';
import { isModelId } from '../types/ids.ts';

/**
 * A trained model's factors on disk: <dir>/<model_id>/{meta.json, items.f32, users.f32, ...}.
 * Files, not ES, because a deploy reads them once in bulk (1M × 64 floats is 256 MB: a staging
 * index would double the indexing work) and ES gets them in items-/users-<id> anyway.
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

export function saveArtifact(dir: string, a: ModelArtifact): string {
  const p = artifactPath(dir, a.modelId);
  mkdirSync(p, { recursive: true });
  writeFileSync(
    path.join(p, 'meta.json'),
    JSON.stringify({ modelId: a.modelId, factors: a.factors, itemIds: a.itemIds, userIds: a.userIds }),
  );
  writeFileSync(path.join(p, 'items.f32'), f32Bytes(a.itemFactors));
  writeFileSync(path.join(p, 'users.f32'), f32Bytes(a.userFactors));
  writeFileSync(path.join(p, 'recent.json'), JSON.stringify(a.recentItems));
  writeFileSync(path.join(p, 'popularity.json'), JSON.stringify(a.popularity));
  if (a.exam) {
    writeFileSync(
      path.join(p, 'exam.json'),
      JSON.stringify({ userIds: a.exam.userIds, itemIds: a.exam.itemIds }),
    );
    writeFileSync(path.join(p, 'exam-items.f32'), f32Bytes(a.exam.itemFactors));
    writeFileSync(path.join(p, 'exam-users.f32'), f32Bytes(a.exam.userFactors));
  }
  return p;
}

function f32Bytes(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function f32(file: string): Float32Array {
  const b = readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export function loadArtifact(dir: string, modelId: string): ModelArtifact {
  const p = artifactPath(dir, modelId);
  if (!existsSync(path.join(p, 'meta.json'))) throw new Error(`no factors for model ${modelId} under ${p}`);
  const meta = JSON.parse(readFileSync(path.join(p, 'meta.json'), 'utf8')) as Pick<
    ModelArtifact,
    'modelId' | 'factors' | 'itemIds' | 'userIds'
  >;
  return {
    ...meta,
    itemFactors: f32(path.join(p, 'items.f32')),
    userFactors: f32(path.join(p, 'users.f32')),
    recentItems: JSON.parse(readFileSync(path.join(p, 'recent.json'), 'utf8')) as Record<string, string[]>,
    popularity: JSON.parse(readFileSync(path.join(p, 'popularity.json'), 'utf8')) as Record<string, number>,
    ...(existsSync(path.join(p, 'exam.json'))
      ? {
          exam: {
            ...(JSON.parse(readFileSync(path.join(p, 'exam.json'), 'utf8')) as Pick<
              ExamFactors,
              'userIds' | 'itemIds'
            >),
            itemFactors: f32(path.join(p, 'exam-items.f32')),
            userFactors: f32(path.join(p, 'exam-users.f32')),
          },
        }
      : {}),
  };
}
