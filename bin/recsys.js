#!/usr/bin/env node
// Runs the compiled CLI from dist/ (`npm run build`) when it is there and not older than the source;
// otherwise runs the TypeScript directly through tsx, so `recsys` also works from a fresh clone.
// A build older than a source file is never used silently: a stale dist/ would run yesterday's code.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = `${root}dist/cli/index.js`;

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = `${dir}/${entry.name}`;
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

if (existsSync(built) && statSync(built).mtimeMs >= newestMtime(`${root}src`)) {
  await import(built);
} else {
  if (existsSync(built))
    console.error('recsys: dist/ is older than src/, running the source (npm run build to refresh)');
  const { register } = await import('tsx/esm/api');
  register();
  await import(`${root}src/cli/index.ts`);
}
