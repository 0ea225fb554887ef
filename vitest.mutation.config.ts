import { defineConfig } from 'vitest/config';

// Mutation testing (npm run mutation) runs the unit tests only: the modules it mutates are the pure
// ones everything else leans on, and their unit tests are what must notice a changed operator.
// Stryker instruments the mutated modules, which makes hot loops tens of times slower: the LSH
// parameter search and the statistical collision-rate tests run the instrumented hasher millions of
// times, so they are left to the ordinary suite; the hasher's mutants are judged by the exact,
// hand-made cases of lsh-hasher.test.ts.
const tooSlowInstrumented =
  /chooseLshParams|collides with probability|rate theory predicts|collisions grow with the norm/;

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    testNamePattern: new RegExp(`^(?!.*(${tooSlowInstrumented.source}))`),
    testTimeout: 300_000,
  },
});
