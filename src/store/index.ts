/**
 * The store: one SQLite database in DATA_DIR, and the repositories that work on it.
 */

import { join } from 'node:path';
import { Database } from '../commonjs.js';
import { KeyRing } from '../crypto/keyring.js';
import { AuditLog } from './audit.js';
import { AuthorizationCodes } from './codes.js';
import { afterCommit, deriveSecret, type StoreContext, sql, transaction } from './context.js';
import { DATABASE_FILE, type Db, openDatabase, SNAPSHOT_TAKEN_AT } from './database.js';
import { Grants } from './grants.js';
import { GroupCommit } from './group-commit.js';
import type { IndexKeyRotation } from './index-key.js';
import {
  counts,
  type KeyUsage,
  keyUsage,
  type PruneResult,
  prune,
  type ReencryptProgress,
  type ReencryptResult,
  reencrypt,
  reencryptSteps,
} from './maintenance.js';
import { Notices } from './notices.js';
import { Operations } from './operations.js';
import { PendingRequests } from './requests.js';
import { EncryptedSessionStore } from './session-store.js';
import { SkillUsage } from './skill-usage.js';
import { Tokens } from './tokens.js';

export type { MadeBy, RedeemedCode, Redemption } from './codes.js';
export type { Subject } from './context.js';
export { type Grant, type LinkState, linkState, type PanelGrant } from './grants.js';
export type { IndexKeyRotation } from './index-key.js';
export { type KeyUsage, previousKeysInUse } from './maintenance.js';
export type { CodeExchange, LinkRevocation, MemberLinkRevocation, Origin, TokenRevocation } from './operations.js';
export { PendingRequests, type Renewal, type RenewalRules } from './requests.js';
export type { IssuedTokens, Lifetimes, Refresh } from './tokens.js';
export { DATABASE_FILE, SNAPSHOT_TAKEN_AT };

export interface StoreOptions {
  dataDir: string;
  /** Current key first, then previous ones. */
  encryptionKeys: readonly string[];
  now?: () => number;
}

export class Store {
  readonly file: string;
  readonly requests: PendingRequests;
  readonly codes: AuthorizationCodes;
  readonly grants: Grants;
  readonly tokens: Tokens;
  readonly audit: AuditLog;
  readonly sessions: EncryptedSessionStore;
  readonly notices: Notices;
  /** Uses of the skill through each link, written in batches (skill-usage.ts). */
  readonly skillUsage: SkillUsage;
  /** One operation per endpoint, audit row included (operations.ts). */
  readonly ops: Operations;
  /** Set when this opening replaced the index key because the encryption key changed (index-key.ts). */
  readonly rotation: IndexKeyRotation | undefined;
  private readonly ctx: StoreContext;
  private pruneTimer: NodeJS.Timeout | undefined;

  private constructor(file: string, ctx: StoreContext, rotation: IndexKeyRotation | undefined) {
    this.file = file;
    this.ctx = ctx;
    this.rotation = rotation;
    this.requests = new PendingRequests(ctx);
    this.codes = new AuthorizationCodes(ctx);
    this.grants = new Grants(ctx);
    this.tokens = new Tokens(ctx);
    this.audit = new AuditLog(ctx);
    this.sessions = new EncryptedSessionStore(ctx);
    this.notices = new Notices(ctx);
    this.skillUsage = new SkillUsage(ctx, this.audit);
    this.ops = new Operations({
      ctx,
      durable: (fn) => this.durable(fn),
      requests: this.requests,
      codes: this.codes,
      grants: this.grants,
      tokens: this.tokens,
      audit: this.audit,
      notices: this.notices,
    });
  }

  /**
   * Opens (creating or migrating) the database; throws StartupError on a wrong key or a damaged
   * file. When the first key does not open it, the index key is replaced first (index-key.ts).
   */
  static open(options: StoreOptions): Store {
    const file = join(options.dataDir, DATABASE_FILE);
    const keys = new KeyRing(options.encryptionKeys);
    const now = options.now ?? Date.now;
    const { db, indexKey, rotation } = openDatabase(file, keys, now);
    const revocation: StoreContext['revocation'] = { pending: false, listener: undefined };
    const group = new GroupCommit(
      db,
      () => afterCommit({ db, revocation }),
      () => {
        revocation.pending = false;
      },
    );
    return new Store(file, { db, keys, indexKey, group, now, revocation }, rotation);
  }

