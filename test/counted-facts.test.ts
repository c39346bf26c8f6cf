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
import { isLocale, type Locale } from '../src/i18n/index.js';

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

/**
 * Per page language (a new one does not compile until it is here): its number words from two to
 * twelve, how it names the redirect addresses, and its "to" in a range ("6 to 1440"). A text in a
 * language is read with that language's words and English's (the console's terms stay English).
 */
const LANGUAGE_WORDS: Record<Locale, { numbers: string[]; redirect: RegExp; to: string }> = {
  en: { numbers: ['two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve'], redirect: /redirect/i, to: 'to' },
  de: { numbers: ['zwei', 'drei', 'vier', 'fünf', 'sechs', 'sieben', 'acht', 'neun', 'zehn', 'elf', 'zwölf'], redirect: /rücksprung/i, to: 'bis' },
  nl: { numbers: ['twee', 'drie', 'vier', 'vijf', 'zes', 'zeven', 'acht', 'negen', 'tien', 'elf', 'twaalf'], redirect: /terugkeeradres/i, to: 'tot' },
  fr: { numbers: ['deux', 'trois', 'quatre', 'cinq', 'six', 'sept', 'huit', 'neuf', 'dix', 'onze', 'douze'], redirect: /adresses? de retour/i, to: 'à' },
};

/** The language of a text: a catalogue or translation named by its locale; everything else is English. */
function languageOf(file: string): Locale {
  const stem = /([a-z]{2})\.(?:ts|yaml)$/.exec(file)?.[1];
  return stem !== undefined && isLocale(stem) ? stem : 'en';
}

function wordsOf(file: string): { numbers: Map<string, number>; redirect: RegExp } {
  const languages = [...new Set<Locale>(['en', languageOf(file)])];
  const numbers = new Map(languages.flatMap((language) => LANGUAGE_WORDS[language].numbers.map((word, i): [string, number] => [word, i + 2])));
  return { numbers, redirect: new RegExp(languages.map((language) => LANGUAGE_WORDS[language].redirect.source).join('|'), 'i') };
}

describe('the Alexa redirect hosts', () => {
  it.each(TRANSLATIONS)('%s: the vendor id option names every host, and no other', (file) => {
    const text = translation(file).configuration.alexa_vendor_id!.description;
    const named = [...text.matchAll(/\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.amazon(?:\.[a-z]{2,3})+\b/g)].map((match) => match[0]);
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
    const { numbers, redirect } = wordsOf(file);
    // Sentences, and table cells apart (a row's cells are not one sentence).
    for (const sentence of read(file).split(/(?<=[.:;!?])\s+|\n\s*\n|\s\|\s/)) {
      if (!redirect.test(sentence)) continue;
      for (const word of sentence.toLowerCase().match(/[\p{L}-]+/gu) ?? []) {
        const value = numbers.get(word);
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
    const to = [...new Set(['to', LANGUAGE_WORDS[languageOf(file)].to])].join('|');
    const range = new RegExp(`(\\d+)\\s+(?:${to})\\s+(\\d+)`, 'g');
    const wrong: string[] = [];
    for (const { name, min, max } of ranges) {
      const description = entries[name]?.description ?? '';
      for (const match of description.matchAll(range)) {
        if (Number(match[1]) !== min || Number(match[2]) !== max) wrong.push(`${name}: "${match[0]}", the schema says ${min} to ${max}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
