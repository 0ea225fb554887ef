// `npm run bench:docs`: renders docs/benchmarks.md from every bench/figures/*.json. The page is
// never edited by hand; test/unit/docs-benchmarks.test.ts fails when it differs from this render.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { BENCHMARKS_DOC, loadFigures, REPO_ROOT, renderBenchmarksDoc } from '../bench/figures.ts';

const figures = loadFigures();
writeFileSync(BENCHMARKS_DOC, await renderBenchmarksDoc(figures));
console.log(`${path.relative(REPO_ROOT, BENCHMARKS_DOC)}: ${figures.length} figures files`);
