/**
 * Docker HEALTHCHECK: GET /healthz on the public listener over loopback, plain or TLS as the
 * `ssl` option says. Exit 0 when healthy, 1 otherwise. Reads no secret.
 */

import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { DEFAULT_PUBLIC_PORT } from './config/load.js';

function sslEnabled(): boolean {
  const file = process.env.OPTIONS_FILE || join(process.env.DATA_DIR || './data', 'options.json');
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { ssl?: unknown }).ssl === true;
  } catch {
    return false;
  }
}

const port = Number(process.env.PUBLIC_PORT || DEFAULT_PUBLIC_PORT);
const tls = sslEnabled();
// Loopback to ourselves: the certificate names the public host, not 127.0.0.1.
const req = (tls ? httpsRequest : httpRequest)({ host: '127.0.0.1', port, path: '/healthz', timeout: 4000, rejectUnauthorized: false }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on('timeout', () => req.destroy(new Error('timeout')));
req.on('error', () => process.exit(1));
req.end();
