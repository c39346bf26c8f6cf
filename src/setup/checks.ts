/**
 * The Setup page's live checks, each a verdict and the facts behind it; the words are in the
 * catalogues (words.ts), never here. The public-URL check looks from this machine, which is not
 * where Alexa stands: when the address does not answer from here, it says it could not tell.
 */

import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import { http } from '../commonjs.js';
import type { Config } from '../config/load.js';
import { TUNABLES } from '../config/tunables.js';
import type { PeerFacts, Sightings } from '../http/sightings.js';
import { metadataDocument } from '../oauth/metadata.js';

export type Verdict = 'ok' | 'warn' | 'fail' | 'unknown';

export type CheckId = 'port' | 'address' | 'certificate' | 'metadata' | 'clock' | 'proxies' | 'alexaToken' | 'alexaSkill' | 'introspect';

/** Each reason is one sentence in the catalogues (`setup.reason.<reason>`), its facts the placeholders. */
export type Reason =
  | 'port443'
  | 'portNot443'
  | 'notHttps'
  | 'answers'
  | 'noName'
  | 'dnsFailed'
  | 'notReached'
  | 'trusted'
  | 'expiresSoon'
  | 'expired'
  | 'notYetValid'
  | 'selfSigned'
  | 'untrusted'
  | 'wrongName'
  | 'noTls'
  | 'notChecked'
  | 'matches'
  | 'differs'
  | 'metadataStatus'
  | 'notJson'
  | 'clockAgrees'
  | 'clockAhead'
  | 'clockBehind'
  | 'noDate'
  | 'direct'
  | 'throughListed'
  | 'unlistedProxy'
  | 'listedNeverSeen'
  | 'noRequestYet'
  | 'seen'
  | 'never'
  | 'skillOff'
  | 'introspectOff';

/** Facts for the sentence. `at` (a time, shown as "3 minutes ago") and `until` (a date) are milliseconds. */
export type Facts = Record<string, string | number>;

export interface CheckResult {
  id: CheckId;
  verdict: Verdict;
  reason: Reason;
  facts: Facts;
}

export interface SetupReport {
  /** When the checks ran. */
  at: number;
  results: CheckResult[];
}

const result = (id: CheckId, verdict: Verdict, reason: Reason, facts: Facts = {}): CheckResult => ({ id, verdict, reason, facts });

/** The most serious verdict of a list: what a summary line says. */
export function worst(verdicts: readonly Verdict[]): Verdict {
  for (const verdict of ['fail', 'warn', 'unknown'] as const) if (verdicts.includes(verdict)) return verdict;
  return 'ok';
}

export interface PublicUrlOptions {
  /** Test harnesses only: trust this CA (PEM) instead of Node's bundled public roots. */
  ca?: string | undefined;
  /** Tests only: connect to this loopback port; the port check still judges the URL's own port. */
  dialPort?: number | undefined;
  timeoutMs?: number;
  now?: () => number;
}

/** What a failed connection says: not reached (could not tell), or reached but not TLS (a fault). */
function isTlsFailure(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  return code.startsWith('ERR_SSL') || code === 'EPROTO';
}

function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => void = () => undefined): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' }));
    }, ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * node:tls and node:dns/promises, loaded only when there is an https address to dial: a server whose
 * public_url is plain http (a local run) never needs them, and they cost about 1 MiB of idle memory.
 */
type Dialling = Pick<typeof import('node:tls'), 'connect' | 'checkServerIdentity'> & Pick<typeof import('node:dns/promises'), 'lookup'>;

async function dialling(): Promise<Dialling> {
  const [tls, dns] = await Promise.all([import('node:tls'), import('node:dns/promises')]);
  return { connect: tls.connect, checkServerIdentity: tls.checkServerIdentity, lookup: dns.lookup };
}

function tlsConnect(dial: Dialling, host: string, port: number, ca: string | undefined, timeoutMs: number): Promise<TLSSocket> {
  const socket = dial.connect({
    host,
    port,
    // SNI takes a name, never an address.
    ...(isIP(host) ? {} : { servername: host }),
    ...(ca ? { ca } : {}),
    // Verified below, so that the verdict can say what is wrong instead of just "failed".
    rejectUnauthorized: false,
    ALPNProtocols: ['http/1.1'],
  });
  return withTimeout(
    new Promise<TLSSocket>((resolve, reject) => {
      socket.once('secureConnect', () => resolve(socket));
      socket.once('error', reject);
    }),
    timeoutMs,
    () => socket.destroy(),
  );
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Largest metadata document read: ours is about 1 KB. */
const MAX_BODY = 64 * 1024;

/** GET `path` over the already verified connection (the certificate judged is the one answering). */
function getOver(socket: TLSSocket, host: string, path: string, timeoutMs: number): Promise<Answer> {
  return withTimeout(
    new Promise<Answer>((resolve, reject) => {
      const req = http.request(
        { createConnection: () => socket, host, path, method: 'GET', headers: { accept: 'application/json', connection: 'close' } },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size <= MAX_BODY) chunks.push(chunk);
            else res.destroy();
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
          res.on('close', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        },
      );
      req.on('error', reject);
      req.end();
    }),
    timeoutMs,
    () => socket.destroy(),
  );
}

