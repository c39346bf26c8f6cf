/**
 * docs/skill-integration.md's examples against the real server: each skill web service (ask-sdk-core
 * on Node, plain Python) runs as a child process, introspects real access tokens at /introspect and
 * answers unsigned Alexa envelopes over real HTTP.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, postForm } from './helpers/http.js';
import { introspect, type Linked, link } from './helpers/link.js';
import { CLIENT_ID, freePort, RS_SECRET, startTestServer, type TestServer } from './helpers/oauth-server.js';
import { PYTHON } from './helpers/python.js';

const ALICE = { id: 'u-1', name: 'alice', displayName: 'Alice' };
const BOB = { id: 'u-2', name: 'bob', displayName: 'Bob' };
const SKILL_ID = 'amzn1.ask.skill.00000000-0000-0000-0000-000000000000';
const EMPTY = { version: '1.0', response: {} };

const EXAMPLES = [
  { name: 'ask-sdk-core (Node)', command: process.execPath, script: new URL('../examples/ask-sdk-introspection/skill.mjs', import.meta.url).pathname },
  { name: 'Python standard library', command: PYTHON, script: new URL('../examples/python-stdlib/skill.py', import.meta.url).pathname },
];

interface RunningExample {
  base: string;
  child: ChildProcess;
  stderr: () => string;
  /** Resolves with everything logged so far once the log matches (the pipe may lag behind an HTTP answer). */
  logged: (pattern: RegExp) => Promise<string>;
}

const children: ChildProcess[] = [];

/** Starts an example with PORT=0 and waits for the one JSON line that names its port. */
function startExample(command: string, script: string, env: Record<string, string>): Promise<RunningExample> {
  const child = spawn(command, [script], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const logged = (pattern: RegExp): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        if (!pattern.test(stderr)) return false;
        clearTimeout(timer);
        child.stderr!.off('data', check);
        resolve(stderr);
        return true;
      };
      const timer = setTimeout(() => {
        child.stderr!.off('data', check);
        reject(new Error(`${script} logged nothing matching ${pattern} within 10 s: ${stderr}`));
      }, 10_000);
      // Registered after the collector above, so each check sees the chunk that arrived.
      if (!check()) child.stderr!.on('data', check);
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} printed no port within 30 s: ${stderr}`)), 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code} before printing its port: ${stderr}`));
    });
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      const { port } = JSON.parse(line) as { port: number };
      resolve({ base: `http://127.0.0.1:${port}`, child, stderr: () => stderr, logged });
    });
  });
}

function envelope(type: string, accessToken?: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const user = { userId: 'amzn1.ask.account.TEST', ...(accessToken === undefined ? {} : { accessToken }) };
  const application = { applicationId: SKILL_ID };
  const withSession = type === 'LaunchRequest' || type === 'IntentRequest' || type === 'SessionEndedRequest';
  return {
    version: '1.0',
    ...(withSession
      ? { session: { new: type === 'LaunchRequest', sessionId: `amzn1.echo-api.session.${randomUUID()}`, application, user, attributes: {} } }
      : {}),
    context: { System: { application, user, device: { deviceId: 'amzn1.ask.device.TEST', supportedInterfaces: { AudioPlayer: {} } } } },
    request: { type, requestId: `amzn1.echo-api.request.${randomUUID()}`, timestamp: new Date().toISOString(), locale: 'en-US', ...extra },
  };
}

interface AlexaAnswer {
  version: string;
  sessionAttributes?: Record<string, unknown>;
  response: { outputSpeech?: { type: string; text?: string; ssml?: string }; card?: { type: string }; shouldEndSession?: boolean };
}

