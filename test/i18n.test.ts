/** The message catalogues and the language choice (src/i18n). */
import { describe, expect, it } from 'vitest';
import { ACTION_MESSAGES, type Action, ADD_ON_NOT, ALEXA_APP_LABEL_WORDS, ALEXA_APP_LABELS, GLOSSARY } from '../src/i18n/glossary.js';
import { CATALOGUES, LOCALES, type MessageKey, negotiate, negotiateLocale, translator } from '../src/i18n/index.js';

const placeholders = (message: string): string[] => [...message.matchAll(/\{(\w+)\}/g)].map((match) => match[1]!).sort();
const bold = (message: string): number => message.match(/\*\*/g)?.length ?? 0;

describe('the region shapes dates and times', () => {
  it('keeps the region of the chosen language, for formatting only', () => {
    expect(negotiate('en-GB,en;q=0.9')).toEqual({ locale: 'en', region: 'GB' });
    expect(negotiate('es-ES,de-at;q=0.5')).toEqual({ locale: 'de', region: 'AT' });
    expect(negotiate('es-419,fr')).toEqual({ locale: 'fr', region: undefined });
    expect(negotiate('en-x-made-up')).toEqual({ locale: 'en', region: undefined });
  });

  it('writes 24-hour times for en-GB and 12-hour ones for plain English', () => {
    const at = Date.UTC(2026, 11, 5, 14, 4);
    expect(translator('en', 'GB').time(at)).not.toMatch(/AM|PM/);
    expect(translator('en').time(at)).toMatch(/AM|PM/);
  });

  it('says "3 hours ago" within a day and the date beyond it', () => {
    const now = Date.UTC(2026, 11, 5, 12);
    const en = translator('en');
    expect(en.when(now - 3 * 3_600_000, now)).toBe('3 hours ago');
    expect(en.when(now - 40 * 86_400_000, now)).toBe(en.dateTime(now - 40 * 86_400_000));
  });

  it('caches a bounded number of regional translators, whatever regions strangers send', () => {
    const first = translator('en', 'GB');
    for (let i = 0; i < 200; i++) translator('de', String(100 + i));
    // Evicted and made again: a new object; the plain languages stay.
    expect(translator('en', 'GB')).not.toBe(first);
    expect(translator('de')).toBe(translator('de'));
  });
});

describe('language from Accept-Language', () => {
  it.each([
    [undefined, 'en'],
    ['', 'en'],
    ['de-DE,de;q=0.9,en;q=0.8', 'de'],
    ['nl-BE', 'nl'],
    ['fr-CA,fr;q=0.9', 'fr'],
    ['es-ES,es;q=0.9', 'en'],
    ['es-ES,nl;q=0.5,de;q=0.7', 'de'],
    ['en;q=0.1,fr', 'fr'],
    ['de;q=0,nl', 'nl'],
    ['*', 'en'],
    ['DE-at', 'de'],
    // A q-value that is not one counts as 0 (not acceptable), not as the full weight 1.
    ['fr;q=bogus', 'en'],
    ['fr;q=bogus,de;q=0.5', 'de'],
    ['nl;q=,fr;q=0.2', 'fr'],
    ['nl;q=NaN,de;q=0.1', 'de'],
    ['fr;q=2,de;q=0.5', 'de'],
    ['fr;q=1.000,de', 'fr'],
    ['de;Q=0.8,nl;q=0.9', 'nl'],
    [`${'x,'.repeat(5000)}de`, 'en'],
  ])('%j → %s', (header, locale) => {
    expect(negotiateLocale(header)).toBe(locale);
  });
});