/** The certificate's names, as a person compares them with the host: "alexa.example.net, www.example.net". */
function namesOf(cert: DetailedPeerCertificate): string {
  const alt = cert.subjectaltname?.split(', ').map((name) => name.replace(/^(DNS|IP Address):/, ''));
  return (alt && alt.length > 0 ? alt : [cert.subject?.CN ?? '?']).join(', ').slice(0, 200);
}

function certificateVerdict(dial: Dialling, socket: TLSSocket, host: string, now: number): CheckResult {
  const cert = socket.getPeerCertificate(true);
  const until = Date.parse(cert.valid_to);
  const from = Date.parse(cert.valid_from);
  const error = socket.authorizationError as unknown as string | Error | null;
  const code = typeof error === 'string' ? error : ((error as NodeJS.ErrnoException | null)?.code ?? (error ? String(error) : undefined));
  const issuer = String(cert.issuer?.O ?? cert.issuer?.CN ?? '?').slice(0, 100);
  switch (code) {
    case undefined:
      break;
    case 'CERT_HAS_EXPIRED':
      return result('certificate', 'fail', 'expired', { until });
    case 'CERT_NOT_YET_VALID':
      return result('certificate', 'fail', 'notYetValid', { until: from });
    // tls.connect itself runs checkServerIdentity after the chain and reports it here.
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return result('certificate', 'fail', 'wrongName', { host, names: namesOf(cert) });
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
      return result('certificate', 'fail', 'selfSigned', { host });
    default:
      return result('certificate', 'fail', 'untrusted', { issuer, code: String(code).slice(0, 60) });
  }
  if (dial.checkServerIdentity(host, cert) !== undefined) return result('certificate', 'fail', 'wrongName', { host, names: namesOf(cert) });
  const days = Math.floor((until - now) / 86_400_000);
  if (days < TUNABLES.setup.certificateWarnDays) return result('certificate', 'warn', 'expiresSoon', { host, until, days });
  return result('certificate', 'ok', 'trusted', { host, until, days, issuer });
}

/** The first field in which the document at the public URL differs from what this server publishes. */
function metadataVerdict(answer: Answer, expected: Record<string, unknown>): CheckResult {
  if (answer.status !== 200) return result('metadata', 'fail', 'metadataStatus', { status: answer.status });
  let got: unknown;
  try {
    got = JSON.parse(answer.body);
  } catch {
    return result('metadata', 'fail', 'notJson');
  }
  if (typeof got !== 'object' || got === null || Array.isArray(got)) return result('metadata', 'fail', 'notJson');
  for (const [field, value] of Object.entries(expected)) {
    const theirs = (got as Record<string, unknown>)[field];
    if (JSON.stringify(theirs) !== JSON.stringify(value)) {
      const show = (v: unknown) => (v === undefined ? '—' : typeof v === 'string' ? v : JSON.stringify(v)).slice(0, 200);
      return result('metadata', 'fail', 'differs', { field, got: show(theirs), expected: show(value) });
    }
  }
  return result('metadata', 'ok', 'matches');
}

function clockVerdict(date: string | undefined, now: number): CheckResult {
  const theirs = date === undefined ? Number.NaN : Date.parse(date);
  if (Number.isNaN(theirs)) return result('clock', 'unknown', 'noDate');
  const seconds = Math.round((now - theirs) / 1000);
  if (Math.abs(seconds) <= TUNABLES.setup.clockToleranceSeconds) return result('clock', 'ok', 'clockAgrees', { seconds: Math.abs(seconds) });
  return result('clock', 'warn', seconds > 0 ? 'clockAhead' : 'clockBehind', { seconds: Math.abs(seconds) });
}

/**
 * The public URL from this machine: port, DNS, TLS (chain, name, days left), the metadata document
 * over that same connection, and the clock against its Date header. Never throws.
 */
