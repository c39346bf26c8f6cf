/**
 * The maintainer's docs name files: every one of them must exist, and the tree in
 * docs/development.md must list every source file, so the docs cannot drift from the code unseen.
 * (CHANGELOG.md is history and may name files that have gone, docs/change-walks.md files made only
 * in its experiments; decisions and the generated benchmarks report are checked like the rest.)
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('../', import.meta.url).pathname;
const read = (path: string): string => readFileSync(join(root, path), 'utf8');

function files(dir: string, extension: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(extension))
    .map((entry) => relative(root, join(entry.parentPath, entry.name)));
}

// docs/change-walks.md records experiments: it names files that existed only in them.
const DOCS = ['README.md', 'DOCS.md', ...files('docs', '.md').filter((path) => path !== 'docs/change-walks.md')];

/** Paths of this repository a text names: `src/…`, `test/…`, `bench/…` and the other top folders, with an extension. */
const NAMED = /(?<![\w/.-])((?:src|test|bench|views|docs|translations|art|examples|\.ci)\/[\w./-]*[\w-]\.[a-z]{2,5})(?![\w/-])/g;

/** Files of other repositories the docs cite as sources (decision records): listed, so every other path is ours. */
const CITED_ELSEWHERE = new Set([
  'src/heap/heap.cc', // v8/v8
  'src/panels/app/ha-panel-app.ts', // home-assistant/frontend
  'src/panels/config/apps/app-view/config/supervisor-app-config.ts',
  'src/components/ha-selector/ha-selector-text.ts',
  'src/translations/en.json',
]);

function namedPaths(text: string): string[] {
  return [...text.matchAll(NAMED)].map((match) => match[1]!).filter((path) => !path.includes('*') && !path.includes('<') && !CITED_ELSEWHERE.has(path));
}

describe('paths the docs name', () => {
  it.each(DOCS)('%s: every file it names exists', (doc) => {
    const missing = namedPaths(read(doc)).filter((path) => !existsSync(join(root, path)));
    expect(missing).toEqual([]);
  });
});

/** The `src/` tree of docs/development.md, Architecture: folder → the words under it. */
function tree(): Map<string, string> {
  const text = read('docs/development.md');
  const start = text.indexOf('```\nsrc/\n');
  expect(start).toBeGreaterThan(0);
  const block = text.slice(start + 4, text.indexOf('```', start + 4));
  const sections = new Map<string, string>([['', '']]);
  let folder = '';
  for (const line of block.split('\n')) {
    const top = /^ {2}([a-z0-9-]+)\/\s*(.*)$/.exec(line);
    if (top) {
      folder = top[1]!;
      sections.set(folder, '');
    } else if (/^ {2}\S/.test(line)) folder = '';
    sections.set(folder, `${sections.get(folder)} ${line}`);
  }
  return sections;
}

describe('the source tree in docs/development.md', () => {
  it('lists every file of src/', () => {
    const sections = tree();
    const unlisted = files('src', '.ts').filter((path) => {
      const parts = path.split('/').slice(1);
      const folder = parts.length > 1 ? parts[0]! : '';
      const words = sections.get(folder) ?? '';
      return !new RegExp(`(^|[\\s,/])${parts.at(-1)!.replaceAll('.', '\\.')}(?=[\\s,):]|$)`).test(words);
    });
    expect(unlisted).toEqual([]);
  });
});
