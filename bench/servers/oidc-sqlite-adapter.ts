/**
 * A durable oidc-provider adapter on better-sqlite3, for the equal-work baseline: every model
 * instance is one row of its model's table (as the Sequelize example adapter in oidc-provider's
 * repository lays it out): `id` (the jti), the payload as JSON, its expiry, and the columns the
 * adapter interface looks rows up by (grant_id for revokeByGrantId, user_code, uid) plus
 * `consumed`. WAL mode and synchronous=FULL, as Alexa Link's database: every commit waits for an
 * fsync of the WAL.
 *
 * Two ways to commit (COMMIT_MODE):
 * - `autocommit`: each write is one statement that commits on its own (one fsync each);
 * - `group`: the writes of one event-loop turn and the turn after share one transaction, opened by
 *   the first of them (BEGIN IMMEDIATE) and committed in a setImmediate of a setImmediate, the rule
 *   of Alexa Link's src/store/group-commit.ts; each write's promise resolves only after
 *   that COMMIT, so oidc-provider answers nothing before it is on disk (as Alexa Link's
 *   src/store/group-commit.ts). Reads do not commit an open group: a find sees the group's writes.
 *
 * `counts` are the writes and the commits made (a write that changed no row commits nothing).
 */
import Database from 'better-sqlite3';
import type { Adapter, AdapterPayload } from 'oidc-provider';

export type CommitMode = 'autocommit' | 'group';

interface Row {
  payload: string;
  consumed: number | null;
}

export interface SqliteAdapters {
  /** oidc-provider's `adapter` option: a factory called with each model's name. */
  factory: (model: string) => Adapter;
  counts: { writes: number; commits: number };
  /** Rows per model's table now (expired and consumed ones included: nothing deletes them here). */
  rows: () => Record<string, number>;
  close: () => void;
}

export function sqliteAdapters(file: string, mode: CommitMode): SqliteAdapters {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  const counts = { writes: 0, commits: 0 };
  const begin = db.prepare('BEGIN IMMEDIATE');
  const commit = db.prepare('COMMIT');
  const rollback = db.prepare('ROLLBACK');

  /** The open group: its members' settle functions and whether any of its writes changed a row. */
  let group: { members: Array<{ resolve: () => void; reject: (error: unknown) => void }>; changed: boolean } | undefined;

  const settle = (): void => {
    const open = group;
    if (!open) return;
    group = undefined;
    try {
      commit.run();
    } catch (error) {
      if (db.inTransaction) rollback.run();
      for (const member of open.members) member.reject(error);
      return;
    }
    if (open.changed) counts.commits++;
    for (const member of open.members) member.resolve();
  };

  /** Runs one write statement; resolves once it is durable (see the two modes above). */
  const write = (run: () => Database.RunResult): Promise<void> => {
    counts.writes++;
    if (mode === 'autocommit') {
      try {
        if (run().changes > 0) counts.commits++;
      } catch (error) {
        return Promise.reject(error);
      }
      return Promise.resolve();
    }
    try {
      if (!group) {
        begin.run();
        group = { members: [], changed: false };
        setImmediate(() => setImmediate(settle));
      }
      if (run().changes > 0) group.changed = true;
    } catch (error) {
      // An I/O fault can roll back the whole transaction: then none of the group's writes happened.
      if (group && !db.inTransaction) {
        const open = group;
        group = undefined;
        for (const member of open.members) member.reject(error);
      }
      return Promise.reject(error);
    }
    const open = group;
    return new Promise((resolve, reject) => open.members.push({ resolve, reject }));
  };

  const tables = new Set<string>();
  const factory = (model: string): Adapter => {
    const table = `"${model}"`;
    if (!tables.has(model)) {
      if (group) settle();
      db.exec(
        `CREATE TABLE IF NOT EXISTS ${table} (id TEXT PRIMARY KEY, payload TEXT NOT NULL, expires_at INTEGER, grant_id TEXT, user_code TEXT, uid TEXT, consumed INTEGER);
         CREATE INDEX IF NOT EXISTS "${model}_grant_id" ON ${table} (grant_id) WHERE grant_id IS NOT NULL;
         CREATE INDEX IF NOT EXISTS "${model}_user_code" ON ${table} (user_code) WHERE user_code IS NOT NULL;
         CREATE INDEX IF NOT EXISTS "${model}_uid" ON ${table} (uid) WHERE uid IS NOT NULL;`,
      );
      tables.add(model);
    }
    const upsert = db.prepare(
      `INSERT INTO ${table} (id, payload, expires_at, grant_id, user_code, uid, consumed) VALUES (?, ?, ?, ?, ?, ?, NULL)
       ON CONFLICT (id) DO UPDATE SET payload = excluded.payload, expires_at = excluded.expires_at, grant_id = excluded.grant_id,
         user_code = excluded.user_code, uid = excluded.uid, consumed = NULL`,
    );
    const live = `(expires_at IS NULL OR expires_at > ?)`;
    const byId = db.prepare<[string, number], Row>(`SELECT payload, consumed FROM ${table} WHERE id = ? AND ${live}`);
    const byUserCode = db.prepare<[string, number], Row>(`SELECT payload, consumed FROM ${table} WHERE user_code = ? AND ${live}`);
    const byUid = db.prepare<[string, number], Row>(`SELECT payload, consumed FROM ${table} WHERE uid = ? AND ${live}`);
    const consume = db.prepare(`UPDATE ${table} SET consumed = ? WHERE id = ?`);
    const destroy = db.prepare(`DELETE FROM ${table} WHERE id = ?`);
    const revoke = db.prepare(`DELETE FROM ${table} WHERE grant_id = ?`);
    const payloadOf = (row: Row | undefined): AdapterPayload | undefined =>
      row === undefined ? undefined : { ...(JSON.parse(row.payload) as AdapterPayload), ...(row.consumed !== null ? { consumed: row.consumed } : {}) };
    const now = (): number => Date.now();
    return {
      upsert: (id, payload, expiresIn) =>
        write(() =>
          upsert.run(
            id,
            JSON.stringify(payload),
            typeof expiresIn === 'number' ? now() + expiresIn * 1000 : null,
            payload.grantId ?? null,
            payload.userCode ?? null,
            payload.uid ?? null,
          ),
        ),
      find: async (id) => payloadOf(byId.get(id, now())),
      findByUserCode: async (userCode) => payloadOf(byUserCode.get(userCode, now())),
      findByUid: async (uid) => payloadOf(byUid.get(uid, now())),
      consume: (id) => write(() => consume.run(Math.floor(now() / 1000), id)),
      destroy: (id) => write(() => destroy.run(id)),
      revokeByGrantId: (grantId) => write(() => revoke.run(grantId)),
    };
  };

  return {
    factory,
    counts,
    rows: () => {
      settle();
      return Object.fromEntries([...tables].map((model) => [model, (db.prepare(`SELECT count(*) AS n FROM "${model}"`).get() as { n: number }).n]));
    },
    close: () => {
      settle();
      db.close();
    },
  };
}
