/**
 * Small validators for option values. Each returns the parsed value or throws ConfigError naming
 * the option, so every bad value becomes one clear line at start-up.
 */
import { isIP } from 'node:net';
import { FernetError, parseFernetKey } from '../crypto/fernet.js';
import { ConfigError } from '../errors.js';

export type Validator<T> = (value: unknown, name: string) => T;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'string' ? 'text' : `a ${typeof value}`;
}

export const bool: Validator<boolean> = (value, name) => {
  if (typeof value !== 'boolean') throw new ConfigError(name, `must be true or false, got ${describe(value)}`);
  return value;
};

export function int(min: number, max: number): Validator<number> {
  return (value, name) => {
    // Environment overrides arrive as text; options.json carries numbers.
    const number = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
    if (typeof number !== 'number' || !Number.isInteger(number)) {
      throw new ConfigError(name, `must be a whole number, got ${describe(value)}`);
    }
    if (number < min || number > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${number}`);
    return number;
  };
}

export function text(options: { min?: number; max?: number; pattern?: RegExp; hint?: string } = {}): Validator<string> {
  const { min = 1, max = 2048, pattern, hint } = options;
  return (value, name) => {
    if (typeof value !== 'string') throw new ConfigError(name, `must be text, got ${describe(value)}`);
    if (value !== value.trim()) throw new ConfigError(name, 'must not start or end with spaces');
    if (value.length < min) {
      throw new ConfigError(name, value.length === 0 ? 'must not be empty' : `must be at least ${min} characters long`);
    }
    if (value.length > max) throw new ConfigError(name, `must be at most ${max} characters long`);
    // The message never repeats the value: it may be a secret pasted into the wrong field.
    if (pattern && !pattern.test(value)) throw new ConfigError(name, hint ?? `must match ${pattern}`);
    return value;
  };
}

export function oneOf<T extends string>(choices: readonly T[]): Validator<T> {
  return (value, name) => {
    if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
      throw new ConfigError(name, `must be one of ${choices.join(', ')}`);
    }
    return value as T;
  };
}

export function list<T>(item: Validator<T>, max = 32): Validator<T[]> {
  return (value, name) => {
    if (!Array.isArray(value)) throw new ConfigError(name, `must be a list, got ${describe(value)}`);
    if (value.length > max) throw new ConfigError(name, `must have at most ${max} entries`);
    return value.map((entry, index) => item(entry, `${name}[${index}]`));
  };
}

export const fernetKey: Validator<string> = (value, name) => {
  const key = text({ max: 64 })(value, name);
  try {
    parseFernetKey(key);
  } catch (error) {
    if (error instanceof FernetError) throw new ConfigError(name, `is not a valid key: ${error.message}`);
    throw error;
  }
  return key;
};

const LOOPBACK_HOSTS = new Set(['localhost', '[::1]']);

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/**
 * An absolute URL without credentials or fragment. https is required unless `allowHttp` says
 * otherwise or the host is a loopback address (local development).
 */
export function url(options: { allowHttp?: boolean; allowQuery?: boolean } = {}): Validator<string> {
  return (value, name) => {
    const raw = text({ max: 2048 })(value, name);
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new ConfigError(name, 'must be an absolute URL such as https://example.com');
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new ConfigError(name, 'must be an http(s) URL');
    if (parsed.protocol === 'http:' && !options.allowHttp && !isLoopbackHost(parsed.hostname)) {
      throw new ConfigError(name, 'must use https:// (plain http is only allowed on loopback addresses)');
    }
    if (parsed.username || parsed.password) throw new ConfigError(name, 'must not contain a user name or password');
    if (parsed.hash || raw.includes('#')) throw new ConfigError(name, 'must not contain a #fragment');
    if (parsed.search && !options.allowQuery) throw new ConfigError(name, 'must not contain a ?query');
    return raw;
  };
}

/** Express `trust proxy` names for address ranges, accepted besides plain addresses and CIDRs. */
const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** An IP address, an address/prefix range, or one of Express's named ranges. Never "true". */
export const proxyAddress: Validator<string> = (value, name) => {
  const entry = text({ max: 64 })(value, name);
  if (NAMED_RANGES.has(entry)) return entry;
  const [address = '', prefix, extra] = entry.split('/');
  const family = isIP(address);
  const maxPrefix = family === 4 ? 32 : 128;
  const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= maxPrefix);
  if (family === 0 || extra !== undefined || !prefixOk) {
    throw new ConfigError(name, 'must be an IP address or range such as 172.30.32.0/23 (or loopback, linklocal, uniquelocal)');
  }
  return entry;
};
