/**
 * The checks in a person's words: one sentence per reason from the catalogues, and the start-up
 * summary (in English, like every log line). Rules are in checks.ts; only words here.
 */
import type { MessageKey, Translator } from '../i18n/index.js';
import { translator } from '../i18n/index.js';
import type { CheckResult, SetupReport, Verdict } from './checks.js';

export interface CheckWords {
  id: CheckResult['id'];
  verdict: Verdict;
  title: string;
  verdictText: string;
  sentence: string;
}

/** Facts as placeholders: `at` as "3 minutes ago", `until` as a date, the rest as they are. */
function values(i18n: Translator, result: CheckResult, now: number): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [name, value] of Object.entries(result.facts)) {
    if (name === 'at' && typeof value === 'number') out[name] = i18n.when(value, now);
    else if (name === 'until' && typeof value === 'number') out[name] = i18n.dateTime(value);
    else out[name] = value;
  }
  return out;
}

export function describeCheck(i18n: Translator, result: CheckResult, now: number): CheckWords {
  return {
    id: result.id,
    verdict: result.verdict,
    title: i18n.t(`setup.check.${result.id}` satisfies MessageKey),
    verdictText: i18n.t(`setup.verdict.${result.verdict}` satisfies MessageKey),
    sentence: i18n.t(`setup.reason.${result.reason}` satisfies MessageKey, values(i18n, result, now)),
  };
}

/**
 * The start-up block: a heading and one line per check, in English, no secret (the facts hold
 * none). Separate lines, each logged whole, so that every log line keeps its time and level.
 */
export function summaryBlock(report: SetupReport): string[] {
  const en = translator('en');
  const lines = report.results.map((result) => {
    const words = describeCheck(en, result, report.at);
    return `Setup check: ${words.title} … ${result.verdict}: ${words.sentence}`;
  });
  return ['Setup checks (the same as on the Setup page in the panel):', ...lines];
}
