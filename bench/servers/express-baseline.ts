/**
 * Baseline (i): the framework ceiling. A bare Express 5 app, no middleware beyond the form parser,
 * answering a constant JSON body on GET and on a form POST. Same Node, same loopback, same load
 * generator as the real server; whatever the real server costs beyond this is its own work.
 *
 * Env: PORT (0 = any). Prints `READY {"port":…}` on stdout once it listens.
 */

import type { AddressInfo } from 'node:net';
import express from 'express';

const app = express();
const body = { status: 'ok', constant: true };
app.get('/healthz', (_req, res) => {
  res.json({ status: 'ok' });
});
app.get('/json', (_req, res) => {
  res.json(body);
});
app.post('/form', express.urlencoded({ extended: false, limit: '16kb' }), (req, res) => {
  // Touch the parsed body so the parser's work cannot be skipped.
  res.json({ ...body, fields: Object.keys(req.body as Record<string, string>).length });
});

const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`READY ${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
const stop = (): void => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
