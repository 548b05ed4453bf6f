import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Test files share one PostgreSQL server (and Redis); two workers suit the 2-core machines.
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default', './test/secrets-reporter.ts', './test/summary-reporter.ts'],
  },
});
