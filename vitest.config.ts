import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs nothing running; `integration` talks to the real
// Elasticsearch and Kafka that scripts/test.ts brings up (or ES_URL / KAFKA_BROKERS).
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
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
