/**
 * Numbered migrations. `user_version` records how many have run; each runs in the start-up
 * transaction, so a database is always at one version or the next, never in between.
 *
 * What is stored in clear: random ids, SHA-256 digests of tokens and codes, HMACs (blind
 * indexes), client ids, redirect URIs, scopes, PKCE challenges and times. Everything that
 * identifies a person (HA user id and name, IPs, user agents, session contents, audit
 * details) and Alexa's opaque `state` are Fernet tokens (`*_enc` columns).
 */
export const MIGRATIONS: readonly string[] = [
  // 1: the first schema.
  `
  CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) STRICT;

  CREATE TABLE pending_requests (
    id_hash               BLOB PRIMARY KEY,            -- SHA-256 of the request id held in the browser's session
    user_code_index       BLOB NOT NULL UNIQUE,        -- HMAC of the user code (34.6 bits: a plain hash could be brute-forced)
    client_id             TEXT NOT NULL,
    redirect_uri          TEXT NOT NULL,
    scope                 TEXT NOT NULL,
    state_enc             TEXT,
    code_challenge        TEXT,
    code_challenge_method TEXT,
    requester_enc         TEXT NOT NULL,               -- {ip, userAgent} of the browser that asked
    status                TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied', 'completed')),
    subject_index         BLOB,
    subject_enc           TEXT,                        -- the HA user who approved or denied
    created_at            INTEGER NOT NULL,
    expires_at            INTEGER NOT NULL,
    decided_at            INTEGER
  ) STRICT;
  CREATE INDEX pending_requests_expiry ON pending_requests (expires_at);

  CREATE TABLE grants (
    id             TEXT PRIMARY KEY,                   -- random, not secret
    subject_index  BLOB NOT NULL,
    subject_enc    TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    scope          TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    last_used_at   INTEGER NOT NULL,
    expires_at     INTEGER,                            -- absolute expiry; NULL: none
    revoked_at     INTEGER,
    revoked_reason TEXT
  ) STRICT;
  CREATE INDEX grants_subject ON grants (subject_index);

  CREATE TABLE authorization_codes (
    code_hash      BLOB PRIMARY KEY,
    client_id      TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    scope          TEXT NOT NULL,
    code_challenge TEXT,
    subject_index  BLOB NOT NULL,
    subject_enc    TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    consumed_at    INTEGER,
    grant_id       TEXT REFERENCES grants (id) ON DELETE SET NULL
  ) STRICT;
  CREATE INDEX authorization_codes_expiry ON authorization_codes (expires_at);

  CREATE TABLE tokens (
    digest     BLOB PRIMARY KEY,                       -- SHA-256 of the token; the token itself is never stored
    kind       TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    grant_id   TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    parent     BLOB,                                   -- refresh: the token it was rotated from; access: the refresh token issued with it
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,                                -- refresh: first presented (its successor is confirmed)
    retired_at INTEGER,                                -- refresh: a successor was used; presenting it now is reuse
    revoked_at INTEGER
  ) STRICT;
  CREATE INDEX tokens_grant ON tokens (grant_id);
  CREATE INDEX tokens_parent ON tokens (parent);
  CREATE INDEX tokens_expiry ON tokens (expires_at);

  CREATE TABLE sessions (
    sid_hash   BLOB PRIMARY KEY,                       -- SHA-256 of the session id (the cookie's value)
    data_enc   TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX sessions_expiry ON sessions (expires_at);

  CREATE TABLE audit_events (
    id            INTEGER PRIMARY KEY,
    at            INTEGER NOT NULL,
    event         TEXT NOT NULL,
    grant_id      TEXT,
    subject_index BLOB,
    details_enc   TEXT NOT NULL
  ) STRICT;
  CREATE INDEX audit_events_subject ON audit_events (subject_index, id);
  CREATE INDEX audit_events_at ON audit_events (at);
  `,
  // 2: per-user dismissal of panel notices (e.g. "links made with the earlier server must be made again").
  `
  CREATE TABLE notice_dismissals (
    notice        TEXT NOT NULL,
    subject_index BLOB NOT NULL,
    dismissed_at  INTEGER NOT NULL,
    PRIMARY KEY (notice, subject_index)
  ) STRICT;
  `,
  // 3: the method of a PKCE challenge is always S256 (nothing else is accepted), so it is not stored.
  `
  ALTER TABLE pending_requests DROP COLUMN code_challenge_method;
  `,
];

/** Every Fernet-encrypted column, by table, what a re-encrypt pass visits. */
export const ENCRYPTED_COLUMNS: ReadonlyArray<{ table: string; columns: readonly string[] }> = [
  { table: 'meta', columns: ['value'] },
  { table: 'pending_requests', columns: ['state_enc', 'requester_enc', 'subject_enc'] },
  { table: 'grants', columns: ['subject_enc'] },
  { table: 'authorization_codes', columns: ['subject_enc'] },
  { table: 'sessions', columns: ['data_enc'] },
  { table: 'audit_events', columns: ['details_enc'] },
];
