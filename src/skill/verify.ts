/**
 * Amazon's verification of a request to a web-service skill ("Host a custom skill as a web
 * service" → "Verify that the request was sent by Alexa"), in full, before anything else reads
 * the request: the certificate URL, the chain, `Signature-256` (RSA-SHA256 over the raw body
 * bytes), the timestamp within 150 s, and the skill's application id.
 *
 * The cheap checks run before the chain is looked at, so a request that names another skill or an
 * old timestamp never makes this server download anything.
 */
import { verify as verifySignature } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { TUNABLES } from '../config/tunables.js';
import type { SigningCerts } from './cert-chain.js';
import { checkCertUrl } from './cert-url.js';
import { type Envelope, readEnvelope } from './envelope.js';

/** Why a request was refused: counted per kind for the admin (refusals.ts). */
export type RefusalKind =
  | 'no_signature'
  | 'sha1_only'
  | 'cert_url'
  | 'bad_envelope'
  | 'timestamp'
  | 'skill_id'
  | 'cert_invalid'
  | 'cert_unavailable'
  | 'bad_signature'
  | 'body_too_large';

export type Verification = { verified: true; envelope: Envelope } | { verified: false; kind: RefusalKind; problem: string };

const refuse = (kind: RefusalKind, problem: string): Verification => ({ verified: false, kind, problem });

/** A base64 RSA signature of up to 8192 bits. */
const SIGNATURE = /^[A-Za-z0-9+/]{16,1400}={0,2}$/;

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value.trim() : undefined;
}

export async function verifyAlexaRequest(
  input: { body: Buffer; headers: IncomingHttpHeaders },
  rules: { skillId: string; certs: SigningCerts; now: number },
): Promise<Verification> {
  const signature = header(input.headers, 'signature-256');
  const certUrl = header(input.headers, 'signaturecertchainurl');
  if (signature === undefined) {
    // Amazon still sends the SHA-1 `Signature` beside it; alone it is not enough.
    return header(input.headers, 'signature') === undefined ? refuse('no_signature', 'no Signature-256 header') : refuse('sha1_only', 'only a SHA-1 signature');
  }
  if (certUrl === undefined) return refuse('no_signature', 'no SignatureCertChainUrl header');
  if (!SIGNATURE.test(signature)) return refuse('bad_signature', 'the signature is not base64');
  const checked = checkCertUrl(certUrl);
  if ('problem' in checked) return refuse('cert_url', checked.problem);

  const envelope = readEnvelope(input.body);
  if (!envelope) return refuse('bad_envelope', 'the body is not an Alexa request');
  const sent = Date.parse(envelope.timestamp);
  if (!Number.isFinite(sent) || Math.abs(rules.now - sent) > TUNABLES.skill.timestampToleranceMs) {
    return refuse('timestamp', 'the timestamp is more than 150 s from now');
  }
  if (envelope.applicationIds.length === 0 || envelope.applicationIds.some((id) => id !== rules.skillId)) {
    return refuse('skill_id', 'the request is for another skill');
  }

  const signing = await rules.certs.keyFor(checked.url);
  if ('problem' in signing) return refuse(signing.kind, signing.problem);
  if (!verifySignature('sha256', input.body, signing.key, Buffer.from(signature, 'base64'))) {
    return refuse('bad_signature', 'the signature does not match the body');
  }
  return { verified: true, envelope };
}