export async function checkPublicUrl(publicUrl: string, expected: Record<string, unknown>, options: PublicUrlOptions = {}): Promise<CheckResult[]> {
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? TUNABLES.setup.stepTimeoutMs;
  const url = new URL(publicUrl);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const notChecked = (...ids: CheckId[]) => ids.map((id) => result(id, 'unknown', 'notChecked'));
  if (url.protocol !== 'https:') return [result('port', 'fail', 'notHttps', { url: publicUrl }), ...notChecked('address', 'certificate', 'metadata', 'clock')];
  const port = url.port === '' ? 443 : Number(url.port);
  const portResult = port === 443 ? result('port', 'ok', 'port443') : result('port', 'fail', 'portNot443', { port });
  const dial = await dialling();

  let addresses: string;
  try {
    const found = await withTimeout(dial.lookup(host, { all: true }), timeoutMs);
    addresses = found.map((entry) => entry.address).join(', ');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    // No such name is a fact about public DNS; anything else (a timeout, a failing resolver) is not.
    const address = code === 'ENOTFOUND' ? result('address', 'fail', 'noName', { host }) : result('address', 'unknown', 'dnsFailed', { host, code });
    return [portResult, address, ...notChecked('certificate', 'metadata', 'clock')];
  }

  let socket: TLSSocket;
  try {
    socket = await tlsConnect(dial, host, options.dialPort ?? port, options.ca, timeoutMs);
  } catch (error) {
    if (isTlsFailure(error)) {
      return [
        portResult,
        result('address', 'ok', 'answers', { host, addresses }),
        result('certificate', 'fail', 'noTls', { host, port }),
        ...notChecked('metadata', 'clock'),
      ];
    }
    return [portResult, result('address', 'unknown', 'notReached', { host, port }), ...notChecked('certificate', 'metadata', 'clock')];
  }
  const certificate = certificateVerdict(dial, socket, host, now());
  let metadata: CheckResult;
  let clock: CheckResult;
  try {
    const answer = await getOver(socket, url.host, '/.well-known/oauth-authorization-server', timeoutMs);
    metadata = metadataVerdict(answer, expected);
    clock = clockVerdict(answer.headers.date, now());
  } catch {
    metadata = result('metadata', 'unknown', 'notReached', { host, port });
    clock = result('clock', 'unknown', 'notChecked');
  } finally {
    socket.destroy();
  }
  return [portResult, result('address', 'ok', 'answers', { host, addresses }), certificate, metadata, clock];
}

/** trusted_proxies against what arrives: the immediate peer, and whether it sent X-Forwarded-For. */
export function proxiesCheck(trustedProxies: readonly string[], peers: PeerFacts): CheckResult {
  if (peers.untrustedProxy) return result('proxies', 'warn', 'unlistedProxy', { peer: peers.untrustedProxy.peer });
  if (peers.trustedProxy) return result('proxies', 'ok', 'throughListed', { peer: peers.trustedProxy.peer });
  if (!peers.direct) return result('proxies', 'unknown', 'noRequestYet');
  if (trustedProxies.length > 0) return result('proxies', 'warn', 'listedNeverSeen', { peer: peers.direct.peer, listed: trustedProxies.join(', ') });
  return result('proxies', 'ok', 'direct', { peer: peers.direct.peer });
}

/** When Alexa (token endpoint, skill endpoint) and Music Assistant (/introspect) last called. */
export function lastRequestChecks(config: Config, sightings: Sightings): CheckResult[] {
  const seen = (id: CheckId, at: number | undefined) => (at === undefined ? result(id, 'unknown', 'never') : result(id, 'ok', 'seen', { at }));
  return [
    seen('alexaToken', sightings.lastAt('alexaToken')),
    config.skill ? seen('alexaSkill', sightings.lastAt('alexaSkill')) : result('alexaSkill', 'unknown', 'skillOff'),
    config.resourceServerSecret ? seen('introspect', sightings.lastAt('introspect')) : result('introspect', 'unknown', 'introspectOff'),
  ];
}

/** Every check, as the page and the start-up summary run them. */
export class SetupChecks {
  private readonly ca: string | undefined;

  constructor(
    private readonly config: Config,
    private readonly sightings: Sightings,
    private readonly now: () => number = Date.now,
  ) {
    this.ca = config.setupTestCaFile ? readFileSync(config.setupTestCaFile, 'utf8') : undefined;
  }

  async run(): Promise<SetupReport> {
    const publicUrl = await checkPublicUrl(this.config.publicUrl, metadataDocument({ config: this.config }), { ca: this.ca, now: this.now });
    // After the public-URL request, which itself arrived through whatever proxy is in front.
    return {
      at: this.now(),
      results: [...publicUrl, proxiesCheck(this.config.trustedProxies, this.sightings.peers()), ...lastRequestChecks(this.config, this.sightings)],
    };
  }
}
