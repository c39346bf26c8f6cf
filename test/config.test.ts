import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Env, FIRST_RUN_OPTIONS, loadConfig } from '../src/config/load.js';
import { ALEXA_REDIRECT_HOSTS, alexaRedirectUris, OPTION_NAMES } from '../src/config/options.js';
import { TUNABLES } from '../src/config/tunables.js';
import { generateFernetKey } from '../src/crypto/fernet.js';
import { ConfigError, StartupError } from '../src/errors.js';
import { tempDir } from './helpers/tmp.js';

const KEY = generateFernetKey();
const SECRET = 'c'.repeat(40);

function validOptions(): Record<string, unknown> {
  return {
    encryption_key: KEY,
    previous_encryption_keys: [],
    public_url: 'https://alexa.example.net',
    alexa_client_id: 'amzn1.application-oa2-client.0123456789abcdef',
    alexa_client_secret: SECRET,
    alexa_vendor_id: 'M2AB3CD4EF5GH6',
    extra_redirect_uris: [],
    resource_server_secret: 'r'.repeat(40),
    require_pkce: true,
    access_token_ttl_minutes: 60,
    refresh_token_idle_days: 180,
    refresh_token_max_days: 0,
    ssl: false,
    certfile: 'fullchain.pem',
    keyfile: 'privkey.pem',
    trusted_proxies: [],
    notify: true,
    log_level: 'info',
  };
}

function addonEnv(options: Record<string, unknown>, extra: Env = {}): Env {
  const dataDir = tempDir();
  writeFileSync(join(dataDir, 'options.json'), JSON.stringify(options));
  return { DATA_DIR: dataDir, ...extra };
}