async function ask(example: RunningExample, body: Record<string, unknown>): Promise<AlexaAnswer> {
  const response = await fetch(example.base, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await response.text();
  expect(response.status, `${text} ${example.stderr()}`).toBe(200);
  return JSON.parse(text) as AlexaAnswer;
}

const spoken = (answer: AlexaAnswer): string => answer.response.outputSpeech?.text ?? answer.response.outputSpeech?.ssml ?? '';

function expectLinkAccountCard(answer: AlexaAnswer): void {
  expect(answer.response.card).toEqual({ type: 'LinkAccount' });
  expect(spoken(answer)).toMatch(/link your Home Assistant account in the Alexa app/);
  expect(spoken(answer)).not.toMatch(/alice|bob/i);
}

/**
 * A stand-in for a broken Alexa Link, one behaviour per path prefix: never answers, answers junk,
 * answers "active" without the fields to check, or redirects (and records who followed).
 */
function startBrokenIntrospection(): Promise<{ server: Server; base: string; followed: string[] }> {
  const followed: string[] = [];
  const hanging: ServerResponse[] = [];
  const server = createServer((req, res) => {
    req.resume();
    const prefix = req.url?.split('/')[1];
    if (prefix === 'slow') hanging.push(res);
    else if (prefix === 'junk') res.writeHead(200, { 'content-type': 'application/json' }).end('<html>not json</html>');
    else if (prefix === 'loose')
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ active: true, sub: ALICE.id, username: ALICE.name }));
    else if (prefix === 'redirect') res.writeHead(307, { location: '/stolen/introspect' }).end();
    else {
      followed.push(req.headers.authorization ?? '(none)');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ active: false }));
    }
  });
  server.on('close', () => {
    for (const res of hanging) res.destroy();
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, followed }));
  });
}

let server: TestServer;
let broken: Awaited<ReturnType<typeof startBrokenIntrospection>>;
let alice: Linked;
let bob: Linked;

beforeAll(async () => {
  server = await startTestServer();
  broken = await startBrokenIntrospection();
  alice = await link(server, ALICE);
  // Bob's token is never shown to an example before his link is revoked, so no example has it cached.
  bob = await link(server, BOB);
  expect((await introspect(server, bob.accessToken, RS_SECRET)).json).toMatchObject({ active: true, sub: BOB.id });
  expect(server.app.store.ops.revokeAllLinks(BOB.id)).toHaveLength(1);
});

afterAll(async () => {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
  broken?.server.closeAllConnections();
  broken?.server.close();
  await server?.close();
});

describe('the introspection contract the examples rely on', () => {
  it('an active token: who, for which client and scope, until when, from which issuer', async () => {
    const answer = await introspect(server, alice.accessToken, RS_SECRET);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    const now = Math.floor(Date.now() / 1000);
    expect(answer.json).toEqual({
      active: true,
      sub: ALICE.id,
      username: ALICE.name,
      scope: 'music_assistant',
      client_id: CLIENT_ID,
      token_type: 'Bearer',
      exp: expect.any(Number),
      iat: expect.any(Number),
      iss: server.base,
    });
    expect(answer.json!.iat as number).toBeLessThanOrEqual(now);
    expect(answer.json!.exp as number).toBeGreaterThan(now);
  });

  it('a revoked, garbage or refresh token is only {"active": false}', async () => {
    for (const token of [bob.accessToken, randomBytes(32).toString('base64url'), alice.refreshToken]) {
      const answer = await introspect(server, token, RS_SECRET);
      expect(answer.status).toBe(200);
      expect(answer.json).toStrictEqual({ active: false });
    }
  });

  it('a wrong secret is 401 invalid_client with a Basic challenge', async () => {
    const answer = await postForm(`${server.base}/introspect`, { token: alice.accessToken }, { authorization: basic('music_assistant', `${RS_SECRET}-wrong`) });
    expect(answer.status).toBe(401);
    expect(answer.headers.get('www-authenticate')).toMatch(/^Basic /);
    expect(answer.json).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
  });
});

