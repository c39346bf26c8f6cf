/**
 * The Setup page's live checks against local stand-ins: a real TLS listener on loopback with a
 * test PKI made by openssl (good, expiring soon, expired, wrong name, self-signed, not from a known
 * root), plain HTTP, a reset, nothing listening, a port other than 443, a metadata document that
 * differs, a clock that is off; and each verdict in a person's words.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sightings } from '../src/http/sightings.js';
import { translator } from '../src/i18n/index.js';
import { type CheckId, type CheckResult, checkPublicUrl, lastRequestChecks, proxiesCheck, worst } from '../src/setup/checks.js';
import { describeCheck, summaryBlock } from '../src/setup/words.js';
import { loadConfigFor } from './helpers/setup.js';
import { makeStandInPki, type StandIn, type StandInPki, startStandIn } from './helpers/tls-standin.js';

const en = translator('en');
/** What this server publishes, as the stand-in serves it when it "is" this server. */
const EXPECTED = {
  issuer: 'https://localhost',
  authorization_endpoint: 'https://localhost/authorize',
  token_endpoint: 'https://localhost/token',
  scopes_supported: ['music_assistant'],
};

const byId = (results: CheckResult[], id: CheckId): CheckResult => {
  const found = results.find((result) => result.id === id);
  if (!found) throw new Error(`no ${id} check`);
  return found;
};
const sentence = (result: CheckResult): string => describeCheck(en, result, Date.now()).sentence;

let pki: StandInPki;
let standIn: StandIn;

beforeAll(async () => {
  pki = makeStandInPki();
  standIn = await startStandIn(pki, EXPECTED);
});
afterAll(() => standIn?.close());

/** The public URL https://localhost (port 443), dialled on the stand-in's loopback port. */
function check(options: { url?: string; ca?: string | undefined; dial?: boolean } = {}) {
  return checkPublicUrl(options.url ?? 'https://localhost', EXPECTED, {
    ca: 'ca' in options ? options.ca : pki.ca,
    dialPort: options.dial === false ? undefined : standIn.port,
    timeoutMs: 10_000,
  });
}

function use(state: Partial<StandIn['state']>): void {
  Object.assign(standIn.state, { mode: 'tls', cert: 'good', metadata: EXPECTED, dateOffsetMs: 0 }, state);
}

