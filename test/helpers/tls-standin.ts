/**
 * Stand-ins for the public URL as the Setup page's check sees it: a test PKI made with the openssl
 * CLI (a root playing a public authority; leaf certificates good, expiring soon, expired, for the
 * wrong name, self-signed), and one loopback listener whose behaviour the test switches: TLS with a
 * chosen certificate, plain HTTP, a reset, with a chosen metadata document and Date header.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { tempDir } from './tmp.js';

export type StandInCert = 'good' | 'soon' | 'expired' | 'wrongName' | 'selfSigned';

export interface StandInPki {
  /** The root to trust (SETUP_TEST_TRUSTED_CA, or the check's `ca`). */
  caFile: string;
  ca: string;
  key: string;
  certs: Record<StandInCert, string>;
}

const CA_CONFIG = `
[ ca ]
default_ca = ca_default
[ ca_default ]
dir = .
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
[ policy_any ]
commonName = supplied
[ v3_leaf ]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $ENV::LEAF_SAN
`;

const DAY = 86_400_000;

function openssl(dir: string, args: string[], san = 'DNS:localhost'): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe', env: { ...process.env, LEAF_SAN: san } });
}

/** openssl ca's date format (UTC): YYYYMMDDHHMMSSZ. */
const caDate = (ms: number): string => `${new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;

/** Makes the PKI (EC keys: well under a second). */
export function makeStandInPki(): StandInPki {
  const dir = tempDir('alexa-link-tls-');
  writeFileSync(join(dir, 'ca.cnf'), CA_CONFIG);
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(dir, [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'root.key',
    '-out',
    'root.pem',
    '-subj',
    '/O=Test Public Authority/CN=Test Public Root',
    '-days',
    '3650',
    '-addext',
    'basicConstraints=critical,CA:true',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  openssl(dir, ['req', '-new', ...ec, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=localhost']);
  const issue = (out: string, from: number, to: number, san = 'DNS:localhost') =>
    openssl(
      dir,
      [
        'ca',
        '-batch',
        '-config',
        'ca.cnf',
        '-cert',
        'root.pem',
        '-keyfile',
        'root.key',
        '-in',
        'leaf.csr',
        '-out',
        out,
        '-extensions',
        'v3_leaf',
        '-startdate',
        caDate(from),
        '-enddate',
        caDate(to),
        '-notext',
      ],
      san,
    );
  const now = Date.now();
  issue('good.pem', now - DAY, now + 90 * DAY);
  issue('soon.pem', now - 80 * DAY, now + 5 * DAY + DAY / 2);
  issue('expired.pem', now - 90 * DAY, now - 2 * DAY);
  issue('wrong-name.pem', now - DAY, now + 90 * DAY, 'DNS:other.example');
  // Self-signed with the same key and the right name: only the issuer is wrong.
  openssl(dir, [
    'req',
    '-x509',
    '-new',
    '-key',
    'leaf.key',
    '-out',
    'self.pem',
    '-subj',
    '/CN=localhost',
    '-days',
    '90',
    '-addext',
    'subjectAltName=DNS:localhost',
  ]);
  const read = (file: string) => readFileSync(join(dir, file), 'utf8');
  return {
    caFile: join(dir, 'root.pem'),
    ca: read('root.pem'),
    key: read('leaf.key'),
    certs: { good: read('good.pem'), soon: read('soon.pem'), expired: read('expired.pem'), wrongName: read('wrong-name.pem'), selfSigned: read('self.pem') },
  };
}

export interface StandIn {
  port: number;
  /** What the next connections get. */
  state: {
    mode: 'tls' | 'plain' | 'reset';
    cert: StandInCert;
    /** The document served at /.well-known/oauth-authorization-server; undefined: 404. */
    metadata: Record<string, unknown> | undefined;
    /** Added to the Date header's time (a server whose clock is off). */
    dateOffsetMs: number;
  };
  close(): Promise<void>;
}

export async function startStandIn(pki: StandInPki, metadata: Record<string, unknown> | undefined = undefined): Promise<StandIn> {
  const state: StandIn['state'] = { mode: 'tls', cert: 'good', metadata, dateOffsetMs: 0 };
  const answer = (req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('Date', new Date(Date.now() + state.dateOffsetMs).toUTCString());
    res.setHeader('Connection', 'close');
    if (req.url === '/.well-known/oauth-authorization-server' && state.metadata) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(state.metadata));
    } else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  };
  const https = createHttpsServer({ key: pki.key, cert: pki.certs.good }, answer);
  const http = createHttpServer(answer);
  let current: StandInCert = 'good';
  const front = createNetServer((socket) => {
    if (state.mode === 'reset') {
      socket.destroy();
      return;
    }
    if (state.mode === 'plain') {
      http.emit('connection', socket);
      return;
    }
    if (state.cert !== current) {
      https.setSecureContext({ key: pki.key, cert: pki.certs[state.cert] });
      current = state.cert;
    }
    https.emit('connection', socket);
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  return {
    port: (front.address() as AddressInfo).port,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        https.closeAllConnections();
        http.closeAllConnections();
        front.close(() => resolve());
      }),
  };
}
