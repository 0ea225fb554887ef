import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors/index.ts';
import { artifactPath } from '../../src/model/artifacts.ts';

// Model ids name folders under MODEL_DIR: an id from a request path must never reach outside it.

describe('artifactPath', () => {
  const dir = path.resolve('/tmp/recsys-models-unit');

  it('puts a model id directly under the model folder', () => {
    expect(artifactPath(dir, 'm-2026.10.01_a')).toBe(path.join(dir, 'm-2026.10.01_a'));
  });

  it.each([
    '../../x',
    '..',
    '../x',
    'a/../../b',
    'a/b',
    '/etc',
    '.hidden',
    'UPPER',
    '',
    'x'.repeat(65),
    'a\\..\\b',
    'a..b',
  ])('refuses %j', (id) => {
    expect(() => artifactPath(dir, id)).toThrow(ValidationError);
  });

  it('names the field and does not echo an unbounded id', () => {
    let err: unknown;
    try {
      artifactPath(dir, `../../${'y'.repeat(10_000)}`);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe('model_id');
    expect((err as Error).message.length).toBeLessThan(300);
  });
});
