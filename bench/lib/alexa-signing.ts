/**
 * Alexa's side of the skill guard, for the bench: a signing PKI made with the openssl CLI (a root,
 * an intermediate and a signing certificate for echo-api.amazon.com, as test/helpers/alexa-signing.ts
 * makes it for the tests), a loopback server that serves the chain, and signed envelopes. The
 * server trusts the PKI through SKILL_TEST_TRUSTED_CA and fetches the chain from
 * SKILL_TEST_CERT_ORIGIN; everything else is the production code path.
 *
 * Not imported from test/helpers: that file makes its folders with the tests' tempDir, which
 * registers a vitest hook.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID, sign } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export const SKILL_ID = 'amzn1.ask.skill.11111111-2222-3333-4444-555555555555';
const CHAIN_PATH = '/echo.api/bench.pem';
export const CERT_URL = `https://s3.amazonaws.com${CHAIN_PATH}`;

/** What the bench's skill backend (bench/servers/skill-backend.ts) answers to every request. */
export const SKILL_RESPONSE = '{"version":"1.0","response":{"outputSpeech":{"type":"PlainText","text":"ok"}}}';

export interface SigningPki {
  caFile: string;
  leafKey: string;
  /** The signing certificate, then the intermediate (the root is the trusted CA file). */
  chain: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** Three RSA-2048 keys and certificates in `dir` (about a second). */
export function makeSigningPki(dir: string): SigningPki {
  const key = (name: string, subject: string): void =>
    openssl(dir, ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
  const issue = (name: string, ca: string, extensions: string): void => {
    writeFileSync(join(dir, `${name}.ext`), extensions);
    const signer = ['-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial'];
    openssl(dir, ['x509', '-req', '-in', `${name}.csr`, ...signer, '-days', '30', '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.pem`]);
  };
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'root.key',
    '-out',
    'root.pem',
    '-subj',
    '/CN=Alexa Link Bench Root',
    '-days',
    '30',
    '-addext',
    'basicConstraints=critical,CA:true',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  key('int', '/CN=Alexa Link Bench Intermediate');
  issue(
    'int',
    'root',
    'basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n',
  );
  key('leaf', '/CN=echo-api.amazon.com');
  issue('leaf', 'int', 'basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature,keyEncipherment\nsubjectAltName=DNS:echo-api.amazon.com\n');
  const read = (file: string): string => readFileSync(join(dir, file), 'utf8');
  return { caFile: join(dir, 'root.pem'), leafKey: read('leaf.key'), chain: read('leaf.pem') + read('int.pem') };
}

export interface ChainServer {
  origin: string;
  /** Requests for the chain so far (1 once the server has it cached). */
  hits: () => number;
  close: () => Promise<void>;
}

/** Serves the chain at the path of CERT_URL on loopback, counting requests. */
export async function serveChain(pki: SigningPki): Promise<ChainServer> {
  let hits = 0;
  const server = createServer((req, res) => {
    if (req.url !== CHAIN_PATH) return void res.writeHead(404).end();
    hits++;
    res.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(pki.chain);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits: () => hits,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A LaunchRequest envelope as Amazon sends it, timestamped now, carrying `accessToken`. */
export function launchRequest(accessToken: string): Buffer {
  const user = { userId: 'amzn1.ask.account.BENCHUSER', accessToken };
  return Buffer.from(
    JSON.stringify({
      version: '1.0',
      session: { new: true, sessionId: `amzn1.echo-api.session.${randomUUID()}`, application: { applicationId: SKILL_ID }, user },
      context: {
        System: { application: { applicationId: SKILL_ID }, user, device: { deviceId: 'amzn1.ask.device.BENCH', supportedInterfaces: { AudioPlayer: {} } } },
      },
      request: {
        type: 'LaunchRequest',
        requestId: `amzn1.echo-api.request.${randomUUID()}`,
        timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
        locale: 'en-US',
      },
    }),
  );
}

/** Amazon's headers for `body`: Signature-256 and the SHA-1 Signature it still sends, over the raw bytes. */
export function signedHeaders(pki: SigningPki, body: Buffer): Record<string, string> {
  return {
    'content-type': 'application/json; charset=utf-8',
    signaturecertchainurl: CERT_URL,
    'signature-256': sign('sha256', body, pki.leafKey).toString('base64'),
    signature: sign('sha1', body, pki.leafKey).toString('base64'),
  };
}
