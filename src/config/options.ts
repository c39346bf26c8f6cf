/**
 * Every option of the add-on, with its default and its validator: the one source of truth that
 * `config.yaml` (options/schema), `translations/en.yaml` and the loader must agree with (a test
 * checks that they name the same options).
 */
import { bool, fernetKey, int, list, oneOf, proxyAddress, text, url, type Validator } from './validate.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'notice', 'warning', 'error', 'fatal'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Client id that Music Assistant uses for introspection; no Alexa client may take it. */
export const RESOURCE_SERVER_CLIENT_ID = 'music_assistant';

/** Amazon vendor ids are upper-case letters and digits, e.g. M2AB3CD4EF5GH6 (developer console → Settings). */
const VENDOR_ID = /^[A-Z0-9]{8,20}$/;
/**
 * A skill's application id as the Alexa developer console shows it (Build → Endpoint, "Your Skill
 * ID"): amzn1.ask.skill.<UUID>; skills made before 2017 have amzn1.echo-sdk-ams.app.<UUID>.
 */
const SKILL_ID = /^amzn1\.(?:ask\.skill|echo-sdk-ams\.app)\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** The longest access_token_ttl_minutes: also how long an access key replaced by a key change is kept (store/index-key.ts). */
export const ACCESS_TOKEN_TTL_MAX_MINUTES = 1440;
/** RFC 6749 client_id characters (VSCHAR), without the space that would confuse Basic parsing. */
const CLIENT_ID = /^[\x21-\x7e]+$/;

interface OptionSpec<T> {
  /** undefined: the option is optional and has no default. */
  default: T | undefined;
  validate: Validator<T>;
}

function option<T>(defaultValue: T | undefined, validate: Validator<T>): OptionSpec<T> {
  return { default: defaultValue, validate };
}

export const OPTIONS = {
  /** Fernet key that encrypts everything at rest. Required in the add-on; generated for local runs. */
  encryption_key: option<string>(undefined, fernetKey),
  /** Older keys, still used to decrypt until a re-encrypt pass has moved every row to the first key. */
  previous_encryption_keys: option<string[]>([], list(fernetKey, 8)),
  /** Public https base URL of this server, as Alexa reaches it; also the issuer (RFC 8414, RFC 9207). */
  public_url: option<string>(undefined, url()),
  /** Client id that the Alexa developer console shows under Account Linking. */
  alexa_client_id: option<string>(undefined, text({ max: 255, pattern: CLIENT_ID, hint: 'must be printable characters without spaces' })),
  /** Client secret from the Alexa developer console; at least 32 characters. */
  alexa_client_secret: option<string>(undefined, text({ min: 32, max: 512 })),
  /** Vendor id from the Alexa developer console; gives the Amazon redirect URIs (one per region). */
  alexa_vendor_id: option<string>(
    undefined,
    text({ max: 20, pattern: VENDOR_ID, hint: 'must be 8 to 20 upper-case letters and digits, as the Alexa developer console shows it' }),
  ),
  /** Further redirect URIs to allow, matched exactly (tests, other skills). */
  extra_redirect_uris: option<string[]>([], list(url({ allowQuery: true }), 16)),
  /** Secret with which Music Assistant (client id `music_assistant`) introspects tokens. Unset: introspection is off. */
  resource_server_secret: option<string>(undefined, text({ min: 32, max: 512 })),
  /** The skill whose requests the skill guard (POST /skill) accepts; unset with skill_backend_url: no guard. */
  alexa_skill_id: option<string>(
    undefined,
    text({
      max: 80,
      pattern: SKILL_ID,
      hint: 'must be the skill id from the Alexa developer console, such as amzn1.ask.skill.12345678-1234-1234-1234-123456789012',
    }),
  ),
  /** Where the skill guard forwards verified, linked requests: the skill backend on the local network. */
  skill_backend_url: option<string>(undefined, url({ allowHttp: true, allowQuery: true })),
  /** Refuse authorization requests without a PKCE S256 challenge. */
  require_pkce: option<boolean>(true, bool),
  /**
   * Show everyone the notice that links made with the earlier Alexa OAuth server (in Music
   * Assistant) must be made again. Off: shown only once Alexa presents one of that server's tokens.
   */
  relink_notice: option<boolean>(false, bool),
  /** Access token lifetime. Amazon requires at least 6 minutes (360 s; Account Linking FAQ). */
  access_token_ttl_minutes: option<number>(60, int(6, ACCESS_TOKEN_TTL_MAX_MINUTES)),
  /** A refresh token unused for this long expires (Alexa refreshes at least daily while in use). */
  refresh_token_idle_days: option<number>(180, int(1, 3650)),
  /** Absolute lifetime of a link; 0 means none (only idle expiry applies). */
  refresh_token_max_days: option<number>(0, int(0, 3650)),
  /** Where people open Home Assistant; the waiting page links to the panel there. Else asked from the Supervisor. */
  home_assistant_url: option<string>(undefined, url({ allowHttp: true })),
  /** Serve the public listener over TLS with certificates from Home Assistant's /ssl folder. */
  ssl: option<boolean>(false, bool),
  /** Certificate chain file, relative to /ssl. */
  certfile: option<string>('fullchain.pem', text({ max: 255 })),
  /** Private key file, relative to /ssl. */
  keyfile: option<string>('privkey.pem', text({ max: 255 })),
  /** Reverse proxies whose X-Forwarded-For is believed (addresses or ranges). Empty: none. */
  trusted_proxies: option<string[]>([], list(proxyAddress, 16)),
  /** Send Home Assistant notifications on new links, token reuse and repeated failed logins. */
  notify: option<boolean>(true, bool),
  /** How much to log. Secrets are never logged at any level. */
  log_level: option<LogLevel>('info', oneOf(LOG_LEVELS)),
} as const;

export type OptionName = keyof typeof OPTIONS;
export const OPTION_NAMES = Object.keys(OPTIONS) as OptionName[];

type ValueOf<S> = S extends OptionSpec<infer T> ? T : never;
/** Parsed options; those without a default may be undefined. */
// Mapped over `keyof typeof OPTIONS` itself (homomorphic), so each field's declaration is its entry
// in OPTIONS: an editor (and test/config-used.test.ts) goes from `options.x` to OPTIONS' `x`.
export type Options = {
  [K in keyof typeof OPTIONS]: (typeof OPTIONS)[K]['default'] extends undefined ? ValueOf<(typeof OPTIONS)[K]> | undefined : ValueOf<(typeof OPTIONS)[K]>;
};

/** The redirect host of each Alexa region (Amazon's account-linking documentation). */
export const ALEXA_REDIRECT_HOSTS = ['pitangui.amazon.com', 'layla.amazon.com', 'alexa.amazon.co.jp'] as const;

export function alexaRedirectUris(vendorId: string): string[] {
  return ALEXA_REDIRECT_HOSTS.map((host) => `https://${host}/api/skill/link/${vendorId}`);
}
