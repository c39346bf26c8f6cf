/**
 * Everything that is logged passes through here first. Two nets:
 * 1. by name: any field whose name says token, secret, code, cookie, authorization... is replaced;
 * 2. by shape: in any text, Bearer/Basic credentials, name=value pairs of sensitive parameters,
 *    Fernet tokens, user codes and long random-looking strings (all our tokens are 43+ characters of
 *    base64url) are replaced.
 * The second net catches what the first misses (a URL with ?code=..., an error message quoting a
 * header), so a mistake in one call site does not leak.
 */
import { createHash } from 'node:crypto';
import { USER_CODE_IN_TEXT } from '../crypto/user-code.js';

export const REDACTED = '[redacted]';

/**
 * A Home Assistant user as the log names them: 8 hex digits of the SHA-256 of their id. Enough to
 * tell people apart in one log, and not their name (the database encrypts names; the log must not
 * hold them in clear).
 */
export function pseudonym(userId: string): string {
  return `user-${createHash('sha256').update(userId).digest('hex').slice(0, 8)}`;
}

const SENSITIVE_NAME =
  /token|secret|passw|authori[sz]ation|cookie|verifier|challenge|^code$|_code$|^sid$|session|^state$|keys?$|credential|assertion|user-(display-)?name|display_?name|subject_?name|user_?name/i;
/** Names that match the pattern above but hold no secret. */
const SAFE_NAMES = new Set(['statusCode', 'status_code', 'keyIndex', 'token_type', 'token_type_hint', 'grant_type', 'error_code']);

const SENSITIVE_PARAMS =
  'code|access_token|refresh_token|id_token|token|client_secret|code_verifier|code_challenge|state|user_code|password|secret|key|encryption_key|sid';

const TEXT_RULES: Array<[RegExp, string]> = [
  // Authorization header values.
  [/\b(Bearer|Basic|Digest)(\s+)[^\s,;"']+/gi, `$1$2${REDACTED}`],
  // name=value in URLs, forms and cookie headers.
  [new RegExp(`(^|[?&;,\\s"'])(${SENSITIVE_PARAMS})=([^&;,\\s"'#]*)`, 'gi'), `$1$2=${REDACTED}`],
  // "name": "value" inside JSON text.
  [new RegExp(`("(?:${SENSITIVE_PARAMS})"\\s*:\\s*)"(?:[^"\\\\]|\\\\.)*"`, 'gi'), `$1"${REDACTED}"`],
  // Fernet tokens.
  [/gAAAAA[A-Za-z0-9_-]{16,}={0,2}/g, REDACTED],
  // Signed express-session cookie values (s:<sid>.<mac>, possibly URL-encoded).
  [/s(?::|%3A)[A-Za-z0-9_-]{16,}\.[A-Za-z0-9+/=%]+/g, REDACTED],
  // User codes, with or without the dash.
  [USER_CODE_IN_TEXT, REDACTED],
];

/**
 * Any long random-looking run: our tokens, keys, session ids, HA user ids (32 hex). A run of
 * lower-case words joined by dashes (a file name) is left alone; a random run of 32+ characters
 * without a digit or a capital letter is vanishingly rare (< 1e-9 for a 43-character token).
 */
const LONG_RUN = /[A-Za-z0-9_-]{32,}={0,2}/g;
const RANDOM_LOOKING = /[A-Z0-9]/;

export function redactText(text: string): string {
  let result = text;
  for (const [pattern, replacement] of TEXT_RULES) result = result.replace(pattern, replacement);
  return result.replace(LONG_RUN, (run) => (RANDOM_LOOKING.test(run) ? REDACTED : run));
}

function isSensitiveName(name: string): boolean {
  return !SAFE_NAMES.has(name) && SENSITIVE_NAME.test(name);
}

const MAX_DEPTH = 6;

/** Deep copy of `value` with every secret replaced; safe for cycles, errors, buffers and Maps. */
export function redact(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') {
    return typeof value === 'bigint' || typeof value === 'symbol' || typeof value === 'function' ? String(value) : value;
  }
  if (seen.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[nested]';
  seen.add(value);
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
  if (value instanceof Error) {
    const error: Record<string, unknown> = { name: value.name, message: redactText(value.message) };
    if (value.stack) error.stack = redactText(value.stack);
    const code = (value as NodeJS.ErrnoException).code;
    if (code !== undefined) error.code = redact(code, depth + 1, seen);
    return error;
  }
  if (value instanceof Map) return redact(Object.fromEntries(value), depth, seen);
  if (Array.isArray(value)) return value.map((entry) => redact(entry, depth + 1, seen));
  const result: Record<string, unknown> = {};
  for (const [name, entry] of Object.entries(value)) {
    result[name] = isSensitiveName(name) && entry !== undefined && entry !== null && entry !== '' ? REDACTED : redact(entry, depth + 1, seen);
  }
  return result;
}