describe('catalogues', () => {
  const keys = Object.keys(CATALOGUES.en) as MessageKey[];

  it.each(LOCALES.filter((locale) => locale !== 'en'))('%s has every English key and no other', (locale) => {
    expect(Object.keys(CATALOGUES[locale]).sort()).toEqual([...keys].sort());
  });

  it.each(LOCALES)('%s keeps every placeholder and bold mark of the English message', (locale) => {
    for (const key of keys) {
      const message = CATALOGUES[locale][key];
      expect(message.trim(), `${locale} ${key} is empty`).not.toBe('');
      expect(placeholders(message), `${locale} ${key}`).toEqual(placeholders(CATALOGUES.en[key]));
      expect(bold(message) % 2, `${locale} ${key} has an unclosed **`).toBe(0);
    }
  });

  /** Names, and messages that read the same in that language ("Open Home Assistant" is Dutch too). */
  const SAME_ON_PURPOSE: Record<string, string[]> = {};
  /** Formats made only of placeholders and names, the same in every language. */
  const FORMATS = ['panel.confirm.askedValue', 'panel.region.alexa'];

  it('a language other than English is translated, not copied', () => {
    for (const locale of LOCALES.filter((locale) => locale !== 'en')) {
      const same = keys.filter((key) => CATALOGUES[locale][key] === CATALOGUES.en[key] && /\s/.test(CATALOGUES.en[key]));
      expect(
        same.filter((key) => !['app.name', 'skill.name', ...FORMATS, ...(SAME_ON_PURPOSE[locale] ?? [])].includes(key)),
        locale,
      ).toEqual([]);
    }
  });
});

describe('translator', () => {
  it('fills placeholders and escapes everything in rich text before making **bold**', () => {
    const en = translator('en');
    expect(en.t('wait.expiresAt', { time: '10:45' })).toBe('The code expires at 10:45.');
    expect(en.rich('panel.signedInAs', { name: '<img src=x onerror=alert(1)>' })).toBe(
      'Signed in to Home Assistant as <strong>&lt;img src=x onerror=alert(1)&gt;</strong>.',
    );
  });

  it('formats dates and relative times in the language', () => {
    const at = Date.UTC(2026, 10, 29, 14, 5);
    expect(translator('de').relative(at - 60_000, at)).toBe('vor 1 Minute');
    expect(translator('nl').relative(at - 2 * 86_400_000, at)).toBe('eergisteren');
    expect(translator('fr').relative(at - 3 * 3_600_000, at)).toBe('il y a 3 heures');
    expect(translator('en').relative(at - 10_000, at)).toBe('just now');
    expect(translator('de').dateTime(at)).toMatch(/^29\.11\.2026, \d\d:\d\d$/);
  });
});

describe('one word per action per language (src/i18n/glossary.ts)', () => {
  const actions = Object.keys(ACTION_MESSAGES) as Action[];

  it.each(LOCALES)('%s: the messages that name an action use its term', (locale) => {
    for (const action of actions) {
      const { forms, verb } = GLOSSARY[locale][action];
      for (const key of ACTION_MESSAGES[action]) expect(CATALOGUES[locale][key], `${key} should say "${verb}"`).toMatch(forms);
    }
  });

  it.each(LOCALES)('%s: no message uses a word the term replaces', (locale) => {
    const strays: string[] = [];
    for (const [key, message] of Object.entries(CATALOGUES[locale])) {
      for (const action of actions) {
        const stray = GLOSSARY[locale][action].not.exec(message);
        if (stray) strays.push(`${key}: "${stray[0]}" instead of "${GLOSSARY[locale][action].verb}"`);
      }
    }
    expect(strays).toEqual([]);
  });

  it.each(LOCALES)('%s: the add-on is "add-on", not a translation of it', (locale) => {
    const strays = Object.entries(CATALOGUES[locale]).filter(([, message]) => ADD_ON_NOT[locale].test(message));
    expect(strays).toEqual([]);
  });

  it.each(LOCALES)('%s: the Alexa app is quoted only with labels a source shows for that language', (locale) => {
    const allowed = ALEXA_APP_LABELS[locale] ?? [];
    for (const [key, message] of Object.entries(CATALOGUES[locale])) {
      for (const match of message.matchAll(new RegExp(ALEXA_APP_LABEL_WORDS.source, 'g'))) {
        expect(
          allowed.some((label) => label.includes(match[0].replace(/\*\*$/, ''))),
          `${key} quotes "${match[0]}"`,
        ).toBe(true);
      }
    }
    // Where labels are known, the way back to linking names them all.
    for (const label of allowed) expect(CATALOGUES[locale]['alexa.restart']).toContain(label);
  });
});