describe('the public URL, from this machine', () => {
  it('good: port 443, answers, trusted certificate with days left, metadata matches, clocks agree', async () => {
    use({});
    const results = await check();
    expect(results.map((result) => [result.id, result.verdict])).toEqual([
      ['port', 'ok'],
      ['address', 'ok'],
      ['certificate', 'ok'],
      ['metadata', 'ok'],
      ['clock', 'ok'],
    ]);
    expect(sentence(byId(results, 'address'))).toMatch(/^localhost resolves to 127\.0\.0\.1.* and answers from here\.$/);
    expect(sentence(byId(results, 'certificate'))).toMatch(
      /^A trusted certificate for localhost from Test Public Authority, good until .+ \((89|90) days left\)\.$/,
    );
    expect(sentence(byId(results, 'metadata'))).toBe('The public URL answers with this server’s metadata document: the address leads to this add-on.');
    expect(sentence(byId(results, 'clock'))).toMatch(/^This machine’s clock agrees with the server at the public URL \(within \d+ s\)\.$/);
  });

  it('a port other than 443 fails, even with everything else right: Alexa only calls 443', async () => {
    use({});
    const results = await check({ url: `https://localhost:${standIn.port}`, dial: false });
    const port = byId(results, 'port');
    expect(port.verdict).toBe('fail');
    expect(sentence(port)).toBe(
      `Port ${standIn.port}: Alexa only calls 443. Make the address answer on port 443 (a port forward or a reverse proxy) and leave the port out of public_url.`,
    );
    expect(byId(results, 'certificate').verdict).toBe('ok');
    expect(byId(results, 'metadata').verdict).toBe('ok');
    expect(worst(results.map((result) => result.verdict))).toBe('fail');
  });

  it('an expired certificate fails, with the date and what to do', async () => {
    use({ cert: 'expired' });
    const certificate = byId(await check(), 'certificate');
    expect(certificate).toMatchObject({ verdict: 'fail', reason: 'expired' });
    expect(sentence(certificate)).toMatch(
      /^The certificate expired on .+, and Alexa does not trust an expired certificate\. Renew it and make sure the new one is served\.$/,
    );
  });

  it('a certificate for another name fails, naming both', async () => {
    use({ cert: 'wrongName' });
    const certificate = byId(await check(), 'certificate');
    expect(certificate).toMatchObject({ verdict: 'fail', reason: 'wrongName' });
    expect(sentence(certificate)).toBe(
      'The certificate is for other.example, not for localhost, so Alexa does not trust it here. Get a certificate that names localhost, or correct public_url.',
    );
  });

  it('a self-signed certificate fails, and says where to get one', async () => {
    use({ cert: 'selfSigned' });
    const certificate = byId(await check(), 'certificate');
    expect(certificate).toMatchObject({ verdict: 'fail', reason: 'selfSigned' });
    expect(sentence(certificate)).toMatch(
      /^The certificate for localhost is self-signed, and Alexa only trusts certificates from a public authority\. Get one from Let’s Encrypt/,
    );
  });

  it('a certificate from a root Node does not bundle fails (the public roots, not the test CA)', async () => {
    use({});
    const certificate = byId(await check({ ca: undefined }), 'certificate');
    expect(certificate).toMatchObject({ verdict: 'fail', reason: 'untrusted' });
    expect(sentence(certificate)).toMatch(
      /^The certificate’s chain does not lead to a public authority \([A-Z_]+\), so Alexa does not trust it\. Serve the full chain \(fullchain\.pem/,
    );
  });

  it('a certificate with few days left is a warning', async () => {
    use({ cert: 'soon' });
    const certificate = byId(await check(), 'certificate');
    expect(certificate).toMatchObject({ verdict: 'warn', reason: 'expiresSoon', facts: { days: 5 } });
    expect(sentence(certificate)).toMatch(
      /^The certificate for localhost ends on .+ \(days left: 5\)\. Renew it now, and check that automatic renewal works\.$/,
    );
  });

  it('a metadata document that differs fails, naming the field and both values', async () => {
    use({ metadata: { ...EXPECTED, issuer: 'https://old.example.net' } });
    const metadata = byId(await check(), 'metadata');
    expect(metadata).toMatchObject({ verdict: 'fail', reason: 'differs' });
    expect(sentence(metadata)).toBe(
      'Something else answers at the public URL: its metadata says issuer is https://old.example.net, this server publishes https://localhost. ' +
        'Check that the address leads to this add-on and that public_url is the address Alexa uses.',
    );
  });

  it('no metadata document at all (another web server) fails with its status', async () => {
    use({ metadata: undefined });
    const metadata = byId(await check(), 'metadata');
    expect(metadata).toMatchObject({ verdict: 'fail', reason: 'metadataStatus', facts: { status: 404 } });
    expect(sentence(metadata)).toMatch(/^The public URL answered 404 for the metadata document, so it does not lead to this add-on\./);
  });

  it('plain HTTP where https should answer fails', async () => {
    use({ mode: 'plain' });
    const results = await check();
    expect(byId(results, 'certificate')).toMatchObject({ verdict: 'fail', reason: 'noTls' });
    expect(sentence(byId(results, 'certificate'))).toBe('localhost port 443 answers, but not with https. Put https in front of this add-on, on port 443.');
  });

  it('a server whose clock is 5 minutes off is a warning that names the 150 s limit', async () => {
    use({ dateOffsetMs: 300_000 });
    const clock = byId(await check(), 'clock');
    expect(clock.verdict).toBe('warn');
    expect(sentence(clock)).toMatch(/^This machine’s clock is (29\d|30\d) s behind the server at the public URL\. .*more than 150 s/);
  });

  it('a connection reset (no loop-back) is "could not tell", never a failure', async () => {
    use({ mode: 'reset' });
    const results = await check();
    expect(byId(results, 'address')).toMatchObject({ verdict: 'unknown', reason: 'notReached' });
    expect(results.filter((result) => result.verdict === 'fail')).toEqual([]);
  });

  it('nothing listening is "could not tell from here", with what to do instead', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const results = await checkPublicUrl('https://localhost', EXPECTED, { ca: pki.ca, dialPort: port, timeoutMs: 10_000 });
    const address = byId(results, 'address');
    expect(address.verdict).toBe('unknown');
    expect(sentence(address)).toBe(
      'Could not tell from here: localhost port 443 did not answer (many routers do not loop back to their own public address). Check from a phone on mobile data.',
    );
    for (const id of ['certificate', 'metadata', 'clock'] as const) expect(byId(results, id)).toMatchObject({ verdict: 'unknown', reason: 'notChecked' });
  });

  it('an http public URL fails without any connection: Alexa calls https only', async () => {
    const results = await checkPublicUrl('http://127.0.0.1:8443', EXPECTED);
    expect(byId(results, 'port')).toMatchObject({ verdict: 'fail', reason: 'notHttps' });
    expect(sentence(byId(results, 'port'))).toMatch(/^http:\/\/127\.0\.0\.1:8443 is not https: Alexa only calls https addresses on port 443\./);
  });

  it('a name without an address fails (Alexa cannot find it either) or, with no resolver here, cannot tell', async () => {
    const address = byId(await checkPublicUrl('https://no-such-host.invalid', EXPECTED, { timeoutMs: 10_000 }), 'address');
    if (address.verdict === 'fail') expect(sentence(address)).toMatch(/^no-such-host\.invalid has no address in DNS, so Alexa cannot find it either\./);
    else expect(address).toMatchObject({ verdict: 'unknown', reason: 'dnsFailed' });
  });
});

