/**
 * Reports tests whose time budget (timeout) is under three times what they took: on a quiet
 * machine that list must be empty (docs/development.md, "Tests"), so that a machine three times
 * slower still passes. It only reports, it never fails a run: a duration is not an assertion.
 */
import type { Reporter, TestCase, Vitest } from 'vitest/node';

interface Row {
  name: string;
  ms: number;
  budgetMs: number;
}

export default class BudgetReporter implements Reporter {
  private vitest: Vitest | undefined;
  private readonly tight: Row[] = [];
  private readonly files = new Map<string, number>();

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
  }

  onTestCaseResult(testCase: TestCase): void {
    const ms = testCase.diagnostic()?.duration ?? 0;
    const file = testCase.module.moduleId.replace(/^.*\/test\//, 'test/');
    this.files.set(file, (this.files.get(file) ?? 0) + ms);
    // The runner's task carries the timeout it ran under (the test's own, or the config's).
    const task = this.vitest?.state.idMap.get(testCase.id) as { timeout?: number } | undefined;
    const budgetMs = task?.timeout ?? this.vitest?.config.testTimeout ?? 5000;
    if (ms * 3 > budgetMs) this.tight.push({ name: `${file} > ${testCase.fullName}`, ms, budgetMs });
  }

  onTestRunEnd(): void {
    if (process.env.TEST_BUDGETS === undefined) return;
    const slowest = [...this.files].sort((a, b) => b[1] - a[1]).slice(0, 12);
    const lines = ['', 'Time budgets (TEST_BUDGETS): the slowest files, by the sum of their tests:'];
    for (const [file, ms] of slowest) lines.push(`  ${(ms / 1000).toFixed(1).padStart(6)} s  ${file}`);
    lines.push(this.tight.length === 0 ? 'Every test ran in under a third of its budget.' : 'Tests that took more than a third of their budget:');
    for (const row of this.tight) lines.push(`  ${(row.ms / 1000).toFixed(1)} s of ${(row.budgetMs / 1000).toFixed(1)} s  ${row.name}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
}
