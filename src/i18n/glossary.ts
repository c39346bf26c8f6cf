/**
 * One word per action per language. A person who presses "Zulassen" must not read "Freigabe" a
 * line later and wonder whether that is something else. test/i18n.test.ts holds every catalogue
 * to this: each action's messages use the term, and no message uses a word it replaces.
 */
import type { MessageKey } from './catalogue/en.js';
import type { Locale } from './index.js';

export type Action = 'approve' | 'deny' | 'revoke' | 'link';

export interface Term {
  /** The verb, as a person would look it up. */
  verb: string;
  /** Any form of it (case-insensitive): the messages that name the action must match. */
  forms: RegExp;
  /** Words for the same action that the catalogue must not use. */
  not: RegExp;
}

export const GLOSSARY: Record<Locale, Record<Action, Term>> = {
  en: {
    approve: { verb: 'approve', forms: /approv/i, not: /\b(allow|accept|authori[sz]|permit)/i },
    deny: { verb: 'deny', forms: /\bden(y|ied|ies)\b/i, not: /\b(refus|reject|declin)/i },
    revoke: { verb: 'revoke', forms: /\brevok/i, not: /\b(remov|withdr[ae]w|delet|cancell?ed)/i },
    link: { verb: 'link', forms: /\blink/i, not: /\b(pair(ed|ing)?\b|associat|connect(ed)? (your|the|an?) (account|alexa))/i },
  },
  de: {
    approve: { verb: 'zulassen', forms: /zu(ge)?lass|zulässt|lässt .*zu|lass .*zu|zulassung/i, not: /(freigab|freigeb|genehmig|bestätig|akzeptier)/i },
    deny: { verb: 'ablehnen', forms: /ablehn|abgelehnt/i, not: /(verweiger|zurückgewiesen|zurückweis)/i },
    revoke: { verb: 'widerrufen', forms: /widerruf/i, not: /(aufheb|aufgehoben|hebt .*auf|entfern|lösch|zurückzieh)/i },
    link: { verb: 'verknüpfen', forms: /verknüpf/i, not: /(koppel|verbinden|verbunden|zuordn)/i },
  },
  nl: {
    approve: { verb: 'goedkeuren', forms: /goedkeur|goedgekeurd|keur .*goed|keur je .*goed/i, not: /(toestaan|toegestaan|sta .*toe|accepteer|autoriseer)/i },
    deny: { verb: 'weigeren', forms: /weiger|geweigerd/i, not: /(afwijz|afgewezen|wijs .*af)/i },
    revoke: { verb: 'intrekken', forms: /intrek|ingetrokken|trek .*in/i, not: /(verwijder|opheff|opgeheven|herroep)/i },
    link: { verb: 'koppelen', forms: /koppel/i, not: /(verbinden|verbonden|\blinken|associ)/i },
  },
  fr: {
    approve: { verb: 'autoriser', forms: /autoris/i, not: /(approuv|accept|\bvalid|permett)/i },
    deny: { verb: 'refuser', forms: /refus/i, not: /(rejet|rejeter|décliner|déclin)/i },
    revoke: { verb: 'révoquer', forms: /révoqu|révocation/i, not: /(supprim|retir)/i },
    link: { verb: 'associer', forms: /associ/i, not: /(\blier\b|\bliée?s?\b|liaison|connecter|jumel)/i },
  },
};

/** The messages that name each action: each must use its language's term. */
export const ACTION_MESSAGES: Record<Action, readonly MessageKey[]> = {
  approve: ['panel.confirm.approve', 'panel.confirm.heading', 'panel.done.approved', 'wait.step.enter', 'wait.approved', 'wait.keepOpen'],
  deny: ['panel.confirm.deny', 'panel.done.denied', 'panel.done.deniedText', 'wait.denied'],
  revoke: ['panel.links.revoke', 'panel.revoke.heading', 'panel.revoke.confirm', 'panel.links.revoked', 'panel.links.state.user', 'panel.household.question'],
  link: ['panel.tabs.link', 'panel.link.title', 'wait.heading', 'panel.done.linkAnother'],
};

/**
 * The Alexa app's own labels, quoted only where a source shows them. English: Home Assistant's
 * Alexa Smart Home guide (home-assistant.io, source/_integrations/alexa.smart_home.markdown:
 * "More -> Skills & Games -> Your Skills") and Amazon's LinkAccount card ("Link Account").
 * The Alexa app has no Dutch interface as far as is known: Dutch pages quote the English labels.
 * No German or French source was found: those pages describe the way in words, without labels.
 */
export const ALEXA_APP_LABELS: Record<Locale, readonly string[] | undefined> = {
  en: ['More → Skills & Games → Your Skills', 'Link Account'],
  nl: ['More → Skills & Games → Your Skills', 'Link Account'],
  de: undefined,
  fr: undefined,
};

/** Every label the Alexa app might show, in any language: a catalogue may quote only its own. */
export const ALEXA_APP_LABEL_WORDS =
  /Skills & Games|Your Skills|Link Account|Skills (und|&) Spiele|Deine Skills|Ihre Skills|Konto verknüpfen\*\*|Skills et jeux|Vos Skills|Associer un compte|Skills en games|Jouw skills|Account koppelen/;

/** "Add-on" in every language (Home Assistant's own word in its store), never a translation of it. */
export const ADD_ON_NOT: Record<Locale, RegExp> = {
  en: /\b(addon|extension|plugin)s?\b/i,
  de: /\b(addon|erweiterung|plugin)/i,
  nl: /\b(addon|invoegtoepassing|uitbreiding|plugin)/i,
  fr: /\b(addon|modules?|extension|plugin)\b/i,
};
