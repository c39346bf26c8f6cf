/**
 * Fernet (https://github.com/fernet/spec), on node:crypto only.
 *
 * Token: 0x80 | timestamp (u64 BE, seconds) | IV (16) | AES-128-CBC ciphertext | HMAC-SHA256 (32),
 * URL-safe base64 with padding. Key: 32 bytes URL-safe base64; the first half signs, the second
 * half encrypts. The format is the one Python's `cryptography.fernet.Fernet` reads and writes, so
 * Music Assistant (Python) and this add-on can share a key.
 *
 * Data at rest carries no TTL: `decrypt` checks age only when a TTL is passed (the spec vectors).
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { random } from './random.js';

const VERSION = 0x80;
const HEADER = 1 + 8 + 16; // version, timestamp, IV
const MAC = 32;
const BLOCK = 16;
/** Same clock-skew allowance as Python's cryptography, used only together with a TTL. */
const MAX_CLOCK_SKEW_SECONDS = 60;

export class FernetError extends Error {
  override name = 'FernetError';
}

const B64URL = /^[A-Za-z0-9_-]*={0,2}$/;

/** Strict URL-safe base64: alphabet, padding and canonical form, so one value has one spelling. */
function decodeBase64Url(text: string): Buffer | undefined {
  if (text.length % 4 !== 0 || !B64URL.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text.replace(/=+$/, '') ? bytes : undefined;
}

function encodeBase64Url(bytes: Buffer): string {
  // Buffer's base64url omits padding; Fernet (and Python) always pad.
  return bytes.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

/** Returns the 32 key bytes, or throws FernetError saying what is wrong with the key text. */
export function parseFernetKey(key: string): Buffer {
  const bytes = decodeBase64Url(key.trim());
  if (bytes?.length !== 32) {
    throw new FernetError('a Fernet key is 32 bytes in URL-safe base64 (44 characters ending in "=")');
  }
  return bytes;
}

export function generateFernetKey(): string {
  return encodeBase64Url(randomBytes(32));
}

export interface EncryptOptions {
  /** Seconds since the epoch; defaults to now. */
  timestamp?: number;
  /** Only for the spec vectors: a fixed IV. */
  iv?: Buffer;
}

export interface DecryptOptions {
  ttlSeconds?: number;
  /** Seconds since the epoch; defaults to now. */
  now?: number;
}

export class Fernet {
  readonly #signingKey: Buffer;
  readonly #encryptionKey: Buffer;

  constructor(key: string) {
    const bytes = parseFernetKey(key);
    this.#signingKey = bytes.subarray(0, 16);
    this.#encryptionKey = bytes.subarray(16, 32);
  }

  encrypt(data: Buffer | string, options: EncryptOptions = {}): string {
    const iv = options.iv ?? random(16);
    if (iv.length !== 16) throw new FernetError('IV must be 16 bytes');
    const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
    const cipher = createCipheriv('aes-128-cbc', this.#encryptionKey, iv);
    const plaintext = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const header = Buffer.alloc(9);
    header[0] = VERSION;
    header.writeBigUInt64BE(BigInt(timestamp), 1);
    const signed = Buffer.concat([header, iv, ciphertext]);
    const mac = createHmac('sha256', this.#signingKey).update(signed).digest();
    return encodeBase64Url(Buffer.concat([signed, mac]));
  }

  decrypt(token: string, options: DecryptOptions = {}): Buffer {
    const bytes = decodeBase64Url(token);
    if (!bytes) throw new FernetError('token is not URL-safe base64');
    if (bytes.length < HEADER + BLOCK + MAC || (bytes.length - HEADER - MAC) % BLOCK !== 0) {
      throw new FernetError('token has the wrong length');
    }
    if (bytes[0] !== VERSION) throw new FernetError('unknown token version');
    const signed = bytes.subarray(0, bytes.length - MAC);
    const expected = createHmac('sha256', this.#signingKey).update(signed).digest();
    // The MAC is checked, in constant time, before anything is decrypted.
    if (!timingSafeEqual(expected, bytes.subarray(bytes.length - MAC))) {
      throw new FernetError('token signature does not match this key');
    }
    if (options.ttlSeconds !== undefined) {
      const timestamp = Number(bytes.readBigUInt64BE(1));
      const now = options.now ?? Math.floor(Date.now() / 1000);
      if (timestamp + options.ttlSeconds < now) throw new FernetError('token has expired');
      if (now + MAX_CLOCK_SKEW_SECONDS < timestamp) throw new FernetError('token is from the future');
    }
    try {
      const decipher = createDecipheriv('aes-128-cbc', this.#encryptionKey, bytes.subarray(9, HEADER));
      return Buffer.concat([decipher.update(bytes.subarray(HEADER, bytes.length - MAC)), decipher.final()]);
    } catch {
      throw new FernetError('token padding is invalid');
    }
  }
}
