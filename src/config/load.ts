/**
 * The one config loader: options.json + environment → a validated, frozen Config.
 *
 * Two modes, told apart by whether the options file exists:
 * - add-on: the Supervisor wrote /data/options.json; every required option must be set.
 * - local (`npm start` on a fresh clone): no options file; development secrets are generated once
 *   into DATA_DIR/dev-secrets.json, with a loud warning, so the server runs out of the box.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { generateFernetKey } from '../crypto/fernet.js';
import { newToken } from '../crypto/random.js';
import { ConfigError, StartupError } from '../errors.js';
import { alexaRedirectUris, type LogLevel, OPTION_NAMES, OPTIONS, type Options, RESOURCE_SERVER_CLIENT_ID } from './options.js';
import { type Policy, policyOf } from './policy.js';
import { int, list, proxyAddress, text, url } from './validate.js';

export interface Config {
  mode: 'addon' | 'local';
  dataDir: string;
  optionsFile: string;
  host: string;
  publicPort: number;
  ingressPort: number;
  ingressTrustedProxies: string[];
  supervisorUrl: string;
  supervisorToken: string | undefined;
  /** Current key first, then the previous ones. */
  encryptionKeys: string[];
  /** Issuer and base of every public URL, without a trailing slash. */
  publicUrl: string;
  alexa: { clientId: string; clientSecret: string; vendorId: string | undefined; redirectUris: string[] };
  resourceServerSecret: string | undefined;
  /** The skill guard (POST /skill); undefined when alexa_skill_id and skill_backend_url are unset. */
  skill: SkillGuardConfig | undefined;
  /** The admin says links of the earlier server exist: every panel shows the relink notice (store/notices.ts). */
  relinkNotice: boolean;
  /** Lifetimes, PKCE, codes and renewals: the rules the endpoints apply (config/policy.ts). */
  policy: Policy;
  homeAssistantUrl: string | undefined;
  tls: { certFile: string; keyFile: string } | undefined;
  trustedProxies: string[];
  notify: boolean;
  logLevel: LogLevel;
  /** Files generated for a local run, to be named in the start-up warning. */
  devSecretsFile: string | undefined;
  /**
   * Test harnesses only (SETUP_TEST_TRUSTED_CA, refused when a Supervisor token is present): the
   * Setup page's public-URL check trusts this CA file instead of the public roots.
   */
  setupTestCaFile: string | undefined;
}

export interface SkillGuardConfig {
  skillId: string;
  backendUrl: string;
  /**
   * Test harnesses only (environment, which an add-on's admin cannot set; refused when a Supervisor
   * token is present): trust this CA file instead of the system roots, and download the chain from
   * this origin instead of s3.amazonaws.com. Undefined in production.
   */
  testTrust: { caFile: string | undefined; certOrigin: string | undefined } | undefined;
}

export type Env = Record<string, string | undefined>;

export const DEFAULT_PUBLIC_PORT = 8443;
export const DEFAULT_INGRESS_PORT = 8099;
export const DEFAULT_INGRESS_TRUSTED_PROXIES = ['172.30.32.2'];

