/**
 * The public listener's front door (src/http/path-table.ts), on real loopback listeners: it takes
 * exactly the requests Express's router would route to the same paths, gives its steps the address,
 * path and query Express would, and sends every failure to the error handler.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proxyAddr } from '../src/commonjs.js';
import type { ApiRequest, ApiStep } from '../src/http/api-request.js';
import { pathTable } from '../src/http/path-table.js';

const trust = proxyAddr.compile(['127.0.0.1']);

function answer(res: ServerResponse, body: unknown): void {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
}
const seen = (req: ApiRequest, res: ServerResponse): void =>
  answer(res, { route: 'token', ip: req.ip, path: req.path, query: req.query, originalUrl: req.originalUrl });
const refused = (allow: string) => (_req: IncomingMessage, res: ServerResponse) => answer(res, { refused: allow });
const elsewhere = (_req: IncomingMessage, res: ServerResponse): void => answer(res, { route: 'elsewhere' });

async function listen(listener: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; port: number }> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/** One raw HTTP/1.1 request, the target sent exactly as given (absolute form, fragments and all). */
function raw(port: number, method: string, target: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', body = ''] = text.split('\r\n\r\n');
      resolve({ status: Number(head.split(' ')[1]), body });
    });
    const lines = Object.entries({ host: 'example.test', 'content-length': '0', connection: 'close', ...headers }).map(([name, value]) => `${name}: ${value}`);
    socket.write(`${method} ${target} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
  });
}

describe('the front door routes as Express does', () => {
  let door: { server: Server; port: number };
  let router: { server: Server; port: number };
  beforeAll(async () => {
    door = await listen(
      pathTable({ '/token': { method: 'POST', steps: [seen] } }, { before: [], wrongMethod: refused, trust, failed: () => undefined, fallback: elsewhere }),
    );
    const app = express();
    app.set('trust proxy', trust);
    app.post('/token', seen);
    app.all('/token', refused('POST'));
    app.use(elsewhere);
    router = await listen(app);
  });
  afterAll(() => {
    door.server.close();
    router.server.close();
  });

  const targets = [
    '/token',
    '/TOKEN',
    '/Token/',
    '/token//',
    '/tokens',
    '/%74oken',
    '//token',
    '/./token',
    '/token?',
    '/token?a=1&a=2&b',
    '/token?%ZZ=1',
    '/token;x=1',
    '/token#fragment',
    'http://example.test/token?x=1',
    '*',
  ];
  for (const method of ['POST', 'GET', 'DELETE']) {
    it(`${method}: the same route, address, path and query for ${targets.length} request targets`, async () => {
      for (const target of targets) {
        const forwardings: Record<string, string>[] = [{ 'x-forwarded-for': '203.0.113.9' }, { 'x-forwarded-for': 'not an address, 198.51.100.4' }, {}];
        for (const forwarded of forwardings) {
          const fromDoor = await raw(door.port, method, target, forwarded);
          const fromExpress = await raw(router.port, method, target, forwarded);
          expect({ target, status: fromDoor.status, body: fromDoor.body }).toEqual({ target, status: fromExpress.status, body: fromExpress.body });
        }
      }
      // The table's own paths did reach it (the comparison is not two fallbacks agreeing).
      expect(JSON.parse((await raw(door.port, 'POST', '/TOKEN/?a=b', { 'x-forwarded-for': '203.0.113.9' })).body)).toEqual({
        route: 'token',
        ip: '203.0.113.9',
        path: '/TOKEN/',
        query: { a: 'b' },
        originalUrl: '/TOKEN/?a=b',
      });
    });
  }
});

describe('the front door’s steps and failures', () => {
  const failures: string[] = [];
  const order: string[] = [];
  let door: { server: Server; port: number };
  beforeAll(async () => {
    const note =
      (name: string): ApiStep =>
      (_req, _res, next) => {
        order.push(name);
        next();
      };
    door = await listen(
      pathTable(
        {
          '/ok': { method: 'POST', steps: [note('step'), seen] },
          '/throws': {
            method: 'POST',
            steps: [
              note('step'),
              () => {
                throw new Error('thrown');
              },
            ],
          },
          '/rejects': {
            method: 'POST',
            steps: [
              async () => {
                throw new Error('rejected');
              },
            ],
          },
          '/passes-error': { method: 'POST', steps: [(_req, _res, next) => next(new Error('passed on'))] },
          '/runs-out': { method: 'POST', steps: [note('step')] },
        },
        {
          before: [note('before')],
          wrongMethod: refused,
          trust,
          failed: (error, _req, res) => {
            failures.push((error as Error).message);
            res.statusCode = 500;
            res.end();
          },
          fallback: elsewhere,
        },
      ),
    );
  });
  afterAll(() => door.server.close());

  it('runs the shared steps first, for the route and for a wrong method', async () => {
    order.length = 0;
    expect((await raw(door.port, 'POST', '/ok')).status).toBe(200);
    expect(JSON.parse((await raw(door.port, 'GET', '/ok')).body)).toEqual({ refused: 'POST' });
    expect(order).toEqual(['before', 'step', 'before']);
  });

  it('a throw, a rejected promise, an error passed on and a route that never answers all reach the error handler', async () => {
    failures.length = 0;
    for (const path of ['/throws', '/rejects', '/passes-error', '/runs-out']) expect((await raw(door.port, 'POST', path)).status).toBe(500);
    expect(failures).toEqual(['thrown', 'rejected', 'passed on', 'no step answered POST /runs-out']);
  });
});
