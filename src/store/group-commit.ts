/**
 * Group commit: the token endpoint's writes that arrive in the same turn of the event loop, or in
 * the turn right after, share one transaction, and so one COMMIT and one fsync (synchronous=FULL
 * makes every commit wait for the disk, and better-sqlite3 blocks the only JavaScript thread while
 * it waits). The second turn is there because clients answered by one commit send their next
 * requests spread over a little time: the ones that arrive while the first turn's writes run join
 * the same commit instead of each later group paying an fsync of its own. It costs one pass of the
 * event loop, microseconds when nothing is waiting.
 *
 * - Each write runs at once and synchronously, in its own savepoint: it is atomic on its own, sees
 *   every write before it, and a failing one is rolled back without touching the others.
 * - Its promise settles only after the COMMIT that makes it durable; the caller answers the client
 *   then, so no answer ever leaves before its data is on disk. If the COMMIT fails, every write of
 *   the group is rolled back and every promise rejects: nobody was told anything.
 * - Anything else that touches the connection first commits the open group (`settle`), so nothing
 *   outside a group ever sees uncommitted state or is swept into it.
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from './database.js';

interface Member {
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class GroupCommit {
  /** The writes waiting for the open group's COMMIT; undefined while no group is open. */
  private members: Member[] | undefined;
  /** True while a write of the group runs: its own statements must not commit the group. */
  private running = false;

  private readonly begin: Statement;
  private readonly commit: Statement;
  private readonly rollback: Statement;
  private readonly savepoint: Statement;
  private readonly release: Statement;
  private readonly undo: Statement;

  /** `committed`: runs after each successful COMMIT of a group (context.ts afterCommit). */
  constructor(
    private readonly db: Db,
    private readonly committed: () => void = () => undefined,
    private readonly failed: () => void = () => undefined,
  ) {
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
    // Prepared once: better-sqlite3's db.transaction(fn) would build a wrapper per write.
    this.savepoint = db.prepare('SAVEPOINT group_write');
    this.release = db.prepare('RELEASE group_write');
    this.undo = db.prepare('ROLLBACK TO group_write');
  }

  /** True while a write of the group runs: a transaction asked for inside it is that write's savepoint. */
  get writing(): boolean {
    return this.running;
  }

  /** Runs `fn` in the open group (opening one if needed); resolves with its result once committed. */
  run<T>(fn: () => T): Promise<T> {
    if (this.running) return Promise.reject(new Error('GroupCommit.run cannot nest'));
    let value: T;
    try {
      if (!this.members) {
        this.begin.run();
        this.members = [];
        setImmediate(() => setImmediate(() => this.settle()));
      }
      this.running = true;
      try {
        value = this.inSavepoint(fn);
      } finally {
        this.running = false;
      }
    } catch (error) {
      // Some faults (a full disk, an I/O error) make SQLite roll back the whole transaction, not
      // just the savepoint: then the writes before this one are gone too, and must not be confirmed.
      if (this.members && !this.db.inTransaction) this.fail(error);
      return Promise.reject(error);
    }
    return new Promise<T>((resolve, reject) => {
      this.members!.push({ resolve: () => resolve(value), reject });
    });
  }

  /** Runs `fn` in the write's savepoint: released when it returns, rolled back when it throws. */
  private inSavepoint<T>(fn: () => T): T {
    this.savepoint.run();
    let value: T;
    try {
      value = fn();
    } catch (error) {
      // A fault may already have rolled back the whole transaction, savepoint included.
      if (this.db.inTransaction) {
        this.undo.run();
        this.release.run();
      }
      throw error;
    }
    this.release.run();
    return value;
  }

  /** Commits the open group now, if there is one and none of its writes is running. */
  settle(): void {
    if (!this.members || this.running) return;
    const members = this.members;
    this.members = undefined;
    try {
      this.commit.run();
    } catch (error) {
      this.members = members;
      this.fail(error);
      return;
    }
    for (const member of members) member.resolve();
    this.committed();
  }

  private fail(error: unknown): void {
    const members = this.members ?? [];
    this.failed();
    this.members = undefined;
    if (this.db.inTransaction) {
      try {
        this.rollback.run();
      } catch {
        // Nothing more can be undone; the rejections below tell every caller.
      }
    }
    for (const member of members) member.reject(error);
  }
}
