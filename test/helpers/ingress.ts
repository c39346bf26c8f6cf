/**
 * Requests to the ingress listener as the Supervisor's proxy would send them: from a chosen
 * loopback address, with X-Ingress-Path and the X-Remote-User-* headers of a Home Assistant user.
 */
import { request } from 'node:http';
import type { Subject } from '../../src/store/index.js';

export const INGRESS_PATH = '/api/hassio_ingress/0123456789abcdef0123456789abcdef';

export interface IngressResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export function ingress(
  url: string,
  path: string,
  options: { user?: Subject | undefined; form?: Record<string, string>; headers?: Record<string, string>; localAddress?: string } = {},
): Promise<IngressResponse> {
  const body = options.form ? new URLSearchParams(options.form).toString() : '';
  const headers: Record<string, string> = {
    'x-ingress-path': INGRESS_PATH,
    ...(options.user
      ? { 'x-remote-user-id': options.user.id, 'x-remote-user-name': options.user.name ?? '', 'x-remote-user-display-name': options.user.displayName ?? '' }
      : {}),
    ...(options.form ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)) } : {}),
    ...options.headers,
  };
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, url),
      { method: options.form ? 'POST' : 'GET', headers, ...(options.localAddress ? { localAddress: options.localAddress } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export function csrfOf(page: string): string {
  const token = /name="_csrf" value="([^"]+)"/.exec(page)?.[1];
  if (!token) throw new Error('no CSRF token on the page');
  return token;
}

export function handleOf(page: string): string {
  const handle = /name="handle" value="([0-9A-F]{64})"/.exec(page)?.[1];
  if (!handle) throw new Error('no request handle on the page');
  return handle;
}
