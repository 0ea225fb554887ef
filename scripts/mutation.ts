// `npm run mutation`: mutation testing of the pure modules the rest of the system leans on (the
// mutate list in stryker.config.json), with a floor per module that the run enforces. Stryker runs
// incrementally: mutation/stryker-incremental.json (committed) remembers each mutant's result, so a
// run re-tests only the mutants whose code or covering tests changed. The per-module scores are
// written to docs/mutation.md; a module below its floor in mutation/floors.json fails the run.
//
//   npm run mutation            run Stryker (incremental), write docs/mutation.md, check the floors
//   npm run mutation -- --full  forget the incremental results and test every mutant again
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/config/index.ts';
import { formatLikeTree } from './format-like-tree.ts';
import { belowFloor, moduleScores, renderMutationDoc, type MutationReport } from './mutation-scores.ts';

const at = (p: string) => path.join(PROJECT_ROOT, p);
const config = JSON.parse(readFileSync(at('stryker.config.json'), 'utf8')) as {
  mutate: string[];
  incrementalFile: string;
  jsonReporter: { fileName: string };
};
if (process.argv.includes('--full')) rmSync(at(config.incrementalFile), { force: true });

const r = spawnSync('npx', ['stryker', 'run'], { stdio: 'inherit', cwd: PROJECT_ROOT });
if (r.status !== 0) process.exit(r.status ?? 1);

const report = JSON.parse(readFileSync(at(config.jsonReporter.fileName), 'utf8')) as MutationReport;
const floors = JSON.parse(readFileSync(at('mutation/floors.json'), 'utf8')) as Record<string, number>;
const scores = moduleScores(report);
const doc = at('docs/mutation.md');
writeFileSync(doc, await formatLikeTree(doc, renderMutationDoc(scores, floors, new Date())));
const failing = belowFloor(scores, floors, config.mutate);
for (const f of failing) console.error(`mutation: ${f}`);
if (failing.length > 0) process.exit(1);
console.log(`mutation: every module at or above its floor (docs/mutation.md)`);
