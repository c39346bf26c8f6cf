/**
 * The skill backend behind the skill guard, for its bench rows: bare node:http that reads the
 * whole request body and answers one fixed, valid Alexa response. It counts what reaches it: a
 * request carrying the guard's `X-Alexa-Link-Link-Id` came through Alexa Link, any other came
 * straight from the load generator. `GET /counts` answers those counts.
 *
 * Env: PORT (0 = any). Prints `READY {"port":…}` on stdout once it listens.
 */

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SKILL_RESPONSE } from '../lib/alexa-signing.js';

const counts = { forwarded: 0, direct: 0, bytes: 0 };

const server = createServer((req, res) => {
  if (req.method === 'GET') {
    if (req.url === '/counts') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(counts));
    if (req.url === '/healthz') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    return void res.writeHead(404).end();
  }
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
  });
  req.on('end', () => {
    counts.bytes += size;
    if (req.headers['x-alexa-link-link-id'] === undefined) counts.direct++;
    else counts.forwarded++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(SKILL_RESPONSE);
  });
});
// Longer than any pause between the bench's slices, so that no kept-alive connection of the
// guard's agent is closed by the backend just as the guard reuses it.
server.keepAliveTimeout = 75_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`READY ${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
const stop = (): void => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
