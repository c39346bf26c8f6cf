/**
 * The user code (RFC 8628 §6.1): what the waiting page shows and the person types in the panel.
 * Everything about its shape is here: alphabet, length, how it is shown, typed, redacted and
 * explained. It lives beside the other secrets in crypto/ (below log/, which must redact it).
 */
import { randomInt } from 'node:crypto';

/** Consonants only, no vowels (no words), no look-alikes (no I, O, U, Y, 0, 1). */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
/** 20^8 ≈ 2^34.6 codes: against the wrong-code budget (tunables.ts), guessing is hopeless. */
export const USER_CODE_LENGTH = 8;
/** Shown as two groups joined by a dash: `BCDF-GHJK` (an odd length puts the extra letter first). */
const FIRST = Math.ceil(USER_CODE_LENGTH / 2);
const SECOND = USER_CODE_LENGTH - FIRST;

export function newUserCode(): string {
  let code = '';
  for (let i = 0; i < USER_CODE_LENGTH; i++) code += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  return code;
}

/** `BCDFGHJK` → `BCDF-GHJK`, the way people see and type it. */
export function formatUserCode(code: string): string {
  return `${code.slice(0, FIRST)}-${code.slice(FIRST)}`;
}

/** An example code for placeholders and help texts (the alphabet's first letters). */
export const USER_CODE_EXAMPLE = formatUserCode(USER_CODE_ALPHABET.slice(0, USER_CODE_LENGTH));

/** The longest input worth reading: the code with its dash and a few stray spaces. */
export const USER_CODE_MAX_INPUT = USER_CODE_LENGTH + 4;

/** "A code has 8 letters, like BCDF-GHJK." */
export const USER_CODE_HINT = `A code has ${USER_CODE_LENGTH} letters, like ${USER_CODE_EXAMPLE}.`;

/**
 * What a person typed → the canonical code, or undefined. Accepts lower case, spaces and dashes,
 * so "bcdf ghjk" works; anything outside the alphabet is refused.
 */
export function normalizeUserCode(input: string): string | undefined {
  const code = input.toUpperCase().replace(/[\s-]/g, '');
  if (code.length !== USER_CODE_LENGTH) return undefined;
  for (const char of code) if (!USER_CODE_ALPHABET.includes(char)) return undefined;
  return code;
}

/** Any user code in a text, with or without its dash: for the log's redaction. */
export const USER_CODE_IN_TEXT = new RegExp(`\\b[${USER_CODE_ALPHABET}]{${FIRST}}-?[${USER_CODE_ALPHABET}]{${SECOND}}\\b`, 'g');
