/**
 * The per-address request limits (src/http/limits.ts) on their own: the answers express-rate-limit
 * gave before they replaced it (same headers, same keys: IPv6 per /56, req.ip after `trust
 * proxy`), fixed windows, the exemption that lets correct credentials through, and a hard bound on
 * the keys they remember, in count and in heap.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import express, { type Request, type RequestHandler, type Response } from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { TUNABLES } from '../src/config/tunables.js';
import { type Exemption, type Limits, limiter, RequestCounter } from '../src/http/limits.js';
import { clock } from './helpers/store.js';

const tooMany = (_req: Request, res: Response): void => {
  res.status(429).type('text/plain').send('slow down');
};

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((closed) => server.close(closed))));
});

/** An Express app with `limit` in front of a plain 200, on a loopback port. */
async function serve(limit: RequestHandler, trustProxy: string[] | false = false): Promise<(headers?: Record<string, string>) => Promise<globalThis.Response>> {
  const app = express();
  app.set('trust proxy', trustProxy);
  app.get('/', limit, (_req, res) => {
    res.send('ok');
  });
  const server = await new Promise<Server>((listening) => {
    const started = app.listen(0, '127.0.0.1', () => listening(started));
  });
  servers.push(server);
  const { port } = server.address() as AddressInfo;
  return (headers = {}) => fetch(`http://127.0.0.1:${port}/`, { headers });
}

describe('the answers stay what they were', () => {
  it('the limit, then 429 from `respond` with Retry-After; RateLimit-Policy and RateLimit (draft-7) on every answer', async () => {
    const get = await serve(limiter({ limit: 3, windowMs: 60_000 }, tooMany));
    for (let i = 0; i < 3; i++) {
      const response = await get();
      expect(response.status).toBe(200);
      expect(response.headers.get('ratelimit-policy')).toBe('3;w=60');
      expect(response.headers.get('ratelimit')).toMatch(new RegExp(`^limit=3, remaining=${2 - i}, reset=(59|60)$`));
      expect(response.headers.get('retry-after')).toBeNull();
    }
    const refused = await get();
    expect(refused.status).toBe(429);
    expect(await refused.text()).toBe('slow down');
    expect(refused.headers.get('retry-after')).toMatch(/^(59|60)$/);
    expect(refused.headers.get('ratelimit')).toMatch(/^limit=3, remaining=0, reset=(59|60)$/);
    expect(refused.headers.get('x-ratelimit-limit')).toBeNull();
  });

  it('counts req.ip: X-Forwarded-For only from a trusted proxy; IPv6 per /56; IPv4-mapped IPv6 as IPv4', async () => {
    const untrusted = await serve(limiter({ limit: 1, windowMs: 60_000 }, tooMany));
    expect((await untrusted({ 'x-forwarded-for': '198.51.100.1' })).status).toBe(200);
    expect((await untrusted({ 'x-forwarded-for': '198.51.100.2' })).status).toBe(429);

    const get = await serve(limiter({ limit: 1, windowMs: 60_000 }, tooMany), ['127.0.0.1']);
    const from = async (address: string): Promise<number> => (await get({ 'x-forwarded-for': address })).status;
    expect(await from('2001:db8:ab:cd00::1')).toBe(200);
    // The same /56: one household.
    expect(await from('2001:db8:ab:cdff:ffff:ffff:ffff:ffff')).toBe(429);
    expect(await from('2001:DB8:AB:CD12::')).toBe(429);
    // The next /56.
    expect(await from('2001:db8:ab:ce00::1')).toBe(200);
    expect(await from('192.0.2.1')).toBe(200);
    expect(await from('::ffff:192.0.2.1')).toBe(429);
    expect(await from('192.0.2.2')).toBe(200);
  });
});

describe('the exemption (correct credentials)', () => {
  it('is asked only past the limit; an exempt request is answered, the others are refused', async () => {
    let asked = 0;
    let answer = true;
    const exempt: Exemption = async () => {
      asked++;
      return answer;
    };
    const get = await serve(limiter({ limit: 2, windowMs: 60_000 }, tooMany, exempt));
    expect((await get()).status).toBe(200);
    expect((await get()).status).toBe(200);
    expect(asked).toBe(0);
    const exempted = await get();
    expect(exempted.status).toBe(200);
    expect(exempted.headers.get('retry-after')).toBeNull();
    expect(asked).toBe(1);
    answer = false;
    const refused = await get();
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(asked).toBe(2);
  });
});

