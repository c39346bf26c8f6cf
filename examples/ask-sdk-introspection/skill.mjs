/**
 * A skill web service on ask-sdk-core that checks Alexa Link's access tokens itself, by token
 * introspection (RFC 7662). The contract it follows: docs/skill-integration.md.
 *
 *   ALEXA_LINK_URL=https://alexa-link.example.org RESOURCE_SERVER_SECRET=... \
 *   ALEXA_CLIENT_ID=amzn1.application-oa2-client.... PORT=8080 node skill.mjs
 *
 * Needs `ask-sdk-core` (npm). Prints the bound port as one JSON line on stdout ({"port":8080});
 * PORT=0 takes a free port. Logs go to stderr, as JSON lines, with a token only ever named by the
 * start of its SHA-256.
 *
 * NOT FOR PRODUCTION AS IS: it does not verify that a request comes from Amazon. A web-service skill
 * must check the request signature, its timestamp and the skill id (Amazon's "Host a custom skill as
 * a web service"), e.g. with ask-sdk-express-adapter's SkillRequestSignatureVerifier and
 * TimestampVerifier, or sit behind Alexa Link's skill guard, which does this before forwarding.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { escapeXmlCharacters, SkillBuilders } from 'ask-sdk-core';

const ALEXA_LINK_URL = setting('ALEXA_LINK_URL').replace(/\/+$/, '');
const RESOURCE_SERVER_SECRET = setting('RESOURCE_SERVER_SECRET');
const ALEXA_CLIENT_ID = setting('ALEXA_CLIENT_ID');
const PORT = Number(process.env.PORT ?? '8080');
const HOST = process.env.HOST ?? '127.0.0.1';

/** Alexa Link's fixed client id for resource servers, and the scope a link must carry. */
const CLIENT_ID = 'music_assistant';
const SCOPE = 'music_assistant';
/** Alexa waits 8 s for a skill's answer; introspection must leave room for the rest. */
const INTROSPECTION_TIMEOUT_MS = 3000;
/** An active answer is reused for at most this long (and never beyond the token's `exp`). */
const CACHE_MS = 60_000;
const CACHE_MAX_ENTRIES = 10_000;
const MAX_BODY_BYTES = 256 * 1024;

/** RFC 6749 §2.3.1: both parts form-encoded, then Basic. */
const BASIC = `Basic ${Buffer.from(`${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(RESOURCE_SERVER_SECRET)}`).toString('base64')}`;

/** The only request types that may carry speech and a card; every other type gets an empty response. */
const SPOKEN_TYPES = new Set(['LaunchRequest', 'IntentRequest']);

const UNLINKED = Object.freeze({ status: 'unlinked' });
const UNAVAILABLE = Object.freeze({ status: 'unavailable' });

function setting(name) {
  const value = process.env[name];
  if (!value) {
    process.stderr.write(`${name} must be set\n`);
    process.exit(2);
  }
  return value;
}

