import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Checks (and where it can, sets up) PostgreSQL, Redis and Chromium; then builds the admin
    // console when missing or stale, once, before the browser tests use it.
    globalSetup: ['test/prerequisites.ts', 'test/console/global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Real servers on port 0 and real databases: keep parallelism modest on 2 cores.
    pool: 'forks',
    maxWorkers: 2,
  },
});