  /**
   * `listener` runs after every COMMIT that revoked a grant (any reason): the server writes the
   * backup snapshot then, so a lost database restored from it keeps the link revoked.
   */
  onRevocation(listener: () => void): void {
    this.ctx.revocation.listener = listener;
  }

  /** The store's clock (milliseconds): every handler's "now", so tests can step over time rules. */
  now(): number {
    return this.ctx.now();
  }

  /** A secret for `label` (e.g. signing session cookies), derived from the index key: replaced when the encryption key changes. */
  deriveSecret(label: string): Buffer {
    return deriveSecret(this.ctx, label);
  }

  /** The connection, for tests and tools; an open group is committed first (see group-commit.ts). */
  get db(): Db {
    this.ctx.group.settle();
    return this.ctx.db;
  }

  /** Runs `fn` in one IMMEDIATE transaction (repositories' own transactions nest as savepoints). */
  transaction<T>(fn: () => T): T {
    return transaction(this.ctx, fn);
  }

  /**
   * Runs `fn` at once, in one savepoint of the open group commit, and resolves with its result
   * once the group's COMMIT is on disk (see group-commit.ts): for the token endpoint, where many
   * clients write at once and each answer must wait for its fsync.
   */
  durable<T>(fn: () => T): Promise<T> {
    return this.ctx.group.run(fn);
  }

  prune(): PruneResult {
    return prune(this.ctx);
  }

  /** Prunes now and then every `seconds`; the timer does not keep the process alive. */
  startPruning(seconds: number, onError: (error: unknown) => void): void {
    this.stopPruning();
    this.pruneTimer = setInterval(() => {
      try {
        this.prune();
      } catch (error) {
        onError(error);
      }
    }, seconds * 1000);
    this.pruneTimer.unref();
  }

  stopPruning(): void {
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.pruneTimer = undefined;
  }

  reencrypt(options: { batchSize?: number; onProgress?: (progress: ReencryptProgress) => void } = {}): ReencryptResult {
    return reencrypt(this.ctx, options);
  }

  /** The same pass, one batch per step, for running between requests. */
  reencryptSteps(batchSize?: number): Generator<ReencryptProgress, ReencryptResult> {
    return reencryptSteps(this.ctx, batchSize);
  }

  /**
   * A consistent copy of the database at `file` (VACUUM INTO: committed data, WAL included), as
   * one self-contained file (rollback journal, not WAL) that records when it was taken.
   */
  snapshot(file: string): void {
    this.ctx.group.settle();
    this.ctx.db.prepare('VACUUM INTO ?').run(file);
    const copy = new Database(file, { fileMustExist: true });
    try {
      copy.pragma('journal_mode = DELETE');
      copy.pragma('synchronous = FULL');
      copy.prepare('INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)').run(SNAPSHOT_TAKEN_AT, this.ctx.keys.encrypt(String(this.ctx.now())));
    } finally {
      copy.close();
    }
  }

  keyUsage(): KeyUsage {
    return keyUsage(this.ctx);
  }

  counts(): Record<string, number> {
    return counts(this.ctx);
  }

  /** Cheap liveness check for /healthz: the database answers a query. */
  healthy(): boolean {
    try {
      return sql<{ ok: number }>(this.ctx, 'SELECT 1 AS ok').get()?.ok === 1;
    } catch {
      return false;
    }
  }

  integrityCheck(): string[] {
    this.ctx.group.settle();
    return (this.ctx.db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((row) => row.integrity_check);
  }

  /** Checkpoints the WAL into the main file and closes; after this the -wal file is gone. */
  close(): void {
    this.stopPruning();
    if (!this.ctx.db.open) return;
    this.ctx.group.settle();
    this.skillUsage.flush();
    this.ctx.db.pragma('wal_checkpoint(TRUNCATE)');
    this.ctx.db.close();
  }
}
