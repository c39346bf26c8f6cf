/**
 * Helpers for the fault tests (crash, shutdown, disk): a seeded PRNG, grants seeded through the
 * store, an HTTP client that tells a refused connection from a lost response, and small mounts
 * (tmpfs, ext4 on a loop device) for disk faults.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { type Agent, request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { TUNABLES } from '../../src/config/tunables.js';
import { Store } from '../../src/store/index.js';
import { basic } from './http.js';
import { CLIENT_ID, CLIENT_SECRET, RS_SECRET } from './oauth-server.js';

/** mulberry32: small, seeded, good enough to pick kill moments reproducibly. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function sha256(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export interface SeededClient {
  grantId: string;
  accessToken: string;
  refreshToken: string;
}

/**
 * Links `count` Alexa accounts through the store, as a completed flow would leave them (a grant
 * and its first tokens), for the Alexa client of `writeOptions`.
 */
export function seedGrants(dataDir: string, key: string, count: number): SeededClient[] {
  const store = Store.open({ dataDir, encryptionKeys: [key] });
  try {
    const lifetimes = { accessTokenTtlSeconds: 3600, refreshTokenIdleSeconds: 180 * 86400 };
    return Array.from({ length: count }, (_, i) =>
      store.transaction(() => {
        const grant = store.grants.create({
          subject: { id: `user-${i}-${'0'.repeat(24)}`, name: `user${i}`, displayName: `User ${i}` },
          clientId: CLIENT_ID,
          scope: TUNABLES.oauth.scopes.join(' '),
          maxSeconds: 0,
        });
        const issued = store.tokens.issue(grant, lifetimes);
        return { grantId: grant.id, accessToken: issued.accessToken, refreshToken: issued.refreshToken };
      }),
    );
  } finally {
    store.close();
  }
}

export type Outcome =
  | { kind: 'response'; status: number; headers: Record<string, string | string[] | undefined>; text: string; json: Record<string, unknown> | undefined }
  /** The connection was refused: the request never reached a server. */
  | { kind: 'refused' }
  /** Sent (or being sent), but no complete response came back: the server may or may not have acted on it. */
  | { kind: 'lost'; error: string };

/** POST a form with node:http (not fetch) so that the agent, and so the sockets, are the caller's. */
export function postForm(url: string, form: Record<string, string>, headers: Record<string, string>, agent: Agent | false): Promise<Outcome> {
  const body = new URLSearchParams(form).toString();
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)), ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error) => resolve({ kind: 'lost', error: String(error) }));
        res.on('aborted', () => resolve({ kind: 'lost', error: 'response aborted' }));
        res.on('end', () => {
          if (!res.complete) return resolve({ kind: 'lost', error: 'response incomplete' });
          const text = Buffer.concat(chunks).toString();
          let json: Record<string, unknown> | undefined;
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {
            json = undefined;
          }
          resolve({ kind: 'response', status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) =>
      resolve(error.code === 'ECONNREFUSED' ? { kind: 'refused' } : { kind: 'lost', error: `${error.code ?? ''} ${error.message}` }),
    );
    req.end(body);
  });
}

export const alexaAuth = { authorization: basic(CLIENT_ID, CLIENT_SECRET) };
export const musicAssistantAuth = { authorization: basic('music_assistant', RS_SECRET) };

export function refreshToken(base: string, token: string, headers: Record<string, string>, agent: Agent | false): Promise<Outcome> {
  return postForm(`${base}/token`, { grant_type: 'refresh_token', refresh_token: token }, { ...alexaAuth, ...headers }, agent);
}

export function introspectToken(base: string, token: string, headers: Record<string, string>, agent: Agent | false): Promise<Outcome> {
  return postForm(`${base}/introspect`, { token }, { ...musicAssistantAuth, ...headers }, agent);
}

/**
 * A refresh sent over a raw socket whose response is received but never read by the client:
 * `arrived` settles with the status line as soon as the first bytes are back (so the server has
 * committed and answered); `closed` settles when the connection ends (the server died).
 */
export function heldRefresh(port: number, token: string, headers: Record<string, string>): { arrived: Promise<string | undefined>; closed: Promise<void> } {
  const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token }).toString();
  const head = Object.entries({
    ...alexaAuth,
    ...headers,
    host: `127.0.0.1:${port}`,
    'content-type': 'application/x-www-form-urlencoded',
    'content-length': String(Buffer.byteLength(body)),
  })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  const socket = connect(port, '127.0.0.1');
  let received = '';
  let arrive: (line: string | undefined) => void = () => {};
  const arrived = new Promise<string | undefined>((resolve) => (arrive = resolve));
  const closed = new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      arrive(received.split('\r\n')[0]);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      arrive(undefined);
      resolve();
    });
  });
  socket.write(`POST /token HTTP/1.1\r\n${head}\r\n${body}`);
  return { arrived, closed };
}

// ---------------------------------------------------------------------------------------------
// Mounts. The tests run as root, which ignores file permissions, so "read-only" and "full" need
// real filesystems: a tmpfs of a given size, or ext4 on a loop device.

/** Why mounting is not possible here, or undefined when it is (tried once, for real). */
let mountProbe: string | undefined | null = null;
export function cannotMount(scratch: string): string | undefined {
  if (mountProbe !== null) return mountProbe;
  const dir = join(scratch, 'probe');
  mkdirSync(dir, { recursive: true });
  const result = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { encoding: 'utf8' });
  if (result.error) mountProbe = `mount could not be run: ${result.error.message}`;
  else if (result.status !== 0) mountProbe = `mount -t tmpfs failed: ${result.stderr.trim() || `exit ${result.status}`}`;
  else {
    execFileSync('umount', [dir]);
    mountProbe = undefined;
  }
  return mountProbe;
}

export function mountTmpfs(dir: string, bytes: number): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0700`, 'tmpfs', dir]);
}

export function unmount(dir: string): void {
  execFileSync('umount', [dir]);
}

/** ext4 in an image file, mounted through a loop device with errors=remount-ro. Returns the loop device's name. */
export function mountExt4Image(image: string, dir: string, megabytes: number): string {
  writeFileSync(image, '');
  execFileSync('truncate', ['-s', `${megabytes}M`, image]);
  execFileSync('mkfs.ext4', ['-q', '-F', image]);
  return mountImage(image, dir);
}

export function mountImage(image: string, dir: string): string {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-o', 'loop,errors=remount-ro', image, dir]);
  const source = execFileSync('findmnt', ['-no', 'SOURCE', dir], { encoding: 'utf8' }).trim();
  return source.replace(/^\/dev\//, '');
}

/**
 * What the kernel does to an ext4 filesystem that hit an error with errors=remount-ro: from now
 * on every write to it fails with EROFS, for open files too. Only unmounting ends it.
 */
export function forceExt4ReadOnly(loopDevice: string): void {
  writeFileSync(`/sys/fs/ext4/${loopDevice}/trigger_fs_error`, 'alexa-link fault test: forcing read-only');
}

export function ext4TriggerAvailable(loopDevice: string): boolean {
  return existsSync(`/sys/fs/ext4/${loopDevice}/trigger_fs_error`);
}
