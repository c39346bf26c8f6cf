import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Fernet, FernetError, generateFernetKey, parseFernetKey } from '../src/crypto/fernet.js';
import { KeyRing } from '../src/crypto/keyring.js';
import { python } from './helpers/python.js';

interface Vector {
  desc?: string;
  token: string;
  now: string;
  iv?: number[];
  src?: string;
  secret: string;
  ttl_sec?: number;
}

const vectors = (name: string): Vector[] => JSON.parse(readFileSync(new URL(`./fixtures/fernet-spec/${name}.json`, import.meta.url), 'utf8')) as Vector[];
const seconds = (iso: string): number => Math.floor(Date.parse(iso) / 1000);

describe('Fernet spec vectors', () => {
  it.each(vectors('generate'))('generate: $src', (vector) => {
    const token = new Fernet(vector.secret).encrypt(vector.src!, { timestamp: seconds(vector.now), iv: Buffer.from(vector.iv!) });
    expect(token).toBe(vector.token);
  });

  it.each(vectors('verify'))('verify: $src', (vector) => {
    const plain = new Fernet(vector.secret).decrypt(vector.token, { ttlSeconds: vector.ttl_sec!, now: seconds(vector.now) });
    expect(plain.toString('utf8')).toBe(vector.src);
  });

  it.each(vectors('invalid'))('invalid: $desc', (vector) => {
    expect(() => new Fernet(vector.secret).decrypt(vector.token, { ttlSeconds: vector.ttl_sec!, now: seconds(vector.now) })).toThrow(FernetError);
  });

  it('checks every invalid vector (none skipped)', () => {
    expect(vectors('invalid')).toHaveLength(8);
  });
});

describe('Fernet for data at rest', () => {
  const key = generateFernetKey();
  const fernet = new Fernet(key);

  it('round-trips text, including non-ASCII and empty values', () => {
    for (const value of ['', 'hello', 'Zoë ☕ 日本', 'x'.repeat(10_000)]) {
      expect(fernet.decrypt(fernet.encrypt(value)).toString('utf8')).toBe(value);
    }
  });

  it('has no TTL unless one is asked for: a token from 1985 still opens', () => {
    const old = fernet.encrypt('kept for years', { timestamp: 499_162_800 });
    expect(fernet.decrypt(old).toString('utf8')).toBe('kept for years');
  });

  it('uses a fresh IV every time', () => {
    expect(fernet.encrypt('same')).not.toBe(fernet.encrypt('same'));
  });

  it('rejects a token with any single byte changed', () => {
    const token = fernet.encrypt('sensitive');
    const bytes = Buffer.from(token, 'base64url');
    for (let i = 0; i < bytes.length; i++) {
      const tampered = Buffer.from(bytes);
      tampered[i] = tampered[i]! ^ 0x01;
      expect(() => fernet.decrypt(tampered.toString('base64').replace(/\+/g, '-').replace(/\//g, '_'))).toThrow(FernetError);
    }
  });

  it('rejects truncated tokens of every length', () => {
    const token = fernet.encrypt('sensitive');
    for (let length = 0; length < token.length; length += 1) {
      expect(() => fernet.decrypt(token.slice(0, length))).toThrow(FernetError);
    }
  });

  it('rejects a token made with another key', () => {
    const other = new Fernet(generateFernetKey());
    expect(() => fernet.decrypt(other.encrypt('not yours'))).toThrow('signature');
  });

  it('rejects non-canonical base64 and foreign characters', () => {
    const token = fernet.encrypt('x');
    expect(() => fernet.decrypt(`${token} `)).toThrow(FernetError);
    expect(() => fernet.decrypt(token.replace(/=+$/, ''))).toThrow(FernetError);
    // Fixed positions, not "the first - or _": a random token need not contain either.
    const at = (index: number, char: string): string => token.slice(0, index) + char + token.slice(index + 1);
    expect(() => fernet.decrypt(at(20, '+'))).toThrow(FernetError);
    expect(() => fernet.decrypt(at(20, '/'))).toThrow(FernetError);
    // 'x' makes a 73-byte token: 100 characters ending "X==" where X carries 4 unused bits that must be 0.
    expect(token).toMatch(/[AQgw]==$/);
    const lastData = token.length - 3;
    const sameBytesOtherSpelling = String.fromCharCode(token.charCodeAt(lastData) + 1);
    expect(Buffer.from(at(lastData, sameBytesOtherSpelling), 'base64url')).toEqual(Buffer.from(token, 'base64url'));
    expect(() => fernet.decrypt(at(lastData, sameBytesOtherSpelling))).toThrow('not URL-safe base64');
  });

  it('accepts only 32-byte URL-safe base64 keys', () => {
    expect(parseFernetKey(key)).toHaveLength(32);
    for (const bad of ['', 'short', Buffer.alloc(16).toString('base64'), Buffer.alloc(33).toString('base64'), key.replace(/.$/, '!')]) {
      expect(() => parseFernetKey(bad)).toThrow(FernetError);
    }
  });
});

describe('Fernet interop with Python cryptography', () => {
  const key = generateFernetKey();

  it('Python decrypts what we encrypt', () => {
    const value = 'ha-user 8f14e45f · Zoë';
    expect(python({ op: 'decrypt', key, token: new Fernet(key).encrypt(value) })).toEqual({ data: value });
  });

  it('we decrypt what Python encrypts', () => {
    const { token } = python({ op: 'encrypt', key, data: 'from python ☕' });
    expect(new Fernet(key).decrypt(token!).toString('utf8')).toBe('from python ☕');
  });

  it("Python rejects our token under another key, and we reject Python's", () => {
    const other = generateFernetKey();
    expect(python({ op: 'decrypt', key: other, token: new Fernet(key).encrypt('x') })).toEqual({ invalid: true });
    const { token } = python({ op: 'encrypt', key: other, data: 'x' });
    expect(() => new Fernet(key).decrypt(token!)).toThrow(FernetError);
  });

  it('a key we generate is a key Python accepts', () => {
    const generated = generateFernetKey();
    const { token } = python({ op: 'encrypt', key: generated, data: 'ok' });
    expect(new Fernet(generated).decrypt(token!).toString()).toBe('ok');
  });
});

describe('KeyRing', () => {
  const current = generateFernetKey();
  const previous = generateFernetKey();

  it('encrypts with the first key and opens with any, telling which', () => {
    const ring = new KeyRing([current, previous]);
    const fromOld = new KeyRing([previous]).encrypt('old');
    expect(ring.open(fromOld)).toEqual({ value: 'old', keyIndex: 1 });
    expect(ring.open(ring.encrypt('new'))).toEqual({ value: 'new', keyIndex: 0 });
    expect(new KeyRing([current]).decrypt(ring.encrypt('first key encrypts'))).toBe('first key encrypts');
  });

  it('refuses a value no key opens, and an empty ring', () => {
    expect(() => new KeyRing([current]).open(new KeyRing([previous]).encrypt('x'))).toThrow(FernetError);
    expect(() => new KeyRing([])).toThrow(FernetError);
  });
});
