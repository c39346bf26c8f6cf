/** The public listener over TLS with certificates from the ssl folder (HA's /ssl). */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { get } from 'node:https';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startTestServer } from './helpers/oauth-server.js';
import { tempDir } from './helpers/tmp.js';

describe('TLS', () => {
  it('serves /healthz over https with the configured certificate and key', async () => {
    const sslDir = tempDir();
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-keyout',
        join(sslDir, 'privkey.pem'),
        '-out',
        join(sslDir, 'fullchain.pem'),
      ],
      { stdio: 'ignore' },
    );
    const server = await startTestServer({ ssl: true }, tempDir(), { SSL_DIR: sslDir });
    try {
      const ca = readFileSync(join(sslDir, 'fullchain.pem'));
      const url = new URL('/healthz', server.app.publicUrl);
      const { status, protocol } = await new Promise<{ status: number; protocol: string }>((resolve, reject) => {
        get(url, { ca, servername: 'localhost', checkServerIdentity: () => undefined }, (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0, protocol: url.protocol });
        }).on('error', reject);
      });
      expect(protocol).toBe('https:');
      expect(status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