describe('configuration: add-on mode (options.json present)', () => {
  it('accepts a complete, valid options file and derives the Alexa redirect URIs', () => {
    const config = loadConfig(addonEnv(validOptions()));
    expect(config.mode).toBe('addon');
    expect(config.alexa.redirectUris).toEqual(ALEXA_REDIRECT_HOSTS.map((host) => `https://${host}/api/skill/link/M2AB3CD4EF5GH6`));
    expect(config.encryptionKeys).toEqual([KEY]);
    expect(config.policy.lifetimes).toEqual({ accessTokenTtlSeconds: 3600, refreshTokenIdleSeconds: 180 * 86400 });
    expect(config.host).toBe('0.0.0.0');
    expect(config.publicPort).toBe(8443);
    expect(config.ingressPort).toBe(8099);
    expect(config.ingressTrustedProxies).toEqual(['172.30.32.2']);
  });

  it('builds one policy from the options and the tunables, handed to every endpoint', () => {
    const { policy } = loadConfig(
      addonEnv({ ...validOptions(), access_token_ttl_minutes: 30, refresh_token_idle_days: 7, refresh_token_max_days: 90, require_pkce: false }),
    );
    expect(policy).toEqual({
      lifetimes: { accessTokenTtlSeconds: 1800, refreshTokenIdleSeconds: 7 * 86400 },
      linkMaxSeconds: 90 * 86400,
      requirePkce: false,
      codeTtlSeconds: TUNABLES.oauth.authorizationCodeTtlSeconds,
      renewal: {
        ttlSeconds: TUNABLES.oauth.pendingRequestTtlSeconds,
        maxRenewals: TUNABLES.oauth.maxCodeRenewals,
        windowSeconds: TUNABLES.oauth.renewalWindowSeconds,
        minSeconds: TUNABLES.oauth.minRenewedCodeSeconds,
      },
    });
    expect(Object.isFrozen(policy) && Object.isFrozen(policy.lifetimes) && Object.isFrozen(policy.renewal)).toBe(true);
  });

  it('adds extra redirect URIs after the Alexa ones and keeps previous keys after the current one', () => {
    const previous = generateFernetKey();
    const config = loadConfig(addonEnv({ ...validOptions(), previous_encryption_keys: [previous], extra_redirect_uris: ['https://test.example/cb?x=1'] }));
    expect(config.alexa.redirectUris.at(-1)).toBe('https://test.example/cb?x=1');
    expect(config.encryptionKeys).toEqual([KEY, previous]);
  });

  it('honours the environment overrides of the brief', () => {
    const optionsDir = tempDir();
    const optionsFile = join(optionsDir, 'custom.json');
    writeFileSync(optionsFile, JSON.stringify(validOptions()));
    const config = loadConfig({
      DATA_DIR: tempDir(),
      OPTIONS_FILE: optionsFile,
      HOST: '127.0.0.1',
      PUBLIC_PORT: '9443',
      INGRESS_PORT: '9099',
      INGRESS_TRUSTED_PROXIES: '127.0.0.1, 10.0.0.0/8',
      SUPERVISOR_URL: 'http://127.0.0.1:1234/',
      SUPERVISOR_TOKEN: 'tok',
    });
    expect(config).toMatchObject({
      optionsFile,
      host: '127.0.0.1',
      publicPort: 9443,
      ingressPort: 9099,
      ingressTrustedProxies: ['127.0.0.1', '10.0.0.0/8'],
      supervisorUrl: 'http://127.0.0.1:1234',
      supervisorToken: 'tok',
    });
  });

  it('without encryption_key stops with a message that holds a fresh key once, the !secret line, and where the key now is', () => {
    const { encryption_key: _, ...options } = validOptions();
    let error: unknown;
    try {
      loadConfig(addonEnv(options));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(StartupError);
    const message = (error as Error).message;
    const key = /alexa_link_encryption_key: "([A-Za-z0-9_-]{43}=)"/.exec(message)?.[1];
    expect(key).toBeDefined();
    expect(Buffer.from(key!, 'base64url')).toHaveLength(32);
    // Printed once: the log it lands in is kept, and every copy of the key is one more to leak.
    expect(message.match(/[A-Za-z0-9_-]{43}=/g)).toEqual([key]);
    expect(message).toContain('encryption_key: "!secret alexa_link_encryption_key"');
    // The truth about where it is: the add-on's log, kept in the journal across restarts.
    expect(message).not.toMatch(/not stored anywhere/);
    expect(message).toContain('Where this key is now: in this log, and nowhere else.');
    expect(message).toContain('a restart does not remove it');
    expect(message).toContain('leave this block out');
    // An empty password field (how HA writes a blank one) is the same as missing.
    expect(() => loadConfig(addonEnv({ ...options, encryption_key: '' }))).toThrow(/encryption_key.*not set/);
  });

  it('on a first start (every first-run option blank, as config.yaml ships them) lists them all once, with a fresh key', () => {
    const blank = {
      ...validOptions(),
      encryption_key: '',
      public_url: '',
      alexa_client_id: '',
      alexa_client_secret: '',
      alexa_vendor_id: '',
      resource_server_secret: '',
    };
    let error: unknown;
    try {
      loadConfig(addonEnv(blank));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(StartupError);
    expect(error).not.toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    const listed = [...message.matchAll(/^ {2}- (\w+) /gm)].map((match) => match[1]);
    expect(listed).toEqual(Object.keys(FIRST_RUN_OPTIONS));
    expect(message).toMatch(/still empty/);
    expect(message).toContain('Settings → Apps → Alexa Link → Configuration');
    const key = /alexa_link_encryption_key: "([A-Za-z0-9_-]{43}=)"/.exec(message)?.[1];
    expect(key).toBeDefined();
    expect(message.match(/[A-Za-z0-9_-]{43}=/g)).toEqual([key]);
    expect(message).toContain('encryption_key: "!secret alexa_link_encryption_key"');
    // resource_server_secret is optional: blank means introspection is off, not "still to fill in".
    expect(message).not.toContain('resource_server_secret');
  });

  it('with a key but several options blank, lists those options and prints no key', () => {
    const message = (() => {
      try {
        loadConfig(addonEnv({ ...validOptions(), public_url: '', alexa_vendor_id: '' }));
      } catch (error) {
        return (error as Error).message;
      }
      return '';
    })();
    expect([...message.matchAll(/^ {2}- (\w+) /gm)].map((match) => match[1])).toEqual(['public_url', 'alexa_vendor_id']);
    expect(message).not.toMatch(/^ {4}[A-Za-z0-9_-]{43}=$/m);
    expect(message).not.toContain(KEY);
  });

  it('a blank alexa_vendor_id is fine when extra_redirect_uris gives the redirect URIs', () => {
    const config = loadConfig(addonEnv({ ...validOptions(), alexa_vendor_id: '', extra_redirect_uris: ['https://test.example/cb'] }));
    expect(config.alexa.redirectUris).toEqual(['https://test.example/cb']);
    expect(config.alexa.vendorId).toBeUndefined();
  });

  const bad: Array<[string, Record<string, unknown>, RegExp]> = [
    ['encryption_key', { encryption_key: 'not-a-key' }, /32 bytes/],
    ['encryption_key', { encryption_key: 42 }, /must be text/],
    ['previous_encryption_keys[0]', { previous_encryption_keys: ['nope'] }, /not a valid key/],
    ['previous_encryption_keys', { previous_encryption_keys: [KEY] }, /must not repeat/],
    ['previous_encryption_keys', { previous_encryption_keys: KEY }, /must be a list/],
    ['public_url', { public_url: 'http://alexa.example.net' }, /https/],
    ['public_url', { public_url: 'alexa.example.net' }, /absolute URL/],
    ['public_url', { public_url: 'https://alexa.example.net/#x' }, /fragment/],
    ['public_url', { public_url: 'https://user:pw@alexa.example.net' }, /user name or password/],
    ['public_url', { public_url: 'ftp://alexa.example.net' }, /http\(s\)/],
    ['alexa_client_id', { alexa_client_id: 'has space' }, /without spaces/],
    ['alexa_client_id', { alexa_client_id: 'music_assistant' }, /reserved/],
    ['alexa_client_secret', { alexa_client_secret: 'short' }, /at least 32/],
    ['alexa_client_secret', { alexa_client_secret: ` ${SECRET}` }, /spaces/],
    ['alexa_vendor_id', { alexa_vendor_id: 'm2ab3cd4ef5gh6' }, /upper-case/],
    ['alexa_vendor_id', { alexa_vendor_id: 'M2AB/../X' }, /upper-case/],
    ['alexa_vendor_id', { alexa_vendor_id: undefined, extra_redirect_uris: [] }, /redirect URI/],
    ['alexa_vendor_id', { alexa_vendor_id: '', extra_redirect_uris: [] }, /redirect URI/],
    ['public_url', { public_url: '' }, /must be set/],
    ['extra_redirect_uris[0]', { extra_redirect_uris: ['http://evil.example/cb'] }, /https/],
    ['resource_server_secret', { resource_server_secret: 'short' }, /at least 32/],
    ['resource_server_secret', { resource_server_secret: SECRET }, /differ/],
    ['require_pkce', { require_pkce: 'yes' }, /true or false/],
    ['access_token_ttl_minutes', { access_token_ttl_minutes: 5 }, /between 6 and 1440/],
    ['access_token_ttl_minutes', { access_token_ttl_minutes: 7.5 }, /whole number/],
    ['refresh_token_idle_days', { refresh_token_idle_days: 0 }, /between 1 and 3650/],
    ['refresh_token_max_days', { refresh_token_max_days: -1 }, /between 0 and 3650/],
    ['home_assistant_url', { home_assistant_url: 'homeassistant.local' }, /absolute URL/],
    ['certfile', { ssl: true, certfile: 'missing.pem' }, /cannot read .*missing\.pem/],
    ['trusted_proxies[0]', { trusted_proxies: ['true'] }, /IP address or range/],
    ['trusted_proxies[0]', { trusted_proxies: ['10.0.0.0/33'] }, /IP address or range/],
    ['notify', { notify: 1 }, /true or false/],
    ['log_level', { log_level: 'verbose' }, /one of trace, debug/],
    ['typo_option', { typo_option: true }, /not a known option/],
  ];

  it.each(bad)('rejects a bad %s with one line naming it', (option, change, problem) => {
    let error: unknown;
    try {
      loadConfig(addonEnv({ ...validOptions(), ...change }, { SSL_DIR: tempDir() }));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toMatch(new RegExp(`^Invalid option "${option.replace(/[[\]]/g, '\\$&')}": `));
    expect(message).toMatch(problem);
    expect(message).not.toContain('\n');
    // A secret pasted into the wrong field is not echoed back.
    expect(message).not.toContain(SECRET);
  });

  it('rejects bad environment overrides by name', () => {
    expect(() => loadConfig(addonEnv(validOptions(), { PUBLIC_PORT: 'http' }))).toThrow(/"PUBLIC_PORT": must be a whole number/);
    expect(() => loadConfig(addonEnv(validOptions(), { INGRESS_PORT: '70000' }))).toThrow(/"INGRESS_PORT": must be between/);
    expect(() => loadConfig(addonEnv(validOptions(), { INGRESS_TRUSTED_PROXIES: 'supervisor' }))).toThrow(/"INGRESS_TRUSTED_PROXIES\[0\]"/);
  });

  it('rejects an options file that is not a JSON object', () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, 'options.json'), '{ nope');
    expect(() => loadConfig({ DATA_DIR: dataDir })).toThrow(/not valid JSON/);
    writeFileSync(join(dataDir, 'options.json'), '[1]');
    expect(() => loadConfig({ DATA_DIR: dataDir })).toThrow(/JSON object/);
  });

  it('allows http public_url on loopback only', () => {
    expect(loadConfig(addonEnv({ ...validOptions(), public_url: 'http://127.0.0.1:8443/' })).publicUrl).toBe('http://127.0.0.1:8443');
    expect(() => loadConfig(addonEnv({ ...validOptions(), public_url: 'http://192.168.1.5:8443' }))).toThrow(/https/);
  });

  it('resolves certificates under the ssl folder when ssl is on', () => {
    const sslDir = tempDir();
    writeFileSync(join(sslDir, 'fullchain.pem'), 'cert');
    writeFileSync(join(sslDir, 'privkey.pem'), 'key');
    const config = loadConfig(addonEnv({ ...validOptions(), ssl: true }, { SSL_DIR: sslDir }));
    expect(config.tls).toEqual({ certFile: join(sslDir, 'fullchain.pem'), keyFile: join(sslDir, 'privkey.pem') });
  });

  it('shows the relink notice only when relink_notice says so (off by default), and takes only true or false', () => {
    expect(loadConfig(addonEnv(validOptions())).relinkNotice).toBe(false);
    expect(loadConfig(addonEnv({ ...validOptions(), relink_notice: true })).relinkNotice).toBe(true);
    expect(() => loadConfig(addonEnv({ ...validOptions(), relink_notice: 'yes' }))).toThrow(/relink_notice.*true or false/);
  });

  it('knows every option named in the table of valid options', () => {
    expect(Object.keys(validOptions()).every((name) => (OPTION_NAMES as string[]).includes(name))).toBe(true);
    expect(alexaRedirectUris('M1')).toEqual(ALEXA_REDIRECT_HOSTS.map((host) => `https://${host}/api/skill/link/M1`));
  });
});

