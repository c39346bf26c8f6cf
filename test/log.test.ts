import { describe, expect, it } from 'vitest';
import { Fernet, generateFernetKey } from '../src/crypto/fernet.js';
import { newToken } from '../src/crypto/random.js';
import { formatUserCode, newUserCode } from '../src/crypto/user-code.js';
import { Logger } from '../src/log/logger.js';
import { REDACTED, redact, redactText } from '../src/log/redact.js';
import { sealAccess, sealRefresh } from '../src/store/token-format.js';
import { memoryLogger } from './helpers/logger.js';

const token = newToken();
const key = generateFernetKey();
const userCode = newUserCode();
const basic = Buffer.from('alexa-client:client-secret-value-0123456789').toString('base64');
const sealed = new Fernet(key).encrypt('x');
const macKey = Buffer.alloc(32, 7);
const refreshToken = sealRefresh(macKey, { grantId: '0123456789abcdef0123456789abcdef', gen: 7 });
const accessToken = sealAccess(macKey, { grantId: '0123456789abcdef0123456789abcdef', issuedAt: 1_800_000_000_000, expiresAt: 1_800_003_600_000 });

describe('redaction of text', () => {
  const cases: Array<[string, string, string]> = [
    ['a bearer token', `Authorization: Bearer ${token}`, token],
    ['a Basic header', `authorization: Basic ${basic}`, basic],
    ['a code in a redirect URL', `https://layla.amazon.com/api/skill/link/M2X?code=abc123def&state=xyz`, 'abc123def'],
    ['the state in a redirect URL', `https://layla.amazon.com/cb?code=abc123def&state=opaque-state-value`, 'opaque-state-value'],
    ['a refresh token in a form body', `grant_type=refresh_token&refresh_token=short-rt-1&client_id=x`, 'short-rt-1'],
    ['a client secret in a form body', `client_id=x&client_secret=hunter2hunter2`, 'hunter2hunter2'],
    ['a code verifier in a form body', `code_verifier=verifier-value-1&code=c`, 'verifier-value-1'],
    ['a cookie header', `Cookie: alexa_link.sid=s%3AaBcDeFgHiJkLmNoPqRsTuVwXyZ012345.Sig%2Bnature`, 'aBcDeFgHiJkLmNoPqRsTuVwXyZ012345'],
    ['a session cookie set', `Set-Cookie: sid=plain-session-id-value; Path=/; HttpOnly`, 'plain-session-id-value'],
    ['a Fernet key', `key is ${key}`, key],
    ['a Fernet token', `value ${sealed}`, sealed],
    ['a bare 256-bit token', `issued ${token} to client`, token],
    ['a bare refresh token (r1.)', `issued ${refreshToken} to client`, refreshToken],
    ['a bare access token (a1.)', `issued ${accessToken}, expires soon`, accessToken],
    ['a user code with dash', `code ${formatUserCode(userCode)} typed`, formatUserCode(userCode)],
    ['a user code without dash', `user typed ${userCode}`, userCode],
    ['JSON text with a token', `{"access_token":"short-at","token_type":"Bearer"}`, 'short-at'],
    ['an HA user id', 'user 8f14e45fceea167a5a36dedd4bea2543 approved', '8f14e45fceea167a5a36dedd4bea2543'],
  ];

  it('leaves nothing of a refresh or access token but its format prefix', () => {
    for (const sealedToken of [refreshToken, accessToken]) {
      expect(redactText(`token ${sealedToken}.`)).toBe(`token ${sealedToken.slice(0, 3)}${REDACTED}.`);
      expect(redactText(`refresh_token=${sealedToken}`)).toBe(`refresh_token=${REDACTED}`);
    }
  });

  it.each(cases)('removes %s', (_name, text, secret) => {
    const result = redactText(text);
    expect(result).not.toContain(secret);
    expect(result).toContain(REDACTED);
  });

  it('leaves ordinary text alone', () => {
    const text = 'Public listener on http://127.0.0.1:8443 (issuer https://alexa.example.net), 3 grants';
    expect(redactText(text)).toBe(text);
  });
});

describe('redaction of structured values', () => {
  it('replaces fields by name, however deep, and keeps harmless ones', () => {
    const value = {
      headers: { authorization: 'anything', cookie: 'a=b', 'x-supervisor-token': 'sv-value', 'user-agent': 'Alexa' },
      body: { grant_type: 'refresh_token', refresh_token: 'rt', client_secret: 's', code: 'c', code_verifier: 'v', state: 'st' },
      nested: [{ encryption_key: 'k', previous_encryption_keys: ['k2'], accessToken: 'at', sid: 'sid-value' }],
      statusCode: 400,
      token_type: 'Bearer',
    };
    const result = JSON.stringify(redact(value));
    for (const secret of ['anything', 'a=b', 'sv-value', '"rt"', '"s"', '"c"', '"v"', '"st"', '"k"', 'k2', '"at"', 'sid-value']) {
      expect(result).not.toContain(secret);
    }
    expect(result).toContain('"grant_type":"refresh_token"');
    expect(result).toContain('"statusCode":400');
    expect(result).toContain('"user-agent":"Alexa"');
    expect(result).toContain('"token_type":"Bearer"');
  });

  it('redacts error messages and stacks, survives cycles and buffers', () => {
    const error = new Error(`bad request with code=${token}`);
    const cyclic: Record<string, unknown> = { error, buffer: Buffer.from(token) };
    cyclic.self = cyclic;
    const result = JSON.stringify(redact(cyclic));
    expect(result).not.toContain(token);
    expect(result).toContain('[circular]');
    expect(result).toContain('bytes]');
  });
});

describe('logger', () => {
  it('drops lines below the level and redacts at every level, trace included', () => {
    for (const level of ['trace', 'debug', 'info', 'notice', 'warning', 'error', 'fatal'] as const) {
      const { logger, lines } = memoryLogger('trace');
      logger.log(level, `token ${token}`, { refresh_token: token, url: `/cb?code=${token}`, header: `Bearer ${token}` });
      expect(lines).toHaveLength(1);
      expect(lines.join('\n')).not.toContain(token);
    }
    const { logger, lines } = memoryLogger('warning');
    logger.info('hidden');
    logger.warning('shown');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/WARNING shown$/);
  });

  it('writes one line per call, with the level and an ISO time', () => {
    const lines: string[] = [];
    const logger = new Logger(
      'info',
      (_level, line) => lines.push(line),
      () => new Date('2026-11-22T00:00:00Z'),
    );
    logger.info('started', { port: 8443 });
    expect(lines).toEqual(['2026-11-22T00:00:00.000Z INFO    started {"port":8443}']);
  });
});

describe('redaction keeps what an admin needs to read', () => {
  it('leaves file paths and long dashed names readable', () => {
    const text = 'Using development secrets from /tmp/alexa-link-AbC123/dev-secrets.json for alexa-link-development-secrets-file';
    expect(redactText(text)).toBe(text);
  });
});
