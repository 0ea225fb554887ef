// The module map as a test: layers point down, one owner per concept, the raw Elasticsearch client
// only where storage is. A change that breaks the shape fails here with the offending import.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config/index.ts';

const SRC = path.join(PROJECT_ROOT, 'src');

/** Lower number = lower layer. A module may import its own layer's peers or anything below. */
const LAYER: Record<string, number> = {
  types: 0,
  errors: 0,
  config: 0,
  random: 0,
  infra: 1,
  catalog: 1,
  setup: 1,
  lsh: 1,
  als: 1,
  events: 1,
  report: 1,
  repositories: 2,
  app: 3,
  model: 3,
  experiments: 3,
  train: 4,
  deploy: 4,
  query: 4,
  ingest: 4,
  online: 4,
  kibana: 4,
  release: 5,
  freshness: 5,
  privacy: 5,
  api: 6,
  demo: 6,
  cli: 7,
};

/** Pairs of the same layer that must not know each other. */
const APART: Array<[string, string]> = [
  ['train', 'deploy'],
  ['model', 'app'],
];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

interface Edge {
  from: string;
  to: string;
  fromTop: string;
  toTop: string;
  line: string;
}

const edges: Edge[] = [];
const clientImports: string[] = [];
for (const file of files(SRC)) {
  const text = readFileSync(file, 'utf8');
  const rel = path.relative(SRC, file);
  for (const m of text.matchAll(/^(?:import|export)[^'"]*?from\s+'([^']+)'/gm)) {
    const spec = m[1]!;
    if (spec === '@elastic/elasticsearch' && /\bClient\b/.test(m[0])) clientImports.push(rel);
    if (!spec.startsWith('.')) continue;
    const target = path.relative(SRC, path.resolve(path.dirname(file), spec));
    edges.push({
      from: rel,
      to: target,
      fromTop: rel.split(path.sep)[0]!,
      toTop: target.split(path.sep)[0]!,
      line: m[0],
    });
  }
}

describe('architecture', () => {
  it('every top-level folder of src has a layer', () => {
    const tops = new Set(readdirSync(SRC).filter((f) => statSync(path.join(SRC, f)).isDirectory()));
    expect([...tops].filter((t) => !(t in LAYER))).toEqual([]);
  });

  it('layers point down: no module imports a higher layer', () => {
    const up = edges
      .filter((e) => e.fromTop !== e.toTop && LAYER[e.toTop]! > LAYER[e.fromTop]!)
      .map((e) => `${e.from} → ${e.to}`);
    expect(up).toEqual([]);
  });

  it('nothing outside src/cli imports src/cli; nothing in src imports test code', () => {
    expect(edges.filter((e) => e.toTop === 'cli' && e.fromTop !== 'cli').map((e) => e.from)).toEqual([]);
    expect(edges.filter((e) => e.to.startsWith('..')).map((e) => `${e.from} → ${e.to}`)).toEqual([]);
  });

  it.each(APART)('%s and %s do not import each other', (a, b) => {
    expect(
      edges
        .filter((e) => (e.fromTop === a && e.toTop === b) || (e.fromTop === b && e.toTop === a))
        .map((e) => `${e.from} → ${e.to}`),
    ).toEqual([]);
  });

  it('ALS is fitted and a user recalculated through the model object (als/model.ts), not its parts', () => {
    const parts = /^als\/(fit|engine|pool|worker|protocol|kernels)\.ts$/;
    expect(
      edges.filter((e) => e.fromTop !== 'als' && parts.test(e.to)).map((e) => `${e.from} → ${e.to}`),
    ).toEqual([]);
  });

  it('the raw Elasticsearch Client appears only in repositories, the client factory and its request guard, setup and the app context', () => {
    const allowed = (f: string) =>
      /^(repositories|setup)\//.test(f) ||
      f === 'infra/clients.ts' ||
      f === 'infra/es-guard.ts' ||
      f === 'app/context.ts';
    expect(clientImports.filter((f) => !allowed(f))).toEqual([]);
  });
});
