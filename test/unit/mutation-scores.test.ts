import { describe, expect, it } from 'vitest';
import { belowFloor, moduleScores, renderMutationDoc } from '../../scripts/mutation-scores.ts';

const mutants = (statuses: Record<string, number>) =>
  Object.entries(statuses).flatMap(([status, n]) => Array.from({ length: n }, () => ({ status })));

const report = {
  files: {
    'src/a.ts': { mutants: mutants({ Killed: 7, Timeout: 1, Survived: 1, NoCoverage: 1, CompileError: 5 }) },
    'src/b.ts': { mutants: mutants({ Killed: 3, Survived: 1 }) },
  },
};

describe('mutation floors', () => {
  it('scores a module by detected over valid mutants: timeouts count as detected, compile errors not at all', () => {
    const [a, b] = moduleScores(report);
    expect(a).toMatchObject({
      file: 'src/a.ts',
      killed: 8,
      survived: 1,
      noCoverage: 1,
      invalid: 5,
      score: 80,
    });
    expect(b!.score).toBe(75);
  });

  it('fails a module below its floor, a mutated module without one, and a floor for a module not mutated', () => {
    const scores = moduleScores(report);
    expect(belowFloor(scores, { 'src/a.ts': 80, 'src/b.ts': 75 }, ['src/a.ts', 'src/b.ts'])).toEqual([]);
    expect(belowFloor(scores, { 'src/a.ts': 80.1, 'src/b.ts': 75 }, ['src/a.ts', 'src/b.ts'])).toEqual([
      'src/a.ts scores 80.0 %, below its floor of 80.1 % (1 survived)',
    ]);
    expect(belowFloor(scores, { 'src/a.ts': 80 }, ['src/a.ts', 'src/b.ts'])).toEqual([
      'src/b.ts is mutated but has no floor in mutation/floors.json',
    ]);
    expect(
      belowFloor(scores, { 'src/a.ts': 80, 'src/b.ts': 75, 'src/c.ts': 90 }, ['src/a.ts', 'src/b.ts']),
    ).toEqual(["src/c.ts has a floor but is not in stryker.config.json's mutate list"]);
  });

  it('refuses a report with a status it does not know rather than miscounting it', () => {
    expect(() => moduleScores({ files: { 'src/x.ts': { mutants: [{ status: 'Mystery' }] } } })).toThrow(
      /Mystery/,
    );
  });

  it('renders one row per module with its floor', () => {
    const doc = renderMutationDoc(moduleScores(report), { 'src/a.ts': 80 }, new Date('2026-12-07T00:00:00Z'));
    expect(doc).toContain('| `src/a.ts` | 80.0 | 80 | 8 | 1 | 1 |');
    expect(doc).toContain('| `src/b.ts` | 75.0 | – | 3 | 1 | 0 |');
    expect(doc).toContain('Last run: 2026-12-07.');
  });
});
