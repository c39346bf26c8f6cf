/** The one rule of whether a link is in force (src/store/grants.ts linkState), apart from its words. */
import { describe, expect, it } from 'vitest';
import { isGrantActive, linkState } from '../src/store/grants.js';

const NOW = Date.UTC(2026, 11, 5, 12);
const HOUR = 3_600_000;

describe('linkState', () => {
  it.each([
    ['no end', { revokedAt: undefined, revokedReason: undefined, expiresAt: undefined }, { kind: 'active' }],
    ['an end still ahead', { revokedAt: undefined, revokedReason: undefined, expiresAt: NOW + 1 }, { kind: 'active' }],
    ['its end reached this moment', { revokedAt: undefined, revokedReason: undefined, expiresAt: NOW }, { kind: 'expired', at: NOW }],
    [
      'revoked by an administrator',
      { revokedAt: NOW - HOUR, revokedReason: 'admin', expiresAt: undefined },
      { kind: 'revoked', at: NOW - HOUR, reason: 'admin' },
    ],
    [
      'revoked before it would have expired: revoked wins',
      { revokedAt: NOW - 2 * HOUR, revokedReason: 'refresh_reuse', expiresAt: NOW - HOUR },
      { kind: 'revoked', at: NOW - 2 * HOUR, reason: 'refresh_reuse' },
    ],
  ] as const)('%s', (_name, grant, state) => {
    expect(linkState(grant, NOW)).toEqual(state);
    expect(isGrantActive(grant, NOW)).toBe(state.kind === 'active');
  });
});
