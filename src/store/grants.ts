/**
 * Grants: one per linked Alexa account. Revoking a grant revokes every token issued under it.
 */
import { TUNABLES } from '../config/tunables.js';
import { random } from '../crypto/random.js';
import type { MadeBy } from './codes.js';
import { openJson, type StoreContext, type Subject, sealJson, sql, subjectIndex } from './context.js';
import { skillUsedAt } from './skill-usage.js';

export type RevokeReason = 'user' | 'admin' | 'client' | 'code_replay' | 'refresh_reuse' | 'expired';

export interface Grant {
  id: string;
  subject: Subject;
  clientId: string;
  scope: string;
  createdAt: number;
  lastUsedAt: number;
  expiresAt: number | undefined;
  revokedAt: number | undefined;
  revokedReason: RevokeReason | undefined;
}

export interface GrantRow {
  id: string;
  subject_enc: string;
  client_id: string;
  scope: string;
  created_at: number;
  last_used_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  revoked_reason: RevokeReason | null;
  /** The newest refresh-token generation used (store/tokens.ts). */
  refresh_gen: number;
  /** When its refresh tokens expire unless one is used: last issue + idle time, at most expires_at. */
  refresh_expires_at: number;
  /** Where the link was made ({redirectUri, userAgent}, encrypted); NULL before migration 6. */
  made_by_enc: string | null;
  /** When the skill was last used through this link ({at}, encrypted); NULL before migration 7 or any use. */
  skill_used_enc: string | null;
}

/**
 * Decrypted subjects, by their ciphertext: every refresh and introspection needs the subject of
 * its grant, and the same few grants are asked for again and again. Keyed by the Fernet token
 * itself, so an entry can never be stale (re-encryption makes a new ciphertext); bounded, and
 * holding nothing that is not also in memory while a request runs.
 */
const SUBJECT_CACHE_SIZE = TUNABLES.store.subjectCacheSize;
const subjects = new WeakMap<StoreContext['keys'], Map<string, Subject>>();

