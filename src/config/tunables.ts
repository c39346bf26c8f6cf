/**
 * Every built-in tunable in one place, each with why it has its value (as oidc-provider's
 * defaults.js). Admin-facing settings are options (options.ts); these are not, because a wrong
 * value weakens a security property or Alexa's expectations. User-facing texts are built from these
 * values (see `minutes` below), so a change here changes what people read.
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;

export const TUNABLES = {
  oauth: {
    /** Scopes this server grants; a request may ask for a subset. */
    scopes: ['music_assistant'],
    /** RFC 6749 §4.1.2 recommends at most 10 minutes; Alexa exchanges codes within seconds. */
    authorizationCodeTtlSeconds: 60,
    /**
     * A refresh token presented again within this many seconds of its last rotation is answered 429
     * with Retry-After, and not rotated: of parallel presentations exactly one succeeds. Shorter than
     * the 4.5 s Alexa waits for a token answer, so a retry after a lost answer gets a successor.
     */
    refreshRepeatSeconds: 2,
    /** How long a person has to approve in Home Assistant. */
    pendingRequestTtlSeconds: 600,
    /**
     * Fresh codes the waiting page may get for one Alexa request (docs/decisions/0007): three give
     * a person who was interrupted several tries; each renewal is another code that can be guessed,
     * so they stay few.
     */
    maxCodeRenewals: 3,
    /**
     * No code of a request lives beyond this long after GET /authorize, however often it is
     * renewed: Alexa's `state` and the PKCE challenge stay the same, so a stale in-app browser must
     * not finish a link much later; 30 minutes is three codes' worth of a phone left on a table.
     */
    renewalWindowSeconds: 30 * 60,
    /** A renewal is refused when its new code would live less than this (too short to use). */
    minRenewedCodeSeconds: 120,
    /** Consumed codes are kept this long so that a replay is recognised and revokes its tokens. */
    consumedCodeRetentionSeconds: 24 * 3600,
    /**
     * An access token issued more than this ahead of the store's clock is refused. Only this server
     * issues them, so a token "from the future" was sealed by someone else, unless the clock was set
     * back meanwhile; a few seconds cover a time service's small corrections.
     */
    accessTokenClockSkewSeconds: 5,
    /** Longest `state` echoed back to Alexa (printable ASCII); Alexa's are short. */
    maxStateLength: 2048,
  },

  /** Per client address (IPv6 per /56). Windows are fixed, counted in memory. */
  limits: {
    /** Link requests: a household links a few times a year; 30 leaves room for retries. */
    authorize: { limit: 30, windowMs: 10 * MINUTE },
    /** The waiting page and its once-a-second status poll, for the 10 minutes a request lives. */
    status: { limit: 600, windowMs: 10 * MINUTE },
    /** "Get a new code": a renewal costs what a link request does (a write, an audit row), so the same budget. */
    renew: { limit: 30, windowMs: 10 * MINUTE },
    /** Token and revocation requests: Alexa refreshes each link about hourly. */
    token: { limit: 300, windowMs: MINUTE },
    /** Music Assistant may introspect on every request it serves, from its one address. */
    introspect: { limit: 6000, windowMs: MINUTE },
    /**
     * Failed client logins that are checked and recorded; past it wrong secrets get 429, while
     * correct ones are always answered (a lockout would let anyone behind one proxy cut Alexa off).
     */
    failedClientAuth: { limit: 10, windowMs: 15 * MINUTE },
    /** Wrong user codes per Home Assistant user: 40 an hour against 20^8 codes. */
    wrongCodes: { limit: 10, windowMs: 15 * MINUTE },
    /** Keys (addresses, users) a budget remembers at most: memory stays bounded under a flood. */
    maxKeys: 10_000,
    /**
     * Link requests waiting for someone to type their code, in all: a household has one or two at a
     * time. At the bound the requests of the addresses that asked most often lately go first (a
     * person asks once), a tenth at a time; a request someone has seen in the panel never goes.
     */
    maxUnseenRequests: 500,
  },

  /** What is stored from a request: a sender's choice, so each is cut to a fixed length. */
  storedLength: {
    /** Longer than any real browser's User-Agent that a person needs to recognise. */
    userAgent: 256,
    /** An IPv6 address with a zone is at most 45 characters; anything longer is not an address. */
    ip: 64,
    clientId: 128,
  },

  http: {
    /** A public request must arrive whole within this time (slow-client attacks). */
    publicRequestTimeoutMs: 10 * SECOND,
    /** The panel goes through Home Assistant's proxy, which may be slow on a small machine. */
    ingressRequestTimeoutMs: 30 * SECOND,
    /** Form bodies of the protocol endpoints: a token request is a few hundred bytes. */
    formBodyBytes: 16 * 1024,
    formParameterLimit: 32,
    /** Panel forms hold a code, a handle and a CSRF token. */
    panelBodyLimit: '4kb',
    panelParameterLimit: 10,
    /** Retry-After of a 503 while storage cannot write. */
    storageRetryAfterSeconds: 5,
    /** A panel form older than this is refused (its CSRF token has expired). */
    csrfLifetimeMs: 2 * 60 * MINUTE,
    /** Every call to the Supervisor API; start-up never waits for one. */
    supervisorTimeoutMs: 3 * SECOND,
  },

  store: {
    /** Revoked and expired grants stay visible in the panel, and audit events are kept, this long. */
    historyRetentionDays: 90,
    /** How often expired rows are pruned. */
    pruneIntervalSeconds: 600,
    /** Values re-encrypted per event-loop turn in the background after a key change. */
    backgroundReencryptBatch: 200,
    /** The CLI's rotate-key default batch (it runs alone, so larger batches are fine). */
    cliReencryptBatch: 500,
    /** SQLite waits this long for a lock held by another process (the CLI beside the server). */
    busyTimeoutMs: 5000,
    /**
     * SQLite page size of a new database. A refresh dirties about seven pages; with 1 KiB pages it
     * writes about 8 KiB to the WAL instead of about 29 KiB with the default 4 KiB (bench footprint).
     */
    pageSize: 1024,
    /** The WAL file is truncated to this after a checkpoint (it otherwise stays at its largest). */
    walSizeLimitBytes: 1024 * 1024,
    /** Decrypted subjects kept per grant id: the token endpoint decrypts one per request otherwise. */
    subjectCacheSize: 1024,
  },

  /** The skill guard (POST /skill): Amazon's request verification, then forwarding to the skill backend. */
  skill: {
    /**
     * Amazon: a request whose timestamp is more than 150 s from now must be refused ("Verify that
     * the request was sent by Alexa"), either way.
     */
    timestampToleranceMs: 150 * SECOND,
    /** Largest request body accepted: Alexa's envelopes are a few KiB (an APL viewport adds some). */
    maxRequestBytes: 256 * 1024,
    /** Largest backend answer passed on; Amazon limits a skill's response to 24 KiB of speech and cards, APL documents add more. */
    maxResponseBytes: 256 * 1024,
    /**
     * The whole forwarding, connect to last byte. Alexa gives a skill 8 s; this leaves room for the
     * verification (a first chain download) and the way back, and tells the person in time.
     */
    backendTimeoutMs: 6 * SECOND,
    /** Downloading a signing-certificate chain (rare: the chain is cached). */
    certDownloadTimeoutMs: 2500,
    /** Amazon's chain is about 6 KiB of PEM; nothing larger is read. */
    maxChainBytes: 32 * 1024,
    /** Certificates in a chain at most: Amazon's has three. */
    maxChainLength: 5,
    /** Chains kept, by URL; Amazon uses one at a time and moves to a new URL when it renews. */
    certCacheSize: 8,
    /**
     * New chain URLs downloaded per minute at most, and how long a failed one is not asked again:
     * an unverified request must not make this server a downloader for strangers.
     */
    certDownloadsPerMinute: 12,
    certFailureCacheMs: MINUTE,
    /** Usage ("last used by Alexa", the day's count) is written at most this often: no write per request. */
    usageFlushSeconds: 60,
    /** Refused requests are counted and logged as one line per kind this often. */
    refusalLogIntervalMs: 60 * MINUTE,
  },

  /** Home Assistant Core's websocket API, through the Supervisor (src/ha/core-users.ts). */
  homeAssistant: {
    /**
     * Who is an administrator is asked again after this long: a role changed in Home Assistant
     * reaches the panel within a minute, and a page view costs no websocket connection.
     */
    usersCacheMs: MINUTE,
    /** A failed answer (Core restarting or down) is kept this long, so every page view does not wait on it again. */
    usersFailureCacheMs: 10 * SECOND,
    /** The user list of a household is a few KiB; a larger message is refused, not read. */
    maxMessageBytes: 256 * 1024,
  },

  notifications: {
    /** "Logins keep failing": this many failed client logins within the window... */
    authFailureAlert: { count: 5, windowMs: 15 * MINUTE, /** ...and at most one such notification per quiet period. */ quietMs: 60 * MINUTE },
  },
  setup: {
    /** Each step of the Setup page's public-URL check (DNS, TLS, the metadata request) must answer within this. */
    stepTimeoutMs: 5 * SECOND,
    /** The clock agrees with the public URL's Date header within this (1 s resolution, plus the round trip). */
    clockToleranceSeconds: 30,
    /** A certificate with fewer days left is a warning: automatic renewal should have replaced it by then. */
    certificateWarnDays: 14,
  },
} as const;

/** "15 minutes" from milliseconds, for texts people read. */
export function minutes(ms: number): string {
  const value = Math.round(ms / MINUTE);
  return `${value} minute${value === 1 ? '' : 's'}`;
}