describe('configuration: local mode (no options file)', () => {
  it('generates development secrets once, owner-readable only, and reuses them', () => {
    const dataDir = tempDir();
    const first = loadConfig({ DATA_DIR: dataDir });
    expect(first.mode).toBe('local');
    expect(first.host).toBe('127.0.0.1');
    expect(first.publicUrl).toBe('http://127.0.0.1:8443');
    expect(first.devSecretsFile).toBe(join(dataDir, 'dev-secrets.json'));
    expect(existsSync(first.devSecretsFile!)).toBe(true);
    expect(statSync(first.devSecretsFile!).mode & 0o077).toBe(0);
    const second = loadConfig({ DATA_DIR: dataDir });
    expect(second.encryptionKeys).toEqual(first.encryptionKeys);
    expect(second.alexa.clientSecret).toBe(first.alexa.clientSecret);
    expect(JSON.parse(readFileSync(first.devSecretsFile!, 'utf8')).encryption_key).toBe(first.encryptionKeys[0]);
  });
});

describe('configuration: the skill guard options', () => {
  const SKILL = 'amzn1.ask.skill.12345678-abcd-4abc-8abc-123456789abc';
  const guarded = (extra: Record<string, unknown>) => ({ ...validOptions(), ...extra });

  it('is off with both options blank, and on with both set (http to the local network allowed)', () => {
    expect(loadConfig(addonEnv(guarded({ alexa_skill_id: '', skill_backend_url: '' }))).skill).toBeUndefined();
    const config = loadConfig(addonEnv(guarded({ alexa_skill_id: SKILL, skill_backend_url: 'http://music-assistant-skill:5000/' })));
    expect(config.skill).toEqual({ skillId: SKILL, backendUrl: 'http://music-assistant-skill:5000/', testTrust: undefined });
  });

  it('names the other option when only one is set', () => {
    expect(() => loadConfig(addonEnv(guarded({ alexa_skill_id: SKILL })))).toThrow(
      /^Invalid option "skill_backend_url": must be set when alexa_skill_id is set/,
    );
    expect(() => loadConfig(addonEnv(guarded({ skill_backend_url: 'http://skill:5000/' })))).toThrow(
      /^Invalid option "alexa_skill_id": must be set when skill_backend_url is set/,
    );
  });

  it('refuses a skill id that is not one, without repeating the value', () => {
    for (const bad of ['amzn1.application-oa2-client.0123', 'amzn1.ask.skill.not-a-uuid', `${SKILL} `]) {
      let message = '';
      try {
        loadConfig(addonEnv(guarded({ alexa_skill_id: bad, skill_backend_url: 'http://skill:5000/' })));
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        message = (error as Error).message;
      }
      expect(message).toMatch(/^Invalid option "alexa_skill_id": must/);
      expect(message).not.toContain(bad.trim());
    }
  });

  it('takes the test-trust variables only outside the add-on (no Supervisor token)', () => {
    const options = guarded({ alexa_skill_id: SKILL, skill_backend_url: 'http://skill:5000/' });
    const test = { SKILL_TEST_TRUSTED_CA: '/tmp/ca.pem', SKILL_TEST_CERT_ORIGIN: 'http://127.0.0.1:9/' };
    expect(loadConfig(addonEnv(options, test)).skill?.testTrust).toEqual({ caFile: '/tmp/ca.pem', certOrigin: 'http://127.0.0.1:9' });
    expect(() => loadConfig(addonEnv(options, { ...test, SUPERVISOR_TOKEN: 'token' }))).toThrow(StartupError);
    expect(() => loadConfig(addonEnv(options, { SKILL_TEST_TRUSTED_CA: '/tmp/ca.pem', SUPERVISOR_TOKEN: 'token' }))).toThrow(/test harnesses only/);
  });
});
