/**
 * Pages in the reader's language: the locale from Accept-Language (RFC 9110 §12.5.4), messages
 * from one typed catalogue per language (catalogue/<locale>.ts), dates and times from Intl.
 * A small typed catalogue instead of an i18n library: four languages of short page texts, and the
 * compiler checks that every language has every message and no other (see docs/decisions/0006).
 */
import { de } from './catalogue/de.js';
import { en, type MessageKey, type Messages } from './catalogue/en.js';
import { fr } from './catalogue/fr.js';
import { nl } from './catalogue/nl.js';

export type { MessageKey, Messages };

export const CATALOGUES = { en, de, nl, fr } as const satisfies Record<string, Messages>;
export type Locale = keyof typeof CATALOGUES;
export const LOCALES = Object.keys(CATALOGUES) as Locale[];
export const DEFAULT_LOCALE: Locale = 'en';

let timeZoneName: string | undefined;
/**
 * The server's time zone by name ("Europe/Berlin"; the Supervisor sets TZ): pages name it beside
 * times. Asked of Intl on first use, not at start: the first Intl.DateTimeFormat loads about 8 MiB
 * of ICU's locale and zone data, which a server that only answers Alexa's token calls never needs.
 */
export function serverTimeZone(): string {
  timeZoneName ??= Intl.DateTimeFormat().resolvedOptions().timeZone;
  return timeZoneName;
}

/** Values put into a message's `{name}` placeholders. */
export type MessageValues = Record<string, string | number>;

/** Exactly one of LOCALES (`de`, not `DE`, `de-AT` or `__proto__`). */
export function isLocale(tag: string): tag is Locale {
  return Object.hasOwn(CATALOGUES, tag);
}

/** RFC 9110 §12.4.2: `0` to `0.999`, or `1` to `1.000`. */
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/**
 * A range's weight: 1 without a `q` parameter; its value when that is a valid qvalue; 0 (not
 * acceptable) when it is anything else (`q=bogus`, `q=`, `q=2`), rather than the full weight.
 */
function weight(params: string[]): number {
  const q = params.map((param) => /^\s*q\s*=\s*(.*?)\s*$/i.exec(param)?.[1]).find((value) => value !== undefined);
  if (q === undefined) return 1;
  return QVALUE.test(q) ? Number(q) : 0;
}

/** A language's region subtag as Intl wants it (`GB`, `419`), or undefined. */
const REGION = /^(?:[a-z]{2}|\d{3})$/;

/** What the reader asked for: the catalogue's language, and the region that shapes dates and times. */
export interface Negotiated {
  locale: Locale;
  /** `GB` from `en-GB`: en-GB readers get 24-hour times although the catalogue is plain English. */
  region: string | undefined;
}

/**
 * The best supported language for an Accept-Language header: by q-value, then by order; a
 * region (`de-AT`) matches its language and is kept for formatting; `*` and anything unsupported
 * fall back to English.
 */
export function negotiate(header: string | undefined): Negotiated {
  if (!header) return { locale: DEFAULT_LOCALE, region: undefined };
  const ranges = header
    .slice(0, 512)
    .split(',')
    .slice(0, 32)
    .map((part, order) => {
      const [range = '', ...params] = part.trim().split(';');
      const [language = '', region = ''] = range.trim().toLowerCase().split('-');
      return { language, region: REGION.test(region) ? region.toUpperCase() : undefined, q: weight(params), order };
    })
    .filter((range) => range.q > 0)
    .sort((a, b) => b.q - a.q || a.order - b.order);
  const best = ranges.find((range) => isLocale(range.language));
  return best ? { locale: best.language as Locale, region: best.region } : { locale: DEFAULT_LOCALE, region: undefined };
}

/** The catalogue language alone (the skill's spoken answers, which have no dates). */
export function negotiateLocale(header: string | undefined): Locale {
  return negotiate(header).locale;
}

function fill(message: string, values: MessageValues | undefined): string {
  if (!values) return message;
  return message.replace(/\{(\w+)\}/g, (whole, name: string) => (Object.hasOwn(values, name) ? String(values[name]) : whole));
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char]!);

