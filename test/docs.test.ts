/**
 * DOCS.md is what Home Assistant's Documentation tab shows, and README.md what the add-on's Info tab
 * (the store) shows. Both are rendered by the frontend, inside Home Assistant, where a relative link
 * or image (`docs/…`, `#section`) resolves against Home Assistant's own address and breaks. So:
 * - DOCS.md stays a quick start: at most DOCS_WORD_LIMIT words (the counting rule is `countWords`,
 *   described in docs/development.md, "DOCS.md, the quick start");
 * - every link and image in DOCS.md and README.md is absolute (https://);
 * - every file of this repository they name exists, and every #section they name is a heading there.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

const root = new URL('../', import.meta.url).pathname;
const read = (path: string): string => readFileSync(join(root, path), 'utf8');

const DOCS_WORD_LIMIT = 1500;

/** The repository's address, from config.yaml (`url:`), e.g. https://github.com/music-assistant/alexa-link. */
const REPO_URL = (parseYaml(read('config.yaml')) as { url: string }).url.replace(/\/$/, '');
const REPO = new URL(REPO_URL).pathname.slice(1);
/** Addresses that name a file of this repository on its main branch; group 1 is the path. */
const OWN_FILE = [
  new RegExp(`^${escapeRegExp(REPO_URL)}/(?:blob|raw)/main/([^?#]+)`),
  new RegExp(`^https://raw\\.githubusercontent\\.com/${escapeRegExp(REPO)}/(?:refs/heads/)?main/([^?#]+)`),
];

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The counting rule: whitespace-separated tokens of the Markdown source once HTML comments are
 * removed. Everything a reader may see counts, code blocks and tables included; a URL is one word,
 * and so is a table's `|` or a list's `-` (which keeps the count a little above what a reader counts).
 */
function countWords(markdown: string): number {
  return markdown
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .split(/\s+/)
    .filter(Boolean).length;
}

/** Every link target in Markdown: [text](url), ![alt](url), <https://…>, and HTML src/href. */
function linkTargets(markdown: string): string[] {
  const text = markdown.replace(/<!--[\s\S]*?-->/g, ' ').replace(/^```[\s\S]*?^```/gm, ' ');
  const targets: string[] = [];
  // [text](url "title") and ![alt](url); the text may hold one level of brackets (an image in a link).
  for (const match of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) targets.push(match[1]!);
  // Reference definitions: [name]: url
  for (const match of text.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)) targets.push(match[1]!);
  for (const match of text.matchAll(/<(https?:\/\/[^>\s]+)>/g)) targets.push(match[1]!);
  for (const match of text.matchAll(/\b(?:src|href)\s*=\s*["']([^"']+)["']/gi)) targets.push(match[1]!);
  return targets;
}

/** GitHub's heading anchors: lower case, punctuation dropped (but - and _), spaces to -. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const text = markdown.replace(/^```[\s\S]*?^```/gm, '');
  for (const match of text.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = match[1]!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** The repository path an absolute address names, or undefined for any other address. */
function ownPath(url: string): string | undefined {
  for (const pattern of OWN_FILE) {
    const match = pattern.exec(url);
    if (match) return decodeURIComponent(match[1]!);
  }
  return undefined;
}

function checkLinks(file: string): { relative: string[]; missing: string[]; badAnchors: string[]; ownFiles: string[] } {
  const targets = linkTargets(read(file));
  const relative = targets.filter((target) => !target.startsWith('https://'));
  const missing: string[] = [];
  const badAnchors: string[] = [];
  const ownFiles: string[] = [];
  for (const target of targets) {
    const path = ownPath(target);
    if (path === undefined) continue;
    ownFiles.push(path);
    if (!existsSync(join(root, path))) {
      missing.push(target);
      continue;
    }
    const hash = target.indexOf('#');
    if (hash !== -1 && path.endsWith('.md') && !headingAnchors(read(path)).has(decodeURIComponent(target.slice(hash + 1)))) badAnchors.push(target);
  }
  return { relative, missing, badAnchors, ownFiles };
}

describe('the counting and link rules', () => {
  it('counts whitespace-separated words, leaving out HTML comments', () => {
    expect(countWords('# Title\n\nOne two, three.\n<!-- not this -->\n```\ncode counts\n```')).toBe(9);
  });
  it('finds Markdown links, images, autolinks and HTML attributes, outside code blocks', () => {
    const markdown = '[a](https://x/a) ![b](docs/b.png) <https://x/c> <img src="d.png"> [e](#e "title")\n```\n[f](g)\n```\n[r]: https://x/r\n';
    expect(linkTargets(markdown).sort()).toEqual(['#e', 'd.png', 'docs/b.png', 'https://x/a', 'https://x/c', 'https://x/r'].sort());
  });
  it('makes anchors the way GitHub does', () => {
    expect([...headingAnchors('## The encryption key and `!secret`\n### 1. Add the repository\n## A\n## A\n')]).toEqual([
      'the-encryption-key-and-secret',
      '1-add-the-repository',
      'a',
      'a-1',
    ]);
  });
});

describe('DOCS.md, the quick start in the Documentation tab', () => {
  const docs = read('DOCS.md');

  it(`has at most ${DOCS_WORD_LIMIT} words`, () => {
    expect(countWords(docs)).toBeLessThanOrEqual(DOCS_WORD_LIMIT);
  });

  it('links and shows pictures only by absolute https:// addresses', () => {
    expect(checkLinks('DOCS.md').relative).toEqual([]);
  });

  it('names only files of this repository that exist, and sections that exist in them', () => {
    const { missing, badAnchors, ownFiles } = checkLinks('DOCS.md');
    expect(missing).toEqual([]);
    expect(badAnchors).toEqual([]);
    // The reference material it points to is there (and linked at all).
    expect(ownFiles.filter((path) => path.startsWith('docs/')).length).toBeGreaterThan(0);
  });

  it('says what happens when the beta test ends, and where the Setup page is', () => {
    expect(docs).toMatch(/beta test ends/i);
    expect(docs).toMatch(/invited again/i);
    expect(docs).toMatch(/\*\*Setup\*\*/);
  });
});

describe('README.md, shown by the add-on store', () => {
  it('links and shows pictures only by absolute https:// addresses, to files that exist', () => {
    const { relative, missing, badAnchors } = checkLinks('README.md');
    expect(relative).toEqual([]);
    expect(missing).toEqual([]);
    expect(badAnchors).toEqual([]);
  });
});
