/** The failure budget (src/server/failure-budget.ts) on its own, with an injected clock. */
import { describe, expect, it } from 'vitest';
import { FailureBudget } from '../src/http/failure-budget.js';
import { clock } from './helpers/store.js';

describe('failure budget', () => {
  it('refuses after the limit until the window ends, and says how long to wait', () => {
    const time = clock();
    const budget = new FailureBudget({ limit: 3, windowMs: 15 * 60_000 }, time.now);
    for (let i = 0; i < 3; i++) {
      expect(budget.retryAfterSeconds('198.51.100.7')).toBe(0);
      budget.record('198.51.100.7');
    }
    expect(budget.retryAfterSeconds('198.51.100.7')).toBe(900);
    expect(budget.retryAfterSeconds('198.51.100.8')).toBe(0);
    time.advance(14 * 60_000 + 30_500);
    expect(budget.retryAfterSeconds('198.51.100.7')).toBe(30);
    time.advance(30_000);
    expect(budget.retryAfterSeconds('198.51.100.7')).toBe(0);
    // A new window starts with the next failure.
    budget.record('198.51.100.7');
    expect(budget.retryAfterSeconds('198.51.100.7')).toBe(0);
  });

  it('keeps at most 10,000 keys: expired windows go first, then the oldest', () => {
    const time = clock();
    const budget = new FailureBudget({ limit: 1, windowMs: 60_000 }, time.now);
    budget.record('old');
    time.advance(61_000);
    for (let i = 0; i < 9_999; i++) budget.record(`k${i}`);
    expect(budget.size).toBe(10_000);
    budget.record('newest');
    expect(budget.size).toBe(10_000);
    // 'old' had expired and made room; all the live windows are still there.
    expect(budget.retryAfterSeconds('k0')).toBe(60);
    budget.record('one-more');
    expect(budget.size).toBe(10_000);
    // Now a live window had to go: the oldest one.
    expect(budget.retryAfterSeconds('k0')).toBe(0);
    expect(budget.retryAfterSeconds('k1')).toBe(60);
  });
});
