/**
 * Amazon's signing-certificate chain: downloaded (time and size bounded), checked with Node's own
 * X509Certificate (docs/decisions/0009-skill-request-verification.md) and cached by URL. Every use
 * checks the dates again, so a cached chain stops working the moment a certificate expires.
 *
 * A chain is good when: it holds 1 to `maxChainLength` PEM certificates, the first (Amazon's
 * signing certificate) has an RSA key and `DNS:echo-api.amazon.com` among its subject alternative
 * names, each certificate is issued and signed by the next, every one after the first is a CA, and
 * the last is a trusted root or is issued and signed by one; every certificate is within its dates.
 */
import { type KeyObject, X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { rootCertificates } from 'node:tls';
import { http } from '../commonjs.js';
import { TUNABLES } from '../config/tunables.js';

const SIGNING_NAME = 'DNS:echo-api.amazon.com';
const LIMITS = TUNABLES.skill;

export type ChainDownload = (url: URL) => Promise<Buffer>;

interface Chain {
  key: KeyObject;
  /** The latest notBefore and the earliest notAfter in the chain: the window in which all are valid. */
  validFrom: number;
  validTo: number;
}

export type SigningKey = { key: KeyObject } | { problem: string; kind: 'cert_invalid' | 'cert_unavailable' };

/** GET over http(s) with a deadline and a size bound; only a 200 counts. */
export function boundedDownload(url: URL, timeoutMs = LIMITS.certDownloadTimeoutMs, maxBytes = LIMITS.maxChainBytes): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const get = url.protocol === 'https:' ? httpsGet : http.get;
    const request = get(url, { timeout: timeoutMs, headers: { accept: 'application/x-pem-file, */*' } }, (response: IncomingMessage) => {
      if (response.statusCode !== 200) {
        response.resume();
        reject(new Error(`answered ${response.statusCode}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          request.destroy(new Error(`larger than ${maxBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      response.on('end', () => resolve(Buffer.concat(chunks)));
      response.on('error', reject);
    });
    const deadline = setTimeout(() => request.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    request.on('close', () => clearTimeout(deadline));
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', reject);
  });
}

/** Where chains come from: Amazon's URL, or (test harnesses only) the same path at another origin. */
export function chainDownload(testOrigin: string | undefined): ChainDownload {
  if (testOrigin === undefined) return (url) => boundedDownload(url);
  return (url) => boundedDownload(new URL(url.pathname, testOrigin));
}

/** The system's trusted roots: Node's bundled Mozilla store (or a test CA file), parsed on first use. */
export function trustedRoots(pem: readonly string[] = rootCertificates): () => readonly X509Certificate[] {
  let parsed: X509Certificate[] | undefined;
  return () => {
    parsed ??= pem.flatMap((text) => splitPem(text)).map((block) => new X509Certificate(block));
    return parsed;
  };
}

function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

function sans(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '').split(', ');
}

function signedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

/** Checks a downloaded chain; the signing key and the chain's validity window, or why not. */
export function checkChain(pem: Buffer, roots: readonly X509Certificate[]): Chain | { problem: string } {
  const blocks = splitPem(pem.toString('latin1'));
  if (blocks.length === 0) return { problem: 'the chain holds no certificate' };
  if (blocks.length > LIMITS.maxChainLength) return { problem: 'the chain is too long' };
  let certs: X509Certificate[];
  try {
    certs = blocks.map((block) => new X509Certificate(block));
  } catch {
    return { problem: 'the chain holds a certificate that cannot be read' };
  }
  const leaf = certs[0]!;
  if (!sans(leaf).includes(SIGNING_NAME)) return { problem: 'the signing certificate is not for echo-api.amazon.com' };
  if (leaf.publicKey.asymmetricKeyType !== 'rsa') return { problem: 'the signing certificate has no RSA key' };
  for (let i = 0; i + 1 < certs.length; i++) {
    if (!certs[i + 1]!.ca || !signedBy(certs[i]!, certs[i + 1]!)) return { problem: 'the chain is broken' };
  }
  const last = certs[certs.length - 1]!;
  const anchored = roots.some((root) => root.fingerprint256 === last.fingerprint256 || (root.ca && signedBy(last, root)));
  if (!anchored) return { problem: 'the chain does not lead to a trusted root' };
  return {
    key: leaf.publicKey,
    validFrom: Math.max(...certs.map((cert) => Date.parse(cert.validFrom))),
    validTo: Math.min(...certs.map((cert) => Date.parse(cert.validTo))),
  };
}

/**
 * Signing keys by chain URL. Concurrent requests for one URL share one download; a failed URL is
 * not asked again for a while; new URLs are downloaded at most `certDownloadsPerMinute` a minute.
 */
export class SigningCerts {
  private readonly chains = new Map<string, Chain>();
  private readonly failed = new Map<string, number>();
  private readonly inFlight = new Map<string, Promise<SigningKey>>();
  private downloads: { windowStart: number; count: number } = { windowStart: 0, count: 0 };

  constructor(
    private readonly download: ChainDownload,
    private readonly roots: () => readonly X509Certificate[],
    private readonly now: () => number = Date.now,
  ) {}

  async keyFor(url: URL): Promise<SigningKey> {
    const href = url.href;
    const chain = this.chains.get(href);
    if (chain) return this.usable(chain);
    const failedUntil = this.failed.get(href);
    if (failedUntil !== undefined && failedUntil > this.now()) return { problem: 'the certificate chain could not be had recently', kind: 'cert_unavailable' };
    let pending = this.inFlight.get(href);
    if (!pending) {
      pending = this.fetch(url).finally(() => this.inFlight.delete(href));
      this.inFlight.set(href, pending);
    }
    return pending;
  }

  private usable(chain: Chain): SigningKey {
    const now = this.now();
    if (now < chain.validFrom || now > chain.validTo) return { problem: 'a certificate of the chain is expired or not yet valid', kind: 'cert_invalid' };
    return { key: chain.key };
  }

  private async fetch(url: URL): Promise<SigningKey> {
    const now = this.now();
    if (now - this.downloads.windowStart >= 60_000) this.downloads = { windowStart: now, count: 0 };
    if (this.downloads.count >= LIMITS.certDownloadsPerMinute) return { problem: 'too many new certificate URLs', kind: 'cert_unavailable' };
    this.downloads.count++;
    let pem: Buffer;
    try {
      pem = await this.download(url);
    } catch (error) {
      this.remember(url.href);
      return { problem: `the certificate chain could not be downloaded (${(error as Error).message})`, kind: 'cert_unavailable' };
    }
    const chain = checkChain(pem, this.roots());
    if ('problem' in chain) {
      this.remember(url.href);
      return { problem: chain.problem, kind: 'cert_invalid' };
    }
    if (this.chains.size >= LIMITS.certCacheSize) this.chains.delete(this.chains.keys().next().value!);
    this.chains.set(url.href, chain);
    return this.usable(chain);
  }

  private remember(href: string): void {
    if (this.failed.size >= 64) this.failed.delete(this.failed.keys().next().value!);
    this.failed.set(href, this.now() + LIMITS.certFailureCacheMs);
  }
}