describe('the counter', () => {
  const limits: Limits = { limit: 2, windowMs: 60_000 };

  it('counts fixed windows per key: a new window starts with the first request after the last one ended', () => {
    const time = clock();
    const counter = new RequestCounter(limits, 100, time.now);
    expect(counter.hit('a')).toEqual({ hits: 1, resetInMs: 60_000 });
    time.advance(59_000);
    expect(counter.hit('a')).toEqual({ hits: 2, resetInMs: 1_000 });
    expect(counter.hit('b')).toEqual({ hits: 1, resetInMs: 60_000 });
    time.advance(1_000);
    expect(counter.hit('a')).toEqual({ hits: 1, resetInMs: 60_000 });
    expect(counter.hit('b')).toEqual({ hits: 2, resetInMs: 59_000 });
  });

  it(`keeps at most ${TUNABLES.limits.maxKeys.toLocaleString('en')} keys while 30,000 new ones come past that bound; the newest stay`, () => {
    const counter = new RequestCounter(limits, TUNABLES.limits.maxKeys, clock().now);
    for (let i = 0; i < TUNABLES.limits.maxKeys + 30_000; i++) {
      counter.hit(`address-${i}`);
      expect(counter.size).toBeLessThanOrEqual(TUNABLES.limits.maxKeys);
    }
    expect(counter.size).toBe(TUNABLES.limits.maxKeys);
    const newest = TUNABLES.limits.maxKeys + 30_000 - 1;
    expect(counter.hit(`address-${newest}`).hits).toBe(2);
    expect(counter.hit(`address-${newest - TUNABLES.limits.maxKeys + 1}`).hits).toBe(2);
  });

  it('at the bound, expired windows go first, then the oldest (as util/bounded.ts makeRoom)', () => {
    const time = clock();
    const counter = new RequestCounter(limits, 4, time.now);
    counter.hit('a');
    counter.hit('b');
    time.advance(30_000);
    counter.hit('c');
    counter.hit('d');
    time.advance(31_000);
    // a and b have expired: they make the room, c and d stay.
    counter.hit('e');
    expect(counter.size).toBe(3);
    expect(counter.hit('c').hits).toBe(2);
    expect(counter.hit('d').hits).toBe(2);
    counter.hit('f');
    // Full, nothing expired: the oldest window (c) goes.
    counter.hit('g');
    expect(counter.size).toBe(4);
    expect(counter.hit('d').hits).toBe(3);
    expect(counter.hit('c').hits).toBe(1);
  });

  it('forgets expired windows as new ones come, without waiting for the bound', () => {
    const time = clock();
    const counter = new RequestCounter(limits, 100, time.now);
    for (let i = 0; i < 50; i++) counter.hit(`old-${i}`);
    time.advance(60_000);
    counter.hit('new');
    expect(counter.size).toBe(1);
  });
});

describe('memory', () => {
  it('the heap after a forced GC stays flat (±1 MiB) while 30,000 new addresses pass the /token limiter', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const heap = (): number => {
      gc();
      gc();
      return process.memoryUsage().heapUsed;
    };
    const limit = limiter(TUNABLES.limits.token, tooMany);
    const ignore = (): void => {};
    const response = { headersSent: false, setHeader: ignore, getHeader: ignore, status: () => response } as unknown as Response;
    const pass = (i: number): Promise<void> => {
      const ip = i % 2 === 0 ? `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` : `2001:db8:${(i >> 8).toString(16)}:${((i & 255) << 8).toString(16)}::1`;
      const request = { ip, socket: { remoteAddress: ip }, headers: {}, app: { get: ignore }, method: 'POST', path: '/token' } as unknown as Request;
      return new Promise<void>((next) => {
        void limit(request, response, () => next());
      });
    };
    // Past the bound first (the Map's table settles at its size), then measure.
    for (let i = 0; i < 2 * TUNABLES.limits.maxKeys; i++) await pass(i);
    const before = heap();
    for (let i = 2 * TUNABLES.limits.maxKeys; i < 2 * TUNABLES.limits.maxKeys + 30_000; i++) await pass(i);
    const after = heap();
    expect(Math.abs(after - before), `${before} -> ${after} bytes`).toBeLessThan(1024 * 1024);
  });
});
