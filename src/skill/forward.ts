/**
 * Forwards a verified, linked request to the skill backend: the raw body byte for byte, Amazon's
 * signature headers (so a backend that verifies them still can) and headers naming the Home
 * Assistant user and the link. Nothing else of the incoming request passes, so an outside
 * `X-Alexa-Link-*` header can never reach the backend. Bounded in time and answer size.
 */
import type { Agent as HttpAgent, IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { http } from '../commonjs.js';
import { TUNABLES } from '../config/tunables.js';
import { isObject } from './envelope.js';

/** The incoming headers passed on as they came. */
const PASSED = ['content-type', 'signature', 'signature-256', 'signaturecertchainurl'] as const;

export interface LinkIdentity {
  userId: string;
  userName: string | undefined;
  linkId: string;
}

export type Forwarded = { ok: true; body: Buffer } | { ok: false; problem: string };

/** Header values are ASCII: names go percent-encoded (UTF-8), as `encodeURIComponent` writes them. */
export function identityHeaders(identity: LinkIdentity): Record<string, string> {
  return {
    'x-alexa-link-user-id': encodeURIComponent(identity.userId),
    ...(identity.userName === undefined ? {} : { 'x-alexa-link-user-name': encodeURIComponent(identity.userName) }),
    'x-alexa-link-link-id': identity.linkId,
  };
}

function isResponseEnvelope(body: Buffer): boolean {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as unknown;
    return isObject(parsed) && typeof parsed.version === 'string' && isObject(parsed.response);
  } catch {
    return false;
  }
}

export class SkillBackend {
  private readonly url: URL;
  // Kept-alive connections: the backend is on the local network and Alexa's requests come in bursts.
  private readonly agent: HttpAgent;

  constructor(backendUrl: string) {
    this.url = new URL(backendUrl);
    this.agent = this.url.protocol === 'https:' ? new HttpsAgent({ keepAlive: true, maxSockets: 64 }) : new http.Agent({ keepAlive: true, maxSockets: 64 });
  }

  forward(body: Buffer, incoming: IncomingMessage['headers'], identity: LinkIdentity): Promise<Forwarded> {
    const headers: Record<string, string> = { 'content-length': String(body.length), accept: 'application/json' };
    for (const name of PASSED) {
      const value = incoming[name];
      if (typeof value === 'string') headers[name] = value;
    }
    Object.assign(headers, identityHeaders(identity));
    const send = this.url.protocol === 'https:' ? httpsRequest : http.request;
    const { backendTimeoutMs, maxResponseBytes } = TUNABLES.skill;
    return new Promise<Forwarded>((resolve) => {
      let settled = false;
      const done = (result: Forwarded): void => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        resolve(result);
      };
      const request = send(this.url, { method: 'POST', headers, agent: this.agent }, (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxResponseBytes) {
            request.destroy();
            done({ ok: false, problem: `the answer is larger than ${maxResponseBytes} bytes` });
            return;
          }
          chunks.push(chunk);
        });
        response.on('end', () => {
          const answer = Buffer.concat(chunks);
          if (response.statusCode !== 200) done({ ok: false, problem: `answered HTTP ${response.statusCode}` });
          else if (!isResponseEnvelope(answer)) done({ ok: false, problem: 'the answer is not an Alexa response' });
          else done({ ok: true, body: answer });
        });
        response.on('error', () => done({ ok: false, problem: 'the answer broke off' }));
      });
      const deadline = setTimeout(() => {
        request.destroy();
        done({ ok: false, problem: `no answer within ${backendTimeoutMs} ms` });
      }, backendTimeoutMs);
      request.on('error', (error: NodeJS.ErrnoException) => done({ ok: false, problem: error.code ?? 'the connection failed' }));
      request.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
