// `npm run build` compiles src/ to dist/ with tsc, which copies no other files: the modules that load
// a sibling file at run time (such as WebAssembly text) find it there because this copies every
// non-TypeScript file of src/ to the same place under dist/.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/config/index.ts';

function copyAssets(from: string, to: string): number {
  let copied = 0;
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dest = path.join(to, entry.name);
    if (entry.isDirectory()) copied += copyAssets(src, dest);
    else if (!entry.name.endsWith('.ts')) {
      mkdirSync(to, { recursive: true });
      copyFileSync(src, dest);
      copied++;
    }
  }
  return copied;
}

console.log(
  `copied ${copyAssets(path.join(PROJECT_ROOT, 'src'), path.join(PROJECT_ROOT, 'dist'))} asset files to dist/`,
);