function subjectOf(ctx: StoreContext, sealed: string): Subject {
  let cache = subjects.get(ctx.keys);
  if (!cache) {
    cache = new Map();
    subjects.set(ctx.keys, cache);
  }
  let subject = cache.get(sealed);
  if (!subject) {
    subject = openJson<Subject>(ctx, sealed);
    if (cache.size >= SUBJECT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
    cache.set(sealed, subject);
  }
  return { ...subject };
}

/** The columns a Grant is made of: a token's lookup reads these, not the encrypted extras it never shows. */
export const GRANT_VIEW_COLUMNS = 'id, subject_enc, client_id, scope, created_at, last_used_at, expires_at, revoked_at, revoked_reason';
export type GrantViewRow = Pick<
  GrantRow,
  'id' | 'subject_enc' | 'client_id' | 'scope' | 'created_at' | 'last_used_at' | 'expires_at' | 'revoked_at' | 'revoked_reason'
>;

export function grantView(ctx: StoreContext, row: GrantViewRow): Grant {
  return {
    id: row.id,
    subject: subjectOf(ctx, row.subject_enc),
    clientId: row.client_id,
    scope: row.scope,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    expiresAt: row.expires_at ?? undefined,
    revokedAt: row.revoked_at ?? undefined,
    revokedReason: row.revoked_reason ?? undefined,
  };
}

/**
 * Marks the grant revoked, and so every token issued under it (they are checked against it); its
 * live refresh-token rows are deleted, and the rows of tokens issued before migration 4 marked.
 * Call inside a transaction. False if already revoked or unknown.
 */
export function revokeGrantRows(ctx: StoreContext, id: string, reason: RevokeReason, now: number): boolean {
  const changed = sql(ctx, 'UPDATE grants SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND revoked_at IS NULL').run(now, reason, id);
  sql(ctx, 'DELETE FROM refresh_tokens WHERE grant_id = ?').run(id);
  sql(ctx, 'UPDATE tokens SET revoked_at = ? WHERE grant_id = ? AND revoked_at IS NULL').run(now, id);
  if (changed.changes === 1) ctx.revocation.pending = true;
  return changed.changes === 1;
}

/** Whether a link is in force at `now`, and if not, since when and why: the one rule, for every caller. */
export type LinkState =
  | { kind: 'active' }
  | { kind: 'revoked'; at: number; reason: RevokeReason | undefined }
  /** Its maximum lifetime (option refresh_token_max_days) passed. */
  | { kind: 'expired'; at: number };

const ACTIVE: LinkState = Object.freeze({ kind: 'active' });

export function linkState(grant: Pick<Grant, 'revokedAt' | 'revokedReason' | 'expiresAt'>, now: number): LinkState {
  if (grant.revokedAt !== undefined) return { kind: 'revoked', at: grant.revokedAt, reason: grant.revokedReason };
  if (grant.expiresAt !== undefined && grant.expiresAt <= now) return { kind: 'expired', at: grant.expiresAt };
  return ACTIVE;
}

export function isGrantActive(grant: Pick<Grant, 'revokedAt' | 'revokedReason' | 'expiresAt'>, now: number): boolean {
  return linkState(grant, now).kind === 'active';
}

export class Grants {
  constructor(private readonly ctx: StoreContext) {}

  create(input: { subject: Subject; clientId: string; scope: string; maxSeconds: number; madeBy?: MadeBy | undefined }): Grant {
    const now = this.ctx.now();
    const id = random(16).toString('hex');
    const expiresAt = input.maxSeconds > 0 ? now + input.maxSeconds * 1000 : null;
    sql(
      this.ctx,
      `INSERT INTO grants (id, subject_index, subject_enc, client_id, scope, created_at, last_used_at, expires_at, made_by_enc)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      id,
      subjectIndex(this.ctx, input.subject.id),
      sealJson(this.ctx, input.subject),
      input.clientId,
      input.scope,
      now,
      now,
      expiresAt,
      input.madeBy ? sealJson(this.ctx, input.madeBy) : null,
    );
    return {
      id,
      subject: input.subject,
      clientId: input.clientId,
      scope: input.scope,
      createdAt: now,
      lastUsedAt: now,
      expiresAt: expiresAt ?? undefined,
      revokedAt: undefined,
      revokedReason: undefined,
    };
  }

  get(id: string): Grant | undefined {
    const row = sql<GrantRow>(this.ctx, 'SELECT * FROM grants WHERE id = ?').get(id);
    return row && grantView(this.ctx, row);
  }

  /**
   * The links of one Home Assistant user, newest first, each with where it was made (Alexa region,
   * device and browser; undefined before migration 6). Only the panel asks for that, so it is
   * decrypted here and not in grantView, which refresh and introspection use.
   */
  listForSubject(subjectId: string): PanelGrant[] {
    const rows = sql<GrantRow>(this.ctx, 'SELECT * FROM grants WHERE subject_index = ? ORDER BY created_at DESC').all(subjectIndex(this.ctx, subjectId));
    return rows.map((row) => panelView(this.ctx, row));
  }

  /**
   * Every person's active links, newest first, as listForSubject gives them: the household view of
   * an administrator. Each subject is decrypted, which is nothing for a household's few links.
   */
  listActive(): PanelGrant[] {
    const rows = sql<GrantRow>(
      this.ctx,
      'SELECT * FROM grants WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?) ORDER BY created_at DESC',
    ).all(this.ctx.now());
    return rows.map((row) => panelView(this.ctx, row));
  }
}

/** A link as the panel shows it: with where it was made and when the skill last used it. */
export type PanelGrant = Grant & { madeBy: MadeBy | undefined; skillUsedAt: number | undefined };

function panelView(ctx: StoreContext, row: GrantRow): PanelGrant {
  return {
    ...grantView(ctx, row),
    madeBy: row.made_by_enc === null ? undefined : openJson<MadeBy>(ctx, row.made_by_enc),
    skillUsedAt: skillUsedAt(ctx, row.skill_used_enc),
  };
}