function log(event, fields = {}) {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), event, ...fields })}\n`);
}

/** sha256(token) → { answer, until }: the key is a digest, so the cache (and the logs) never hold a token. */
const cache = new Map();

function remember(key, answer, until) {
  if (cache.size >= CACHE_MAX_ENTRIES) {
    const now = Date.now();
    for (const [cached, entry] of cache) if (entry.until <= now) cache.delete(cached);
    // Still full: drop the oldest entry (a Map iterates in insertion order).
    if (cache.size >= CACHE_MAX_ENTRIES) cache.delete(cache.keys().next().value);
  }
  cache.set(key, { answer, until });
}

/**
 * What Alexa Link says about an access token: `linked` (with the Home Assistant user), `unlinked`,
 * or `unavailable` when there was no usable answer. Fails closed: only a 200 with a well-formed
 * active answer for our client and scope is `linked`.
 */
async function checkToken(token) {
  if (typeof token !== 'string' || token === '') return UNLINKED;
  const key = createHash('sha256').update(token).digest('hex');
  const tokenRef = key.slice(0, 12);
  const now = Date.now();
  const cached = cache.get(key);
  if (cached && cached.until > now) return cached.answer;
  cache.delete(key);

  let body;
  try {
    const response = await fetch(`${ALEXA_LINK_URL}/introspect`, {
      method: 'POST',
      headers: { authorization: BASIC, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ token }).toString(),
      signal: AbortSignal.timeout(INTROSPECTION_TIMEOUT_MS),
      // A redirect would carry the secret somewhere else.
      redirect: 'error',
    });
    if (response.status !== 200) {
      // 401: wrong RESOURCE_SERVER_SECRET (or none configured in the add-on); 429: limits; 503: storage.
      log('introspection_failed', { status: response.status, token: tokenRef });
      await response.body?.cancel();
      return UNAVAILABLE;
    }
    body = await response.json();
  } catch (error) {
    // fetch's TypeError carries the network error (ECONNREFUSED, ...) as its cause; a timeout is a TimeoutError. No token in either.
    log('introspection_failed', { error: error?.cause?.code ?? error?.cause?.message ?? error?.name ?? 'unknown', token: tokenRef });
    return UNAVAILABLE;
  }
  if (typeof body !== 'object' || body === null || typeof body.active !== 'boolean') {
    log('introspection_failed', { error: 'malformed answer', token: tokenRef });
    return UNAVAILABLE;
  }
  if (!body.active) return UNLINKED;
  const expiresAt = Number.isFinite(body.exp) ? body.exp * 1000 : 0;
  const scopes = typeof body.scope === 'string' ? body.scope.split(' ') : [];
  if (body.client_id !== ALEXA_CLIENT_ID || !scopes.includes(SCOPE) || typeof body.sub !== 'string' || expiresAt <= now) {
    log('token_refused', { clientId: String(body.client_id), token: tokenRef });
    return UNLINKED;
  }
  const answer = Object.freeze({ status: 'linked', user: { id: body.sub, name: typeof body.username === 'string' ? body.username : undefined } });
  remember(key, answer, Math.min(expiresAt, now + CACHE_MS));
  return answer;
}

/** Runs before every handler: the link status becomes a request attribute. */
const LinkCheckInterceptor = {
  async process(handlerInput) {
    // context.System.user.accessToken: absent while the Alexa account is not linked.
    const token = handlerInput.requestEnvelope.context?.System?.user?.accessToken;
    handlerInput.attributesManager.setRequestAttributes({ link: await checkToken(token) });
  },
};

const link = (handlerInput) => handlerInput.attributesManager.getRequestAttributes().link ?? UNLINKED;
const spoken = (handlerInput) => SPOKEN_TYPES.has(handlerInput.requestEnvelope.request.type);

/** Not linked (or no answer): a LinkAccount card where speech is allowed, an empty response elsewhere. */
const NotLinkedHandler = {
  canHandle: (handlerInput) => link(handlerInput).status !== 'linked',
  handle(handlerInput) {
    const { responseBuilder } = handlerInput;
    if (!spoken(handlerInput)) return responseBuilder.getResponse();
    if (link(handlerInput).status === 'unavailable') {
      // Not a LinkAccount card: the link is probably fine, Alexa Link is just out of reach.
      return responseBuilder
        .speak("Sorry, I can't reach your Home Assistant right now. Please try again in a moment.")
        .withShouldEndSession(true)
        .getResponse();
    }
    return responseBuilder
      .speak('To use Music Assistant, link your Home Assistant account in the Alexa app. I have sent a card there.')
      .withLinkAccountCard()
      .withShouldEndSession(true)
      .getResponse();
  },
};

const LaunchRequestHandler = {
  canHandle: (handlerInput) => handlerInput.requestEnvelope.request.type === 'LaunchRequest',
  handle(handlerInput) {
    const { name } = link(handlerInput).user;
    const greeting = name ? `Hello ${escapeXmlCharacters(name)}.` : 'Hello.';
    return handlerInput.responseBuilder.speak(`${greeting} Music Assistant is linked.`).withShouldEndSession(true).getResponse();
  },
};

const IntentRequestHandler = {
  canHandle: (handlerInput) => handlerInput.requestEnvelope.request.type === 'IntentRequest',
  handle: (handlerInput) => handlerInput.responseBuilder.speak('This example only says hello.').withShouldEndSession(true).getResponse(),
};

/** Linked, but a request type without speech (AudioPlayer.*, SessionEndedRequest, ...): an empty response. */
const SilentHandler = {
  canHandle: () => true,
  handle: (handlerInput) => handlerInput.responseBuilder.getResponse(),
};

const ErrorHandler = {
  canHandle: () => true,
  handle(handlerInput, error) {
    log('skill_error', { error: error.message });
    if (!spoken(handlerInput)) return handlerInput.responseBuilder.getResponse();
    return handlerInput.responseBuilder.speak('Sorry, something went wrong.').withShouldEndSession(true).getResponse();
  },
};

const skill = SkillBuilders.custom()
  .addRequestInterceptors(LinkCheckInterceptor)
  .addRequestHandlers(NotLinkedHandler, LaunchRequestHandler, IntentRequestHandler, SilentHandler)
  .addErrorHandlers(ErrorHandler)
  .create();

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res, status, body) {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json;charset=UTF-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const server = createServer(async (req, res) => {
  if (req.method !== 'POST') {
    res.setHeader('allow', 'POST');
    send(res, 405);
    return;
  }
  let envelope;
  try {
    envelope = JSON.parse(await readBody(req));
  } catch {
    send(res, 400);
    return;
  }
  if (typeof envelope?.request?.type !== 'string') {
    send(res, 400);
    return;
  }
  try {
    const answer = await skill.invoke(envelope);
    // Only what Alexa reads (not ask-sdk's `userAgent`), and session attributes only where speech
    // is allowed and there are some: so an empty answer is exactly {"version":"1.0","response":{}}.
    const { version, sessionAttributes, response } = answer;
    const keep = SPOKEN_TYPES.has(envelope.request.type) && sessionAttributes && Object.keys(sessionAttributes).length > 0;
    send(res, 200, { version, ...(keep ? { sessionAttributes } : {}), response });
  } catch (error) {
    log('skill_error', { error: error instanceof Error ? error.message : 'unknown' });
    send(res, 500);
  }
});

server.listen(PORT, HOST, () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
