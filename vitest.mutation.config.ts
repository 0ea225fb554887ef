import { defineConfig } from 'vitest/config';

// Mutation testing (npm run mutation) runs the unit tests only: the modules it mutates are the pure
// ones everything else leans on, and their unit tests are what must notice a changed operator.
// Stryker instruments the mutated modules, which makes hot loops tens of times slower: the LSH
// parameter search (lsh/tune.ts, not mutated) runs the instrumented hasher millions of times, so its
// tests are left to the ordinary suite.
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    testNamePattern: /^(?!.*chooseLshParams)/,
    testTimeout: 300_000,
  },
});
