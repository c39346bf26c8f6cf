/**
 * Reading OAuth parameters at the edge. RFC 6749 §3.1/§3.2: parameters must not repeat; we also
 * refuse text that was not valid UTF-8 (decoded to U+FFFD) and control characters, so nothing
 * odd travels further than this module.
 */
import { OAuthError } from '../errors.js';
import type { ApiRequest } from '../http/api-request.js';
import { isForm } from '../http/form-body.js';

export type Params = Record<string, string | undefined>;

// Control characters have no place in any OAuth parameter.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f]/;

export function readParams(source: unknown): Params {
  const params: Params = {};
  if (source === undefined || source === null) return params;
  if (typeof source !== 'object') throw new OAuthError('invalid_request', 'malformed parameters');
  for (const [name, value] of Object.entries(source as Record<string, unknown>)) {
    if (Array.isArray(value)) throw new OAuthError('invalid_request', `parameter "${safeName(name)}" must not be given more than once`);
    if (typeof value !== 'string') throw new OAuthError('invalid_request', 'malformed parameters');
    if (value.includes('\uFFFD') || name.includes('\uFFFD')) throw new OAuthError('invalid_request', 'parameters must be UTF-8');
    if (CONTROL.test(value)) throw new OAuthError('invalid_request', `parameter "${safeName(name)}" contains control characters`);
    // An empty value is the same as an absent one (RFC 6749 §3.1).
    params[name] = value === '' ? undefined : value;
  }
  return params;
}

/** Parameter names are attacker-chosen: only plain ones are echoed in error descriptions. */
function safeName(name: string): string {
  return /^[a-z_]{1,40}$/.test(name) ? name : '(unnamed)';
}

/** The form body of a POST to a token-style endpoint. */
export function formParams(req: ApiRequest): Params {
  if (!isForm(req)) {
    throw new OAuthError('invalid_request', 'the request body must be application/x-www-form-urlencoded');
  }
  const params = readParams(req.body);
  // RFC 6749 §3.2: token endpoint parameters travel in the body, never in the URL, where they would be logged by proxies.
  if (Object.keys(req.query as object).length > 0) throw new OAuthError('invalid_request', 'parameters must be sent in the request body, not the URL');
  return params;
}

export function required(params: Params, name: string): string {
  const value = params[name];
  if (value === undefined) throw new OAuthError('invalid_request', `missing parameter "${name}"`);
  return value;
}

/** VSCHAR (RFC 6749 Appendix A): printable ASCII. */
export const VSCHAR = /^[\x20-\x7e]+$/;
