import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface Jdk {
  home: string;
  major: number;
}

/** JDKs under /usr/lib/jvm (or JVM_ROOT), read from each one's `release` file. */
export function listJdks(root = process.env['JVM_ROOT'] ?? '/usr/lib/jvm'): Jdk[] {
  if (!existsSync(root)) return [];
  const jdks: Jdk[] = [];
  for (const name of readdirSync(root)) {
    const home = path.join(root, name);
    const release = path.join(home, 'release');
    if (!existsSync(release) || !existsSync(path.join(home, 'bin', 'java'))) continue;
    const m = /JAVA_VERSION="(\d+)/.exec(readFileSync(release, 'utf8'));
    if (m) jdks.push({ home, major: Number(m[1]) });
  }
  // de-duplicate symlinked aliases of the same JDK
  const seen = new Set<string>();
  return jdks.filter((j) => {
    const key = `${j.major}:${readFileSync(path.join(j.home, 'release'), 'utf8').length}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Newest JDK with major in [min, max]; throws naming what was found. */
export function pickJdk(min: number, max = 99): Jdk {
  const jdks = listJdks()
    .filter((j) => j.major >= min && j.major <= max)
    .sort((a, b) => b.major - a.major);
  const best = jdks[0];
  if (!best) {
    throw new Error(
      `no JDK ${min}..${max} under /usr/lib/jvm (found: ${
        listJdks()
          .map((j) => `${j.home} (${j.major})`)
          .join(', ') || 'none'
      })`,
    );
  }
  return best;
}
