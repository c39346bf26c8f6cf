/** The random pool (src/crypto/random.ts): every byte handed out once, in the sizes asked for. */
import { describe, expect, it } from 'vitest';
import { newToken, random } from '../src/crypto/random.js';

describe('random', () => {
  it('hands out each draw once: 10,000 draws of 16 and 32 bytes, across many refills of the pool, never repeat', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5_000; i++) {
      seen.add(random(16).toString('hex'));
      seen.add(random(32).toString('hex'));
    }
    expect(seen.size).toBe(10_000);
  });

  it('gives each caller its own copy: changing one draw changes no later one', () => {
    const first = random(32);
    first.fill(0);
    const next = random(32);
    expect(next.equals(Buffer.alloc(32))).toBe(false);
    expect(next.buffer === first.buffer && next.byteOffset === first.byteOffset).toBe(false);
  });

  it('sizes: small ones from the pool, large ones straight from the CSPRNG', () => {
    expect([1, 16, 32, 512, 513, 10_000].map((size) => random(size).length)).toEqual([1, 16, 32, 512, 513, 10_000]);
  });

  it('tokens are 43 characters of URL-safe base64 and unique', () => {
    const tokens = Array.from({ length: 1000 }, () => newToken());
    expect(tokens.every((token) => /^[A-Za-z0-9_-]{43}$/.test(token))).toBe(true);
    expect(new Set(tokens).size).toBe(1000);
  });

  it('the bits are balanced: about half of 8 million bits are ones', () => {
    let ones = 0;
    for (let i = 0; i < 32_768; i++) for (const byte of random(32)) ones += popcount(byte);
    const bits = 32_768 * 32 * 8;
    // 6 standard deviations of a fair coin (sqrt(n)/2): fails only on a biased or repeating source.
    expect(Math.abs(ones - bits / 2)).toBeLessThan(3 * Math.sqrt(bits));
  });
});

function popcount(byte: number): number {
  let count = 0;
  for (let value = byte; value > 0; value >>= 1) count += value & 1;
  return count;
}
