/** The newest audit events of any kind, decrypted with the test's key: what a test checks was recorded. */
import Database from 'better-sqlite3';
import { KeyRing } from '../../src/crypto/keyring.js';
import type { AuditEvent } from '../../src/store/audit.js';
import { DATABASE_FILE, type Store } from '../../src/store/index.js';
import type { TestServer } from './oauth-server.js';

export interface RecentEvent {
  event: AuditEvent;
  grantId: string | undefined;
  details: Record<string, unknown>;
}

export function recentAudit(store: Store, keys: readonly string[], limit: number): RecentEvent[] {
  const ring = new KeyRing(keys);
  const rows = store.db
    .prepare<[number], { event: AuditEvent; grant_id: string | null; details_enc: string; count: number | null }>(
      'SELECT event, grant_id, details_enc, count FROM audit_events ORDER BY id DESC LIMIT ?',
    )
    .all(limit);
  // A summary row's count is a column of its own (clear), merged as the panel sees it.
  return rows.map((row) => {
    const details = JSON.parse(ring.decrypt(row.details_enc)) as Record<string, unknown>;
    return { event: row.event, grantId: row.grant_id ?? undefined, details: row.count === null ? details : { ...details, count: row.count } };
  });
}

/** The same for a running test server (its key is in its options). */
export function recentAuditOf(server: TestServer, limit: number): RecentEvent[] {
  return recentAudit(server.app.store, [server.options.encryption_key as string], limit);
}

/** Which configured key opens a database's key-check row (0: the first): what start-up used. */
export function keyThatOpens(dataDir: string, keys: readonly string[]): number {
  const db = new Database(`${dataDir}/${DATABASE_FILE}`, { readonly: true });
  try {
    const row = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE name = ?').get('index_key');
    if (!row) throw new Error('no key-check row');
    return new KeyRing(keys).open(row.value).keyIndex;
  } finally {
    db.close();
  }
}
