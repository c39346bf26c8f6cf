/**
 * Alexa's side of the skill guard, for tests: a test PKI made with the openssl CLI (a root, an
 * intermediate and signing certificates like Amazon's, plus broken variants), a loopback server
 * that serves the chains where `SKILL_TEST_CERT_ORIGIN` points, signed request envelopes, and the
 * environment that makes a server trust this PKI (SKILL_TEST_TRUSTED_CA, SKILL_TEST_CERT_ORIGIN).
 * Amazon's real chain and S3 cannot be reached here; everything else is the production code path.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID, sign } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { tempDir } from './tmp.js';

export const SKILL_ID = 'amzn1.ask.skill.11111111-2222-3333-4444-555555555555';
export const OTHER_SKILL_ID = 'amzn1.ask.skill.99999999-2222-3333-4444-555555555555';
export const CERT_URL_BASE = 'https://s3.amazonaws.com/echo.api/';

/** The chains the PKI serves, by file name under /echo.api/. */
export type ChainName = 'good' | 'expired' | 'not-yet-valid' | 'wrong-san' | 'untrusted-root' | 'ec-key';

export interface TestPki {
  dir: string;
  caFile: string;
  leafKey: string;
  chains: Record<ChainName, string>;
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
[ policy_any ]
commonName = supplied
[ v3_ca ]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ v3_leaf ]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature,keyEncipherment
subjectAltName = $ENV::LEAF_SAN
`;

function openssl(dir: string, args: string[], env: Record<string, string> = {}): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe', env: { ...process.env, LEAF_SAN: 'DNS:unused.example', ...env } });
}

/** openssl ca's date format (UTC): YYYYMMDDHHMMSSZ. */
function caDate(ms: number): string {
  return `${new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

function selfSignedCa(dir: string, name: string, subject: string): void {
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.pem`,
    '-subj',
    subject,
    '-days',
    '3650',
    '-addext',
    'basicConstraints=critical,CA:true',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

function issue(
  dir: string,
  options: { csr: string; out: string; caName: string; extensions: 'v3_ca' | 'v3_leaf'; san?: string; from?: number; to?: number },
): void {
  const from = options.from ?? Date.now() - 86_400_000;
  const to = options.to ?? Date.now() + 365 * 86_400_000;
  openssl(
    dir,
    [
      'ca',
      '-batch',
      '-config',
      'ca.cnf',
      '-cert',
      `${options.caName}.pem`,
      '-keyfile',
      `${options.caName}.key`,
      '-in',
      options.csr,
      '-out',
      options.out,
      '-extensions',
      options.extensions,
      '-startdate',
      caDate(from),
      '-enddate',
      caDate(to),
      '-notext',
    ],
    options.san ? { LEAF_SAN: options.san } : {},
  );
}

const pem = (dir: string, ...files: string[]): string => files.map((file) => readFileSync(join(dir, file), 'utf8')).join('');

/** Makes the PKI (a few RSA keys: about a second). */
export function makeTestPki(): TestPki {
  const dir = tempDir();
  writeFileSync(join(dir, 'ca.cnf'), CA_CONFIG);
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  selfSignedCa(dir, 'root', '/CN=Alexa Link Test Root');
  selfSignedCa(dir, 'other-root', '/CN=Somebody Else Root');
  openssl(dir, ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'int.key', '-out', 'int.csr', '-subj', '/CN=Alexa Link Test Intermediate']);
  issue(dir, { csr: 'int.csr', out: 'int.pem', caName: 'root', extensions: 'v3_ca', to: Date.now() + 3000 * 86_400_000 });
  // One signing key for every leaf: which key a leaf holds does not matter to the variants.
  openssl(dir, ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=echo-api.amazon.com']);
  openssl(dir, [
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'ec.key',
    '-out',
    'ec.csr',
    '-subj',
    '/CN=echo-api.amazon.com',
  ]);
  const san = 'DNS:echo-api.amazon.com';
  const day = 86_400_000;
  issue(dir, { csr: 'leaf.csr', out: 'good.pem', caName: 'int', extensions: 'v3_leaf', san });
  issue(dir, { csr: 'leaf.csr', out: 'expired.pem', caName: 'int', extensions: 'v3_leaf', san, from: Date.now() - 30 * day, to: Date.now() - day });
  issue(dir, { csr: 'leaf.csr', out: 'future.pem', caName: 'int', extensions: 'v3_leaf', san, from: Date.now() + day, to: Date.now() + 30 * day });
  issue(dir, { csr: 'leaf.csr', out: 'wrong-san.pem', caName: 'int', extensions: 'v3_leaf', san: 'DNS:echo-api.amazon.com.example.net, DNS:amazon.com' });
  issue(dir, { csr: 'leaf.csr', out: 'untrusted.pem', caName: 'other-root', extensions: 'v3_leaf', san });
  issue(dir, { csr: 'ec.csr', out: 'ec-leaf.pem', caName: 'int', extensions: 'v3_leaf', san });
  const chains: Record<ChainName, string> = {
    good: pem(dir, 'good.pem', 'int.pem'),
    expired: pem(dir, 'expired.pem', 'int.pem'),
    'not-yet-valid': pem(dir, 'future.pem', 'int.pem'),
    'wrong-san': pem(dir, 'wrong-san.pem', 'int.pem'),
    'untrusted-root': pem(dir, 'untrusted.pem', 'other-root.pem'),
    'ec-key': pem(dir, 'ec-leaf.pem', 'int.pem'),
  };
  mkdirSync(join(dir, 'served'));
  return { dir, caFile: join(dir, 'root.pem'), leafKey: readFileSync(join(dir, 'leaf.key'), 'utf8'), chains };
}

/** Serves the PKI's chains at /echo.api/<name>.pem on loopback, counting requests per path. */
export interface ChainServer {
  origin: string;
  hits: Map<string, number>;
  /** Set to delay or replace answers (slow or oversized chains). */
  behaviour: { delayMs: number; oversize: boolean };
  close(): Promise<void>;
}

export async function serveChains(pki: TestPki): Promise<ChainServer> {
  const hits = new Map<string, number>();
  const behaviour = { delayMs: 0, oversize: false };
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const name = /^\/echo\.api\/([\w-]+)\.pem$/.exec(path)?.[1] as ChainName | undefined;
    const chain = name && pki.chains[name];
    const reply = (): void => {
      if (!chain) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/x-pem-file' });
      res.end(behaviour.oversize ? chain.repeat(20) : chain);
    };
    if (behaviour.delayMs > 0) setTimeout(reply, behaviour.delayMs);
    else reply();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    hits,
    behaviour,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The environment a server needs to trust this PKI and fetch chains from `origin`. */
export function trustEnv(pki: TestPki, chains: ChainServer): Record<string, string> {
  return { SKILL_TEST_TRUSTED_CA: pki.caFile, SKILL_TEST_CERT_ORIGIN: chains.origin };
}

export interface EnvelopeOptions {
  type?: string;
  accessToken?: string | undefined;
  skillId?: string;
  locale?: string;
  timestamp?: string;
  intent?: string;
}

/** An Alexa request envelope as Amazon sends it (the fields the guard and a skill read). */
export function envelope(options: EnvelopeOptions = {}): Record<string, unknown> {
  const type = options.type ?? 'LaunchRequest';
  const skillId = options.skillId ?? SKILL_ID;
  const user = { userId: 'amzn1.ask.account.TESTUSER', ...(options.accessToken === undefined ? {} : { accessToken: options.accessToken }) };
  const audio = type.startsWith('AudioPlayer.') || type.startsWith('PlaybackController.');
  return {
    version: '1.0',
    ...(audio ? {} : { session: { new: true, sessionId: `amzn1.echo-api.session.${randomUUID()}`, application: { applicationId: skillId }, user } }),
    context: {
      System: { application: { applicationId: skillId }, user, device: { deviceId: 'amzn1.ask.device.TEST', supportedInterfaces: { AudioPlayer: {} } } },
      ...(audio ? { AudioPlayer: { playerActivity: 'PLAYING', token: 'track-1', offsetInMilliseconds: 0 } } : {}),
    },
    request: {
      type,
      requestId: `amzn1.echo-api.request.${randomUUID()}`,
      timestamp: options.timestamp ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      locale: options.locale ?? 'en-US',
      ...(type === 'IntentRequest' ? { intent: { name: options.intent ?? 'PlayMusicIntent', confirmationStatus: 'NONE', slots: {} } } : {}),
      ...(audio ? { token: 'track-1', offsetInMilliseconds: 0 } : {}),
    },
  };
}

/** Amazon's headers for `body`: Signature-256 (and the SHA-1 Signature Amazon still sends) over the raw bytes. */
export function signedHeaders(
  pki: TestPki,
  body: Buffer,
  options: { chain?: ChainName | string; certUrl?: string; sha1Only?: boolean } = {},
): Record<string, string> {
  const certUrl = options.certUrl ?? `${CERT_URL_BASE}${options.chain ?? 'good'}.pem`;
  const sha256 = sign('sha256', body, pki.leafKey).toString('base64');
  const sha1 = sign('sha1', body, pki.leafKey).toString('base64');
  return {
    'content-type': 'application/json; charset=utf-8',
    signaturecertchainurl: certUrl,
    ...(options.sha1Only ? {} : { 'signature-256': sha256 }),
    signature: sha1,
  };
}
