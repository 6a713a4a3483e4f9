import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Builds the admin console when missing or stale, once, before the browser tests use it.
    globalSetup: ['test/console/global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Real servers on port 0 and real databases: keep parallelism modest on 2 cores.
    pool: 'forks',
    maxWorkers: 2,
  },
});
