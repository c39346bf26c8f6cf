/**
 * axe-core (the npm package, pinned in package.json) run inside a playwright-core Page: WCAG 2.0/2.1
 * A and AA plus axe's best practices, with the failing nodes reduced to what a person needs to find
 * them (selector and axe's one-line summary).
 *
 * The pages send a strict CSP (src/http/security-headers.ts: `script-src 'self'`, no inline
 * script), so `page.addScriptTag({ content })` would be refused. The source is evaluated through
 * the DevTools protocol instead (`page.evaluate`), which a page's CSP does not govern. The page
 * itself keeps its CSP: we do not use Playwright's `bypassCSP`, because that would also let inline
 * styles and scripts apply that a real browser blocks, and the audit would then judge a page no
 * person ever sees. injectAxe checks that axe really arrived, so a blocked injection fails loudly
 * instead of auditing nothing.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE_PATH = require.resolve('axe-core/axe.min.js');
let axeSource: string | undefined;

/** The tag sets the audit runs: WCAG 2.0 and 2.1, levels A and AA, and axe's best practices. */
export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] as const;

export type Impact = 'minor' | 'moderate' | 'serious' | 'critical';

export interface AxeNode {
  /** CSS selector(s) of the element; more than one when it sits in an iframe or shadow root. */
  target: string[];
  /** axe's explanation for this element ("Fix any of the following: …"). */
  summary: string;
  /** The element's opening tag, shortened. */
  html: string;
}

export interface AxeFinding {
  id: string;
  impact: Impact | null;
  help: string;
  helpUrl: string;
  tags: string[];
  nodes: AxeNode[];
}

export interface AxeResult {
  url: string;
  /** Failed rules. */
  violations: AxeFinding[];
  /** Rules axe could not decide (for example a contrast over a background image): not failures, but unchecked. */
  incomplete: AxeFinding[];
  /** How many rules passed; a page where this is 0 was not really audited. */
  passes: number;
  axeVersion: string;
}

/** What the page functions below touch (the test project is typed without the DOM library). */
interface AxeWindow {
  document: unknown;
  axe?: {
    version: string;
    run: (context: unknown, options: object) => Promise<{ url: string; violations: RawResult[]; incomplete: RawResult[]; passes: RawResult[] }>;
  };
}
interface RawResult {
  id: string;
  impact?: Impact | null;
  help: string;
  helpUrl: string;
  tags: string[];
  nodes: Array<{ target: unknown[]; failureSummary?: string; html: string }>;
}

/** Puts `window.axe` into the page's main world (idempotent). */
export async function injectAxe(page: Page): Promise<void> {
  if (await page.evaluate(() => typeof (globalThis as unknown as AxeWindow).axe === 'object')) return;
  axeSource ??= readFileSync(AXE_PATH, 'utf8');
  // A string is evaluated as a script in the page's main world, like a <script> would be.
  await page.evaluate(axeSource);
  if (!(await page.evaluate(() => typeof (globalThis as unknown as AxeWindow).axe?.run === 'function'))) {
    throw new Error(`axe-core did not load into ${page.url()}`);
  }
}

/** Runs axe over the whole document as it is now. */
export async function runAxe(page: Page): Promise<AxeResult> {
  await injectAxe(page);
  return page.evaluate(
    async (tags) => {
      const { axe, document } = globalThis as unknown as AxeWindow;
      if (!axe) throw new Error('axe-core is not in the page');
      const results = await axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations', 'incomplete'] });
      const simplify = (result: RawResult) => ({
        id: result.id,
        impact: result.impact ?? null,
        help: result.help,
        helpUrl: result.helpUrl,
        tags: result.tags,
        nodes: result.nodes.map((node) => ({
          target: node.target.map((part) => (typeof part === 'string' ? part : JSON.stringify(part))),
          summary: (node.failureSummary ?? '').replace(/\s+/g, ' ').trim(),
          html: node.html.length > 200 ? `${node.html.slice(0, 200)}…` : node.html,
        })),
      });
      return {
        url: results.url,
        violations: results.violations.map(simplify),
        incomplete: results.incomplete.map(simplify),
        passes: results.passes.length,
        axeVersion: axe.version,
      };
    },
    [...AXE_TAGS],
  );
}

/** serious and critical: what the audit fails on. */
export function isBlocking(finding: Pick<AxeFinding, 'impact'>): boolean {
  return finding.impact === 'serious' || finding.impact === 'critical';
}
