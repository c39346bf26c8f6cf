/**
 * Facts the code owns, checked wherever a text repeats them: the Alexa redirect hosts
 * (ALEXA_REDIRECT_HOSTS) and the options' number ranges (config.yaml's schema, which
 * test/addon-config.test.ts holds to the loader's). Adding a region or changing a range then fails
 * here until every text says the same; the texts avoid counting the hosts in words, and a count
 * that creeps back in must be the right one.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ALEXA_REDIRECT_HOSTS, alexaRedirectUris } from '../src/config/options.js';

const root = new URL('../', import.meta.url).pathname;
const read = (path: string): string => readFileSync(join(root, path), 'utf8');
const filesIn = (dir: string, extension: string): string[] =>
  readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(extension))
    .map((entry) => relative(root, join(entry.parentPath, entry.name)));

const TRANSLATIONS = filesIn('translations', '.yaml');
/** What people read: the store and Documentation tabs, the reference, the pages' catalogues. CHANGELOG.md is history; benchmarks.md a report. */
const TEXTS = [
  'README.md',
  'DOCS.md',
  ...filesIn('docs', '.md').filter((path) => path !== 'docs/benchmarks.md'),
  ...TRANSLATIONS,
  ...filesIn('src/i18n/catalogue', '.ts'),
];

type Translation = { configuration: Record<string, { name: string; description: string }> };
const translation = (file: string): Translation => parseYaml(read(file)) as Translation;

/** Number words from two to twelve in the four languages, with the value each stands for. */
const NUMBER_WORDS: Record<string, number> = Object.fromEntries(
  [
    ['two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve'],
    ['zwei', 'drei', 'vier', 'fünf', 'sechs', 'sieben', 'acht', 'neun', 'zehn', 'elf', 'zwölf'],
    ['twee', 'drie', 'vier', 'vijf', 'zes', 'zeven', 'acht', 'negen', 'tien', 'elf', 'twaalf'],
    ['deux', 'trois', 'quatre', 'cinq', 'six', 'sept', 'huit', 'neuf', 'dix', 'onze', 'douze'],
  ].flatMap((words) => words.map((word, i) => [word, i + 2])),
);
/** How each language names the redirect addresses. */
const REDIRECT_WORDS = /redirect|rücksprung|terugkeeradres|adresses? de retour/i;

describe('the Alexa redirect hosts', () => {
  it.each(TRANSLATIONS)('%s: the vendor id option names every host, and no other', (file) => {
    const text = translation(file).configuration.alexa_vendor_id!.description;
    const named = [...text.matchAll(/\b[a-z0-9.-]+\.amazon\.(?:com|co\.jp|de|co\.uk|fr)\b/g)].map((match) => match[0]);
    expect([...new Set(named)].sort()).toEqual([...ALEXA_REDIRECT_HOSTS].sort());
  });

  it('docs/reference.md lists exactly the redirect URIs the loader derives', () => {
    const text = read('docs/reference.md');
    const at = text.indexOf('checked against ALEXA_REDIRECT_HOSTS');
    expect(at).toBeGreaterThan(0);
    const paragraph = text.slice(at, text.indexOf('\n\n', at));
    const listed = [...paragraph.matchAll(/`(https:\/\/[^`]+)`/g)].map((match) => match[1]);
    expect(listed).toEqual(alexaRedirectUris('<vendor id>'));
  });

  it.each(TEXTS)('%s: a count of redirect addresses in words is the number of hosts', (file) => {
    const wrong: string[] = [];
    for (const sentence of read(file).split(/(?<=[.:;!?])\s+|\n\s*\n/)) {
      if (!REDIRECT_WORDS.test(sentence)) continue;
      for (const word of sentence.toLowerCase().match(/[\p{L}-]+/gu) ?? []) {
        const value = NUMBER_WORDS[word];
        if (value !== undefined && value !== ALEXA_REDIRECT_HOSTS.length) wrong.push(`${word}: ${sentence.replace(/\s+/g, ' ').slice(0, 160)}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});

describe('option ranges in the options form', () => {
  const schema = (parseYaml(read('config.yaml')) as { schema: Record<string, string> }).schema;
  const ranges = Object.entries(schema).flatMap(([name, type]) => {
    const match = /^int\((\d+),(\d+)\)\??$/.exec(type);
    return match ? [{ name, min: Number(match[1]), max: Number(match[2]) }] : [];
  });

  it('config.yaml has ranged options to check', () => {
    expect(ranges.length).toBeGreaterThan(0);
  });

  it.each(TRANSLATIONS)('%s: every "a to b" in an option’s description is that option’s range', (file) => {
    const entries = translation(file).configuration;
    const wrong: string[] = [];
    for (const { name, min, max } of ranges) {
      const description = entries[name]?.description ?? '';
      for (const match of description.matchAll(/(\d+)\s+(?:to|bis|tot|à)\s+(\d+)/g)) {
        if (Number(match[1]) !== min || Number(match[2]) !== max) wrong.push(`${name}: "${match[0]}", the schema says ${min} to ${max}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