function readOptionsFile(file: string): Record<string, unknown> {
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch (error) {
    throw new StartupError(`Cannot read options file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new StartupError(`Options file ${file} is not valid JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new StartupError(`Options file ${file} must hold a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

/** Validates every option present; absent (or null) ones take their default. */
export function parseOptions(raw: Record<string, unknown>): Options {
  for (const name of Object.keys(raw)) {
    if (!(OPTION_NAMES as string[]).includes(name)) throw new ConfigError(name, 'is not a known option');
  }
  const parsed: Record<string, unknown> = {};
  for (const name of OPTION_NAMES) {
    const value = raw[name];
    const spec = OPTIONS[name] as { default: unknown; validate: (value: unknown, name: string) => unknown };
    // HA writes an empty string for a password field that was left blank: treat it as unset.
    parsed[name] = value === undefined || value === null || value === '' ? spec.default : spec.validate(value, name);
  }
  return parsed as Options;
}

interface DevSecrets {
  encryption_key: string;
  alexa_client_secret: string;
  resource_server_secret: string;
}

/** Development secrets for a local run: generated once, kept in DATA_DIR, never used by the add-on. */
function devSecrets(dataDir: string): { file: string; secrets: DevSecrets } {
  const file = join(dataDir, 'dev-secrets.json');
  if (existsSync(file)) {
    const secrets = JSON.parse(readFileSync(file, 'utf8')) as DevSecrets;
    return { file, secrets };
  }
  const secrets: DevSecrets = {
    encryption_key: generateFernetKey(),
    alexa_client_secret: newToken(),
    resource_server_secret: newToken(),
  };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return { file, secrets };
}

/** What a first-time admin must fill in, and where the value comes from (the add-on's DOCS.md, "First-time setup"). */
export const FIRST_RUN_OPTIONS = {
  encryption_key: 'the key printed below (best as "!secret alexa_link_encryption_key")',
  public_url: 'the https address at which Alexa reaches this add-on on port 443, e.g. https://alexa.example.net',
  alexa_client_id: '"Your Client ID" that you enter on the skill\'s Account Linking page in the Alexa developer console',
  alexa_client_secret: '"Your Secret" from the same page, at least 32 characters (make one with any password manager)',
  alexa_vendor_id: 'the code at the end of the "Alexa Redirect URLs" on that page, e.g. M2AB3CD4EF5GH6',
} as const satisfies Partial<Record<keyof Options, string>>;

export type FirstRunOption = keyof typeof FIRST_RUN_OPTIONS;

/**
 * The block that hands a first-time admin a fresh key. The key is printed once, and the text says
 * where it now is: the add-on's log, which the Supervisor serves from the host's systemd journal
 * (`/addons/<slug>/logs` reads journald, identifier `addon_<slug>`), so a restart of the add-on or
 * of the host does not remove it (docs/development.md, "The first-run key").
 */
export function missingKeyMessage(): string {
  const key = generateFernetKey();
  return [
    'Option "encryption_key" is not set. Alexa Link encrypts everything it stores and needs a key.',
    "Here is one, generated just now and used by nothing yet. Put it in Home Assistant's secrets.yaml",
    'and refer to it from the add-on configuration:',
    `    secrets.yaml:        alexa_link_encryption_key: "${key}"`,
    '    add-on option:       encryption_key: "!secret alexa_link_encryption_key"',
    'Keep a copy somewhere safe (a password manager): backups of this add-on cannot be read without it.',
    '',
    'Where this key is now: in this log, and nowhere else. Home Assistant keeps add-on logs in the',
    "host's system journal, also after the add-on or the host restarts, until old lines are rotated",
    'out; a restart does not remove it. Whoever can open this log, or gets a copy, can read the key:',
    '  * when you share this log (a bug report, a forum post), leave this block out;',
    '  * use "!secret" as above: then the add-on\'s Configuration tab and its own backups hold only',
    '    "!secret alexa_link_encryption_key", not the key;',
    '  * if a copy of this log got out before you saved the key, leave encryption_key blank and start',
    '    again for a new one: nothing has been encrypted with this key yet.',
  ].join('\n');
}

/**
 * The one block a first start prints: every option still to fill in, and a fresh key when the
 * key is one of them. Only the names are listed, never a value.
 */
export function firstRunMessage(missing: readonly FirstRunOption[]): string {
  const width = Math.max(...missing.map((name) => name.length));
  const lines = [
    `Alexa Link is not set up yet: ${missing.length === 1 ? 'this option is' : `these ${missing.length} options are`} still empty.`,
    'Fill them in under Settings → Apps → Alexa Link → Configuration, save, and start the add-on again',
    '(step by step: the add-on\'s Documentation tab, "First-time setup"):',
    '',
    ...missing.map((name) => `  - ${name.padEnd(width)}  ${FIRST_RUN_OPTIONS[name]}`),
  ];
  if (missing.includes('encryption_key')) lines.push('', missingKeyMessage());
  return lines.join('\n');
}

function envValue<T>(env: Env, name: string, validate: (value: unknown, name: string) => T, fallback: T): T {
  const value = env[name];
  return value === undefined || value === '' ? fallback : validate(value, name);
}

function csv(value: string | undefined): string[] | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.split(',').map((entry) => entry.trim());
}

/** The skill guard needs both options; the test-trust variables only outside the add-on. */
function skillGuard(options: Options, env: Env): SkillGuardConfig | undefined {
  const { alexa_skill_id: skillId, skill_backend_url: backendUrl } = options;
  if (skillId === undefined && backendUrl === undefined) return undefined;
  if (skillId === undefined) throw new ConfigError('alexa_skill_id', 'must be set when skill_backend_url is set (the skill guard needs both)');
  if (backendUrl === undefined) throw new ConfigError('skill_backend_url', 'must be set when alexa_skill_id is set (the skill guard needs both)');
  const caFile = env.SKILL_TEST_TRUSTED_CA || undefined;
  const certOrigin = env.SKILL_TEST_CERT_ORIGIN ? url({ allowHttp: true })(env.SKILL_TEST_CERT_ORIGIN, 'SKILL_TEST_CERT_ORIGIN') : undefined;
  if ((caFile || certOrigin) && env.SUPERVISOR_TOKEN) {
    throw new StartupError('SKILL_TEST_TRUSTED_CA and SKILL_TEST_CERT_ORIGIN are for test harnesses only and are refused inside the add-on');
  }
  return { skillId, backendUrl, testTrust: caFile || certOrigin ? { caFile, certOrigin: certOrigin?.replace(/\/+$/, '') } : undefined };
}

export function loadConfig(env: Env = process.env): Config {
  const dataDir = resolve(env.DATA_DIR || './data');
  const optionsFile = resolve(env.OPTIONS_FILE || join(dataDir, 'options.json'));
  const mode = existsSync(optionsFile) ? 'addon' : 'local';
  const options = parseOptions(mode === 'addon' ? readOptionsFile(optionsFile) : {});

  const host = envValue(env, 'HOST', text({ max: 255 }), mode === 'addon' ? '0.0.0.0' : '127.0.0.1');
  const publicPort = envValue(env, 'PUBLIC_PORT', int(0, 65535), DEFAULT_PUBLIC_PORT);
  const ingressPort = envValue(env, 'INGRESS_PORT', int(0, 65535), DEFAULT_INGRESS_PORT);
  const ingressTrustedProxies = list(proxyAddress)(csv(env.INGRESS_TRUSTED_PROXIES) ?? DEFAULT_INGRESS_TRUSTED_PROXIES, 'INGRESS_TRUSTED_PROXIES');
  const supervisorUrl = envValue(env, 'SUPERVISOR_URL', url({ allowHttp: true }), 'http://supervisor');
  const sslDir = env.SSL_DIR || '/ssl';

  let devSecretsFile: string | undefined;
  let encryptionKey = options.encryption_key;
  let clientSecret = options.alexa_client_secret;
  let resourceServerSecret = options.resource_server_secret;
  if (mode === 'local') {
    const dev = devSecrets(dataDir);
    devSecretsFile = dev.file;
    encryptionKey ??= dev.secrets.encryption_key;
    clientSecret ??= dev.secrets.alexa_client_secret;
    resourceServerSecret ??= dev.secrets.resource_server_secret;
  }
  const publicUrl = (options.public_url ?? (mode === 'local' ? `http://127.0.0.1:${publicPort}` : undefined))?.replace(/\/+$/, '');
  const clientId = options.alexa_client_id ?? (mode === 'local' ? 'alexa-link-dev' : undefined);
  const redirectUris = [...(options.alexa_vendor_id ? alexaRedirectUris(options.alexa_vendor_id) : []), ...options.extra_redirect_uris];

  // A first start has several options empty at once: name them all in one block (with a fresh key
  // when the key is missing), rather than one per start. A single missing option other than the
  // key keeps its one-line message.
  const missing: FirstRunOption[] = [];
  if (encryptionKey === undefined) missing.push('encryption_key');
  if (publicUrl === undefined) missing.push('public_url');
  if (clientId === undefined) missing.push('alexa_client_id');
  if (clientSecret === undefined) missing.push('alexa_client_secret');
  if (mode === 'addon' && redirectUris.length === 0) missing.push('alexa_vendor_id');
  if (missing.length === 1 && missing[0] === 'encryption_key') throw new StartupError(missingKeyMessage());
  if (missing.length > 1) throw new StartupError(firstRunMessage(missing));

  if (publicUrl === undefined) throw new ConfigError('public_url', 'must be set to the https address at which Alexa reaches this add-on');
  if (clientId === undefined) throw new ConfigError('alexa_client_id', 'must be set to the client id from the Alexa developer console');
  if (clientId === RESOURCE_SERVER_CLIENT_ID)
    throw new ConfigError('alexa_client_id', `must not be "${RESOURCE_SERVER_CLIENT_ID}" (reserved for Music Assistant)`);
  if (clientSecret === undefined) throw new ConfigError('alexa_client_secret', 'must be set to the client secret entered in the Alexa developer console');
  if (resourceServerSecret !== undefined && resourceServerSecret === clientSecret) {
    throw new ConfigError('resource_server_secret', 'must differ from alexa_client_secret');
  }
  if (mode === 'addon' && redirectUris.length === 0) {
    throw new ConfigError('alexa_vendor_id', 'must be set (or extra_redirect_uris given) so that Alexa has a redirect URI');
  }
  if (encryptionKey === undefined) throw new StartupError(missingKeyMessage());
  const skill = skillGuard(options, env);
  const setupTestCaFile = env.SETUP_TEST_TRUSTED_CA || undefined;
  if (setupTestCaFile && env.SUPERVISOR_TOKEN) throw new StartupError('SETUP_TEST_TRUSTED_CA is for test harnesses only and is refused inside the add-on');
  const previous = options.previous_encryption_keys;
  if (previous.includes(encryptionKey)) throw new ConfigError('previous_encryption_keys', 'must not repeat encryption_key');

  let tls: Config['tls'];
  if (options.ssl) {
    tls = {
      certFile: isAbsolute(options.certfile) ? options.certfile : join(sslDir, options.certfile),
      keyFile: isAbsolute(options.keyfile) ? options.keyfile : join(sslDir, options.keyfile),
    };
    for (const [name, file] of [
      ['certfile', tls.certFile],
      ['keyfile', tls.keyFile],
    ] as const) {
      try {
        readFileSync(file);
      } catch (error) {
        throw new ConfigError(name, `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'}); is ssl set up in Home Assistant?`);
      }
    }
  }

  return Object.freeze({
    mode,
    dataDir,
    optionsFile,
    host,
    publicPort,
    ingressPort,
    ingressTrustedProxies,
    supervisorUrl: supervisorUrl.replace(/\/+$/, ''),
    supervisorToken: env.SUPERVISOR_TOKEN || undefined,
    encryptionKeys: [encryptionKey, ...previous],
    publicUrl,
    alexa: { clientId, clientSecret, vendorId: options.alexa_vendor_id, redirectUris },
    resourceServerSecret,
    skill,
    relinkNotice: options.relink_notice,
    policy: policyOf(options),
    homeAssistantUrl: options.home_assistant_url?.replace(/\/+$/, ''),
    tls,
    trustedProxies: options.trusted_proxies,
    notify: options.notify,
    logLevel: options.log_level,
    devSecretsFile,
    setupTestCaFile,
  });
}
