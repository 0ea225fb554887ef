import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs nothing running; `integration` talks to the real
// Elasticsearch and Kafka that scripts/test.ts brings up (or ES_URL / KAFKA_BROKERS).
// Tests of running as several machines: they start their own secured nodes and brokers, restart
// them, or run several CLI processes side by side and kill some.
const SEVERAL_PROCESSES = [
  'test/integration/secured.test.ts',
  'test/integration/replicas.test.ts',
  'test/integration/broker-restart.test.ts',
  'test/integration/deploy-crash.test.ts',
  'test/integration/shared-artifacts.test.ts',
];

export default defineConfig({
  test: {
    // Integration files share one ES node and one broker on a 2-core machine:
    // running files one at a time keeps timings honest and avoids starving ES.
    fileParallelism: false,
    projects: [
      {
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 60_000 },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          exclude: SEVERAL_PROCESSES,
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        // `npm run test:clusters` (CI runs it after npm test): minutes each, so kept out of npm test
        test: { name: 'clusters', include: SEVERAL_PROCESSES, testTimeout: 600_000, hookTimeout: 600_000 },
      },
    ],
  },
});
