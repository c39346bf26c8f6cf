import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Each file in its own process: native SQLite handles and child servers stay isolated.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