export interface Translator {
  locale: Locale;
  /** What dates and times are formatted for: the locale, or with the reader's region (`en-GB`). */
  formatLocale: string;
  /** The message as plain text (templates escape it with `<%= %>`). */
  t(key: MessageKey, values?: MessageValues): string;
  /** The message as HTML: everything escaped, then `**words**` made <strong>. Use with `<%- %>`. */
  rich(key: MessageKey, values?: MessageValues): string;
  /** `key.one` or `key.other` by the language's plural rules, with `{count}` filled in. */
  plural(key: PluralKey, count: number, values?: MessageValues): string;
  /** Date and time, medium length, in the server's time zone (the Supervisor sets TZ). */
  dateTime(ms: number): string;
  /** Within a day "3 hours ago"; older, the date and time ("last month" says too little). */
  when(ms: number, now: number): string;
  /** Hours and minutes. */
  time(ms: number): string;
  /** "3 minutes ago", "yesterday": the largest whole unit. */
  relative(ms: number, now: number): string;
}

/** The bases of `x.one`/`x.other` pairs (a mapped type: the conditional must see each key alone). */
type PluralKey = { [K in MessageKey]: K extends `${infer Base}.one` ? (`${Base}.other` extends MessageKey ? Base : never) : never }[MessageKey];

const UNITS: ReadonlyArray<[Intl.RelativeTimeFormatUnit, number]> = [
  ['year', 365 * 86_400_000],
  ['month', 30 * 86_400_000],
  ['week', 7 * 86_400_000],
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
];

function makeTranslator(locale: Locale, formatLocale: string): Translator {
  const messages: Messages = CATALOGUES[locale];
  // Made on first use: Intl formats load ICU's locale data, which a server that only answers
  // Alexa's token calls never needs.
  let dateTimeFormat: Intl.DateTimeFormat | undefined;
  let timeFormat: Intl.DateTimeFormat | undefined;
  let relativeFormat: Intl.RelativeTimeFormat | undefined;
  let pluralRules: Intl.PluralRules | undefined;
  const t = (key: MessageKey, values?: MessageValues): string => fill(messages[key], values);
  const dateTime = (ms: number): string => {
    dateTimeFormat ??= new Intl.DateTimeFormat(formatLocale, { dateStyle: 'medium', timeStyle: 'short' });
    return dateTimeFormat.format(new Date(ms));
  };
  const relative = (ms: number, now: number): string => {
    relativeFormat ??= new Intl.RelativeTimeFormat(formatLocale, { numeric: 'auto' });
    const elapsed = ms - now;
    for (const [unit, size] of UNITS) {
      if (Math.abs(elapsed) >= size) return relativeFormat.format(Math.trunc(elapsed / size), unit);
    }
    return t('time.justNow');
  };
  return {
    locale,
    formatLocale,
    t,
    rich: (key, values) => escapeHtml(t(key, values)).replace(/\*\*(.+?)\*\*/g, '<strong>$1</strong>'),
    plural: (key, count, values) => {
      pluralRules ??= new Intl.PluralRules(locale);
      const form = pluralRules.select(count) === 'one' ? 'one' : 'other';
      return t(`${key}.${form}` as MessageKey, { count, ...values });
    },
    dateTime,
    when: (ms, now) => (Math.abs(now - ms) < 86_400_000 ? relative(ms, now) : dateTime(ms)),
    time: (ms) => {
      timeFormat ??= new Intl.DateTimeFormat(formatLocale, { hour: '2-digit', minute: '2-digit' });
      return timeFormat.format(new Date(ms));
    },
    relative,
  };
}

const translators = new Map<string, Translator>();
/** Regions come from the request: a bound keeps a stranger's made-up tags from growing the cache. */
const MAX_TRANSLATORS = 32;

/** The translator for a language, with dates and times shaped by the region (`en-GB`: 24-hour). */
export function translator(locale: Locale, region?: string): Translator {
  const tag = region ? `${locale}-${region}` : locale;
  let found = translators.get(tag);
  if (!found) {
    found = makeTranslator(locale, tag);
    // The plain languages always stay; beyond the bound the oldest regional one goes.
    if (translators.size >= MAX_TRANSLATORS) {
      const oldest = [...translators.keys()].find((key) => key.includes('-'));
      if (oldest) translators.delete(oldest);
    }
    translators.set(tag, found);
  }
  return found;
}
