/**
 * Group commit (src/store/group-commit.ts): token writes of the same moment share one COMMIT, and
 * nobody is answered before it. A real SQLite file (WAL, synchronous=FULL) and a second, read-only
 * connection that sees only what is committed.
 */

import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { transaction } from '../src/store/context.js';
import { GroupCommit } from '../src/store/group-commit.js';
import { openStore } from './helpers/store.js';
import { tempDir } from './helpers/tmp.js';
import { walCommits } from './helpers/wal.js';

const opened: Array<{ close: () => unknown }> = [];
afterEach(() => {
  for (const handle of opened.splice(0).reverse()) handle.close();
});

function database() {
  const file = join(tempDir(), 'group.db');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL);
    CREATE TABLE parent (id INTEGER PRIMARY KEY);
    CREATE TABLE child (parent_id INTEGER NOT NULL REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)`);
  const reader = new Database(file, { readonly: true });
  opened.push(db, reader);
  const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
  const committed = (): string[] => (reader.prepare('SELECT v FROM t ORDER BY id').all() as Array<{ v: string }>).map((row) => row.v);
  return { db, file, group: new GroupCommit(db), insert, committed };
}

const outcomes = (promises: Array<Promise<unknown>>) =>
  Promise.allSettled(promises).then((settled) => settled.map((result) => (result.status === 'fulfilled' ? 'ok' : 'refused')));

describe('group commit', () => {
  it('writes made in one turn of the event loop share one COMMIT, and none resolves before it', async () => {
    const { group, insert, committed, file } = database();
    const before = walCommits(`${file}-wal`).commits;
    const resolved: string[] = [];
    const writes = ['a', 'b', 'c', 'd', 'e'].map((v) => group.run(() => insert.run(v)).then(() => resolved.push(v)));
    // Each write has run (in the writer's transaction), but nothing is committed or answered yet.
    expect(committed()).toEqual([]);
    await Promise.all(writes);
    expect(resolved).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(committed()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(walCommits(`${file}-wal`).commits - before).toBe(1);
    // Once committed, the next write opens a new group.
    await group.run(() => insert.run('f'));
    expect(walCommits(`${file}-wal`).commits - before).toBe(2);
  });

  it('a write in the turn right after joins the open group; one two turns later does not', async () => {
    const { group, insert, committed, file } = database();
    const before = walCommits(`${file}-wal`).commits;
    // Wrapped in an object: a promise handed to resolve() would be waited for, not handed over.
    const inTurns = (turns: number, value: string) =>
      new Promise<{ write: Promise<unknown> }>((resolve) => {
        const step = (left: number): void => {
          if (left === 0) resolve({ write: group.run(() => insert.run(value)) });
          else setImmediate(() => step(left - 1));
        };
        step(turns);
      });
    const first = group.run(() => insert.run('a'));
    // The next turn: the stragglers of a burst of requests arrive there.
    const { write: second } = await inTurns(1, 'b');
    expect(committed()).toEqual([]);
    await Promise.all([first, second]);
    expect(committed()).toEqual(['a', 'b']);
    expect(walCommits(`${file}-wal`).commits - before).toBe(1);
    // A write two turns after its group opened finds that group committed, and opens its own.
    const third = group.run(() => insert.run('c'));
    const { write: late } = await inTurns(2, 'd');
    expect(committed()).toEqual(['a', 'b', 'c']);
    await Promise.all([third, late]);
    expect(walCommits(`${file}-wal`).commits - before).toBe(3);
  });

  it('returns each write its own result, and a write that throws is rolled back alone', async () => {
    const { group, insert, committed } = database();
    const first = group.run(() => insert.run('kept-1').lastInsertRowid);
    const failing = group.run(() => {
      insert.run('rolled-back');
      throw new Error('refused by the handler');
    });
    const third = group.run(() => insert.run('kept-2').lastInsertRowid);
    await expect(failing).rejects.toThrow('refused by the handler');
    // Row id 2 went with the rolled-back savepoint, so SQLite handed it out again.
    expect([await first, await third]).toEqual([1, 2]);
    expect(committed()).toEqual(['kept-1', 'kept-2']);
  });

  it('when the COMMIT fails, every write of the group is refused and none is kept', async () => {
    const { db, group, insert, committed } = database();
    const writes = [
      group.run(() => insert.run('a')),
      // A deferred foreign key is only checked at COMMIT: the statement succeeds, the COMMIT fails.
      group.run(() => db.prepare('INSERT INTO child (parent_id) VALUES (42)').run()),
      group.run(() => insert.run('b')),
    ];
    expect(await outcomes(writes)).toEqual(['refused', 'refused', 'refused']);
    await expect(writes[1]).rejects.toMatchObject({ code: 'SQLITE_CONSTRAINT_FOREIGNKEY' });
    expect(db.inTransaction).toBe(false);
    expect(committed()).toEqual([]);
    // And the connection works on.
    await group.run(() => insert.run('c'));
    expect(committed()).toEqual(['c']);
  });

  it('when SQLite drops the whole transaction (as on some I/O errors), the writes before are refused too', async () => {
    const { db, group, insert, committed } = database();
    const before = group.run(() => insert.run('a'));
    const dropping = group.run(() => {
      insert.run('b');
      db.prepare('ROLLBACK').run();
    });
    expect(await outcomes([before, dropping])).toEqual(['refused', 'refused']);
    expect(committed()).toEqual([]);
    await group.run(() => insert.run('c'));
    expect(committed()).toEqual(['c']);
  });

  it('anything else on the store commits the open group first: nothing outside it sees or joins uncommitted rows', async () => {
    const { store, dataDir } = openStore();
    opened.push(store);
    const reader = new Database(join(dataDir, 'alexa-link.db'), { readonly: true });
    opened.push(reader);
    const events = (): number => (reader.prepare('SELECT count(*) AS n FROM audit_events').get() as { n: number }).n;
    const write = store.durable(() => store.audit.record('token_refreshed', { details: { ip: '192.0.2.1' } }));
    expect(events()).toBe(0);
    // A read through the store, in the same turn: the group is committed before it runs.
    expect(store.grants.listForSubject('nobody')).toEqual([]);
    expect(events()).toBe(1);
    await write;
    // A transaction from outside a group write, in the same turn as a new group.
    const second = store.durable(() => store.audit.record('token_refreshed', { details: { ip: '192.0.2.2' } }));
    store.transaction(() => store.audit.record('link_approved', { details: { ip: '192.0.2.3' } }));
    expect(events()).toBe(3);
    await second;
  });
});

describe('one savepoint per operation', () => {
  it('a transaction asked for inside a write is that write: one SAVEPOINT, and a throw still undoes the whole write', async () => {
    const file = join(tempDir(), 'savepoints.db');
    const statements: string[] = [];
    const db = new Database(file, { verbose: (text) => statements.push(String(text)) });
    opened.push(db);
    db.exec('CREATE TABLE t (v TEXT NOT NULL)');
    const group = new GroupCommit(db);
    const ctx = { db, group };
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    statements.length = 0;
    await group.run(() =>
      transaction(ctx, () => {
        insert.run('a');
        transaction(ctx, () => insert.run('b'));
      }),
    );
    expect(statements.filter((text) => /^SAVEPOINT/i.test(text))).toHaveLength(1);
    const failing = group.run(() =>
      transaction(ctx, () => {
        insert.run('c');
        throw new Error('refused');
      }),
    );
    await expect(failing).rejects.toThrow('refused');
    expect((db.prepare('SELECT v FROM t ORDER BY rowid').all() as Array<{ v: string }>).map((row) => row.v)).toEqual(['a', 'b']);
  });
});
