/**
 * Rate-limiter memory is bounded (issue 19, point 5): the real server as a separate process, a
 * flood of new client addresses at /token, the heap measured after forced garbage collections
 * (test/helpers/heap-probe.mjs, preloaded). Every limiter is the same counter (src/http/limits.ts);
 * test/limits.test.ts bounds it on its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TUNABLES } from '../src/config/tunables.js';
import { freePort, writeOptions } from './helpers/oauth-server.js';
import { type ServerProcess, startServer } from './helpers/server-process.js';
import { tempDir } from './helpers/tmp.js';

const PROBE = new URL('./helpers/heap-probe.mjs', import.meta.url).href;
const MiB = 1024 * 1024;
const PARALLEL = 64;

/** Address `i`: every other one IPv4, the rest IPv6 each in a /56 of its own. */
function address(i: number): string {
  if (i % 2 === 0) return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  return `2001:db8:${(i >> 8).toString(16)}:${((i & 255) << 8).toString(16)}::${(i & 15).toString(16)}`;
}

let server: ServerProcess;
beforeAll(async () => {
  const dataDir = tempDir();
  const port = await freePort();
  // Loopback is the trusted proxy, so X-Forwarded-For names the client (req.ip), as behind a real one.
  await writeOptions(dataDir, port, { log_level: 'info', trusted_proxies: ['127.0.0.1'] });
  server = await startServer({ DATA_DIR: dataDir, PUBLIC_PORT: String(port), NODE_OPTIONS: `--import ${PROBE}` });
});
afterAll(async () => {
  await server?.stop();
});

/** The server's heap after full garbage collections. */
function heapUsed(): Promise<number> {
  return new Promise((resolve) => {
    let seen = '';
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString();
      const match = /^HEAP (\d+)$/m.exec(seen);
      if (!match) return;
      server.child.stdout!.off('data', onData);
      resolve(Number(match[1]));
    };
    server.child.stdout!.on('data', onData);
    server.child.kill('SIGUSR2');
  });
}

/**
 * One request to /token from each of `count` new addresses. The body is no form: the limiter counts
 * it, the handler refuses it (400) without writing anything or spending a failure budget.
 */
async function flood(from: number, count: number): Promise<void> {
  const send = async (i: number): Promise<void> => {
    const response = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'x-forwarded-for': address(i) },
      body: 'x',
    });
    await response.arrayBuffer();
    // A new key each time: the first request of its window.
    if (response.status !== 400 || !response.headers.get('ratelimit')?.includes(`remaining=${TUNABLES.limits.token.limit - 1},`)) {
      throw new Error(`/token from ${address(i)}: ${response.status} ${response.headers.get('ratelimit')}`);
    }
  };
  for (let start = from; start < from + count; start += PARALLEL) {
    await Promise.all(Array.from({ length: Math.min(PARALLEL, from + count - start) }, (_, j) => send(start + j)));
  }
}

describe('rate-limiter memory', () => {
  it(`the heap after a forced GC stays flat (±1 MiB) across 30,000 new addresses, once the limiter holds its ${TUNABLES.limits.maxKeys.toLocaleString('en')} keys`, async () => {
    // Fill the limiter to its bound and beyond (the Map's table settles at its size, the code is
    // compiled), then measure: before this change, 30,000 addresses added about 7 MiB.
    const warmUp = 2 * TUNABLES.limits.maxKeys;
    await flood(0, warmUp);
    const before = await heapUsed();
    await flood(warmUp, 30_000);
    const after = await heapUsed();
    const grown = after - before;
    expect(Math.abs(grown), `heap ${(before / MiB).toFixed(2)} MiB -> ${(after / MiB).toFixed(2)} MiB`).toBeLessThan(MiB);
  }, 300_000);
});
