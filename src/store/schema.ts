/**
 * Numbered migrations. `user_version` records how many have run; each runs in the start-up
 * transaction, so a database is always at one version or the next, never in between.
 *
 * What is stored in clear: random ids, SHA-256 digests of tokens and codes, HMACs (blind
 * indexes), token generations, client ids, redirect URIs, scopes, PKCE challenges and times. Everything that
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
  // 4: token generations (docs/decisions/0005-token-generations.md). Only the live refresh tokens
  // are rows; a refresh token names its grant and generation under a MAC, so a retired one is
  // recognised by \`gen <= grants.refresh_gen\` for as long as the grant lives, without a row.
  // Access tokens are stateless; revoking one puts its digest on a list until it expires. The
  // \`tokens\` table keeps what was issued before: its access tokens until they expire, its
  // retired refresh tokens until they expire (reuse detection as before), and the digests of the
  // refresh tokens moved here, as retired markers for as long as their grant lives.
  `
  ALTER TABLE grants ADD COLUMN refresh_gen INTEGER NOT NULL DEFAULT 0;        -- newest generation used (confirmed)
  ALTER TABLE grants ADD COLUMN refresh_expires_at INTEGER NOT NULL DEFAULT 0; -- idle expiry: last issue + idle time, capped by expires_at
  CREATE INDEX grants_refresh_expiry ON grants (refresh_expires_at) WHERE revoked_at IS NULL;

  CREATE TABLE refresh_tokens (
    digest    BLOB PRIMARY KEY,                        -- SHA-256 of the token
    grant_id  TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    gen       INTEGER NOT NULL,
    issued_at INTEGER NOT NULL,
    used_at   INTEGER                                  -- first presented: it is confirmed, older generations are retired
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id, gen);

  CREATE TABLE revoked_access_tokens (
    digest     BLOB PRIMARY KEY,                       -- SHA-256 of an access token revoked on its own (RFC 7009)
    expires_at INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX revoked_access_tokens_expiry ON revoked_access_tokens (expires_at);

  -- The live refresh tokens of active grants: the newest used one (generation 0) and its unused
  -- successors (generation 1), or a first token never used (generation 0, no parent).
  INSERT INTO refresh_tokens (digest, grant_id, gen, issued_at, used_at)
    SELECT t.digest, t.grant_id, CASE WHEN t.used_at IS NULL AND t.parent IS NOT NULL THEN 1 ELSE 0 END, t.created_at, t.used_at
    FROM tokens t JOIN grants g ON g.id = t.grant_id
    WHERE t.kind = 'refresh' AND t.retired_at IS NULL AND t.revoked_at IS NULL AND g.revoked_at IS NULL;
  UPDATE grants SET refresh_expires_at = coalesce(
    (SELECT max(t.expires_at) FROM tokens t JOIN refresh_tokens r ON r.digest = t.digest WHERE t.grant_id = grants.id), 0);
  -- Moved: their old rows stay as retired markers until the grant is deleted.
  UPDATE tokens SET retired_at = coalesce(used_at, created_at), expires_at = 9007199254740991
    WHERE digest IN (SELECT digest FROM refresh_tokens);
  DROP INDEX tokens_parent;
  `,
  // 5: "Get a new code" on the waiting page (docs/decisions/0007-code-renewal.md): how often the
  // request's user code was replaced. The limit on renewals and their window are tunables.
  `
  ALTER TABLE pending_requests ADD COLUMN renewals INTEGER NOT NULL DEFAULT 0;
  `,
  // 6: where a link was made, for Linked accounts: {redirectUri, userAgent} of the browser that
  // asked, carried from the request to its code and from the code to the grant. Encrypted like the
  // request's own copy; NULL for links made before (the panel then shows no region or device).
  `
  ALTER TABLE authorization_codes ADD COLUMN made_by_enc TEXT;
  ALTER TABLE grants ADD COLUMN made_by_enc TEXT;
  `,
  // 7: when the skill was last used through a link (the skill guard), encrypted: {at}. NULL until
  // the first use; written at most once a minute per link (store/skill-usage.ts).
  `
  ALTER TABLE grants ADD COLUMN skill_used_enc TEXT;
  `,
  // 8: what strangers can make the database keep is bounded. Summary rows count in clear (a count
  // needs no secrecy; no re-encryption per event): anonymous events one row per hour, routine ones
  // one per link and day (a day's row of before this migration restarts its count at 1). Pending
  // requests carry a keyed digest of the requester's address (fair eviction when the global bound is
  // near) and when a person first saw them in the panel (never evicted after); a session names the
  // request it is for, so evicting a request ends its session.
  `
  ALTER TABLE audit_events ADD COLUMN count INTEGER;
  ALTER TABLE pending_requests ADD COLUMN requester_key BLOB;
  ALTER TABLE pending_requests ADD COLUMN shown_at INTEGER;
  CREATE INDEX pending_requests_unshown ON pending_requests (status, shown_at);
  ALTER TABLE sessions ADD COLUMN request_hash BLOB;
  CREATE INDEX sessions_request ON sessions (request_hash);
  `,
  // 9: the relink notice's row now means evidence of the earlier server (store/notices.ts). Before,
  // every new database set it, so an existing row says nothing: cleared, as on a fresh install.
  `
  DELETE FROM meta WHERE name = 'notice:relink';
  `,
];

/** Every Fernet-encrypted column, by table, what a re-encrypt pass visits. */
export const ENCRYPTED_COLUMNS: ReadonlyArray<{ table: string; columns: readonly string[] }> = [
  { table: 'meta', columns: ['value'] },
  { table: 'pending_requests', columns: ['state_enc', 'requester_enc', 'subject_enc'] },
  { table: 'grants', columns: ['subject_enc', 'made_by_enc', 'skill_used_enc'] },
  { table: 'authorization_codes', columns: ['subject_enc', 'made_by_enc'] },
  { table: 'sessions', columns: ['data_enc'] },
  { table: 'audit_events', columns: ['details_enc'] },
];

/**
 * Every column keyed by the index key (a blind index), and what replacing that key does with it
 * (store/index-key.ts, docs/decisions/0010-index-key-rotation.md):
 * - `recompute`: from the Home Assistant user id in the row's own `subject_enc`;
 * - `translate`: the person's new index, when some row that is recomputed (or a pending request)
 *   names them; otherwise the column is cleared (`translate`) or the row deleted
 *   (`translate-or-delete`: the index is all the row is about);
 * - `drop`: the rows are deleted (the user code behind an HMAC is not stored, so it cannot be
 *   recomputed; pending requests live minutes).
 * test/index-key-rotation.test.ts checks that every `*_index` and `*_key` column of the schema is here.
 */
export const INDEX_KEYED_COLUMNS: ReadonlyArray<{
  table: string;
  column: string;
  onRotation: 'recompute' | 'translate' | 'translate-or-delete' | 'drop';
}> = [
  { table: 'grants', column: 'subject_index', onRotation: 'recompute' },
  { table: 'authorization_codes', column: 'subject_index', onRotation: 'recompute' },
  { table: 'audit_events', column: 'subject_index', onRotation: 'translate' },
  { table: 'notice_dismissals', column: 'subject_index', onRotation: 'translate-or-delete' },
  { table: 'pending_requests', column: 'user_code_index', onRotation: 'drop' },
  { table: 'pending_requests', column: 'subject_index', onRotation: 'drop' },
  { table: 'pending_requests', column: 'requester_key', onRotation: 'drop' },
];