describe('trusted_proxies against what arrives', () => {
  const seen = (peer: string) => ({ peer, at: Date.now() });
  it.each([
    [[], { direct: seen('203.0.113.9') }, 'ok', 'Requests arrive directly from 203.0.113.9, without a proxy, and trusted_proxies is empty: as it should be.'],
    [['172.30.32.1'], { trustedProxy: seen('172.30.32.1') }, 'ok', 'Requests arrive through 172.30.32.1, which trusted_proxies lists: as it should be.'],
    [
      [],
      { untrustedProxy: seen('172.30.32.1'), direct: seen('203.0.113.9') },
      'warn',
      'Requests arrive through a proxy that trusted_proxies does not list: 172.30.32.1 sends X-Forwarded-For. Add 172.30.32.1 to trusted_proxies, or every limit counts all of Alexa as one client.',
    ],
    [
      ['10.0.0.2'],
      { direct: seen('203.0.113.9') },
      'warn',
      'trusted_proxies lists 10.0.0.2, but requests arrive directly from 203.0.113.9. If no proxy is in front of this add-on, empty trusted_proxies.',
    ],
    [['10.0.0.2'], {}, 'unknown', 'No request has reached the public listener since the add-on started.'],
  ])('%j with %j → %s', (listed, peers, verdict, words) => {
    const result = proxiesCheck(listed, { direct: undefined, trustedProxy: undefined, untrustedProxy: undefined, ...peers });
    expect(result.verdict).toBe(verdict);
    expect(sentence(result)).toBe(words);
  });

  it('Sightings files each request by its peer and X-Forwarded-For', () => {
    const sightings = new Sightings(() => 1000);
    sightings.notePeer('203.0.113.9', false, false);
    sightings.notePeer('172.30.32.1', true, true);
    sightings.notePeer('198.51.100.7', true, false);
    expect(sightings.peers()).toEqual({
      direct: { peer: '203.0.113.9', at: 1000 },
      trustedProxy: { peer: '172.30.32.1', at: 1000 },
      untrustedProxy: { peer: '198.51.100.7', at: 1000 },
    });
  });
});

describe('the last calls from Alexa and Music Assistant', () => {
  it('never, then "just now"; off when the skill guard or introspection is off', () => {
    let now = Date.UTC(2026, 0, 5, 12);
    const sightings = new Sightings(() => now);
    const config = loadConfigFor({ alexa_skill_id: 'amzn1.ask.skill.11111111-2222-3333-4444-555555555555', skill_backend_url: 'http://127.0.0.1:9/' });
    const words = () => lastRequestChecks(config, sightings).map((result) => `${result.verdict}: ${describeCheck(en, result, now).sentence}`);
    expect(words()).toEqual([
      'unknown: No call since the add-on started.',
      'unknown: No call since the add-on started.',
      'unknown: No call since the add-on started.',
    ]);
    sightings.note('alexaToken');
    now += 3 * 60_000;
    sightings.note('introspect');
    expect(words()).toEqual(['ok: Last call 3 minutes ago.', 'unknown: No call since the add-on started.', 'ok: Last call just now.']);
    const bare = loadConfigFor({ resource_server_secret: null });
    expect(lastRequestChecks(bare, sightings).map((result) => describeCheck(en, result, now).sentence)).toEqual([
      'Last call 3 minutes ago.',
      'The skill guard is off (options alexa_skill_id and skill_backend_url).',
      'Off: the option resource_server_secret is not set.',
    ]);
  });
});

describe('the start-up summary', () => {
  it('is one heading and one English line per check, with the verdict', () => {
    const lines = summaryBlock({
      at: Date.now(),
      results: [
        { id: 'port', verdict: 'fail', reason: 'portNot443', facts: { port: 8443 } },
        { id: 'alexaToken', verdict: 'unknown', reason: 'never', facts: {} },
      ],
    });
    expect(lines).toEqual([
      'Setup checks (the same as on the Setup page in the panel):',
      'Setup check: Port … fail: Port 8443: Alexa only calls 443. Make the address answer on port 443 (a port forward or a reverse proxy) and leave the port out of public_url.',
      'Setup check: Alexa at the token endpoint … unknown: No call since the add-on started.',
    ]);
  });
});
