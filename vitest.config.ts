import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Left out of `npm run test:fast` (TEST_FAST=1), run by `npm test`: each takes many seconds of
 * real time by design (a simulated year, floods, crashes and full disks, real browsers, fuzzing,
 * a real Alexa skill behind the guard, backups with a killed server, thousands of wrong secrets).
 */
export const SLOW_FILES = [
  'test/backup.test.ts',
  'test/browser-*.test.ts',
  'test/correct-credentials.test.ts',
  'test/flood.test.ts',
  'test/limiter-memory.test.ts',
  'test/fault-crash.test.ts',
  'test/fault-disk.test.ts',
  'test/fault-shutdown.test.ts',
  'test/fuzz.test.ts',
  'test/public-edge.test.ts',
  'test/skill-integration.test.ts',
  'test/year.test.ts',
];

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, ...(process.env.TEST_FAST === '1' ? SLOW_FILES : [])],
    // Each file in its own process: native SQLite handles and child servers stay isolated.
    pool: 'forks',
    // Budgets, not expectations: at least three times the slowest quiet test (a browser test with
    // screenshots, 40 s with a second suite running alongside), so a busy CI machine does not fail a sound change.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // TEST_BUDGETS=1 lists tests that took over a third of their time budget (test/reporters/budget.ts).
    reporters: ['default', './test/reporters/budget.ts'],
  },
});