describe.each(EXAMPLES)('$name example', ({ command, script }) => {
  let skill: RunningExample;
  const settings = (): Record<string, string> => ({ ALEXA_LINK_URL: server.base, RESOURCE_SERVER_SECRET: RS_SECRET, ALEXA_CLIENT_ID: CLIENT_ID });

  beforeAll(async () => {
    skill = await startExample(command, script, settings());
  });

  it('greets a linked user by name on LaunchRequest', async () => {
    const answer = await ask(skill, envelope('LaunchRequest', alice.accessToken));
    expect(spoken(answer)).toMatch(/Hello alice\./);
    expect(answer.response.card).toBeUndefined();
    // Again, from the cache this time: the same answer.
    expect(spoken(await ask(skill, envelope('LaunchRequest', alice.accessToken)))).toMatch(/Hello alice\./);
  });

  it('answers a LinkAccount card without a token, with a garbage token and with a revoked one', async () => {
    expectLinkAccountCard(await ask(skill, envelope('LaunchRequest')));
    expectLinkAccountCard(await ask(skill, envelope('LaunchRequest', randomBytes(32).toString('base64url'))));
    expectLinkAccountCard(await ask(skill, envelope('LaunchRequest', bob.accessToken)));
    expectLinkAccountCard(await ask(skill, envelope('IntentRequest', undefined, { intent: { name: 'PlayMusic', confirmationStatus: 'NONE' } })));
    // A refresh token is not an access token.
    expectLinkAccountCard(await ask(skill, envelope('LaunchRequest', alice.refreshToken)));
  });

  it('answers requests that allow no speech with exactly {"version":"1.0","response":{}}', async () => {
    const playback = { token: 'stream-1', offsetInMilliseconds: 0 };
    expect(await ask(skill, envelope('AudioPlayer.PlaybackStarted', undefined, playback))).toStrictEqual(EMPTY);
    expect(await ask(skill, envelope('AudioPlayer.PlaybackStarted', bob.accessToken, playback))).toStrictEqual(EMPTY);
    expect(await ask(skill, envelope('PlaybackController.PlayCommandIssued'))).toStrictEqual(EMPTY);
    expect(
      await ask(skill, envelope('System.ExceptionEncountered', undefined, { error: { type: 'INVALID_RESPONSE', message: 'x' }, cause: { requestId: 'r' } })),
    ).toStrictEqual(EMPTY);
    // Linked, too: these types never carry speech.
    expect(await ask(skill, envelope('AudioPlayer.PlaybackStarted', alice.accessToken, playback))).toStrictEqual(EMPTY);
    expect(await ask(skill, envelope('SessionEndedRequest', undefined, { reason: 'USER_INITIATED' }))).toStrictEqual(EMPTY);
    expect(await ask(skill, envelope('SessionEndedRequest', alice.accessToken, { reason: 'USER_INITIATED' }))).toStrictEqual(EMPTY);
  });

  it('fails closed when Alexa Link cannot be reached: a linked token is not accepted', async () => {
    const down = await startExample(command, script, { ...settings(), ALEXA_LINK_URL: `http://127.0.0.1:${await freePort()}` });
    const answer = await ask(down, envelope('LaunchRequest', alice.accessToken));
    expect(spoken(answer)).toMatch(/can't reach/);
    expect(spoken(answer)).not.toMatch(/alice/);
    expect(answer.response.card).toBeUndefined();
    expect(await ask(down, envelope('AudioPlayer.PlaybackStarted', alice.accessToken, { token: 's', offsetInMilliseconds: 0 }))).toStrictEqual(EMPTY);
    expect(await down.logged(/introspection_failed/)).not.toContain(alice.accessToken);
  });

  it('fails closed on an answer that is late, not JSON, or a redirect, and refuses an active answer without client and scope', async () => {
    for (const path of ['slow', 'junk', 'redirect']) {
      const failing = await startExample(command, script, { ...settings(), ALEXA_LINK_URL: `${broken.base}/${path}` });
      const answer = await ask(failing, envelope('LaunchRequest', alice.accessToken));
      expect(spoken(answer), path).toMatch(/can't reach/);
      expect(spoken(answer), path).not.toMatch(/alice/);
    }
    expect(broken.followed).toEqual([]);
    const loose = await startExample(command, script, { ...settings(), ALEXA_LINK_URL: `${broken.base}/loose` });
    expectLinkAccountCard(await ask(loose, envelope('LaunchRequest', alice.accessToken)));
  });

  it('fails closed on a wrong secret (401), and never logs the token', async () => {
    const wrong = await startExample(command, script, { ...settings(), RESOURCE_SERVER_SECRET: `${RS_SECRET}-wrong` });
    const answer = await ask(wrong, envelope('LaunchRequest', alice.accessToken));
    expect(spoken(answer)).toMatch(/can't reach/);
    expect(spoken(answer)).not.toMatch(/alice/);
    expect(await wrong.logged(/"status": ?401/)).not.toContain(alice.accessToken);
  });

  it('refuses a token issued to another client id than the configured Alexa client', async () => {
    const other = await startExample(command, script, { ...settings(), ALEXA_CLIENT_ID: 'amzn1.application-oa2-client.other' });
    expectLinkAccountCard(await ask(other, envelope('LaunchRequest', alice.accessToken)));
    expect(await other.logged(/token_refused/)).not.toContain(alice.accessToken);
  });
});
