/** Migrations carry existing data forward: a database of the previous schema opens and keeps its rows. */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { generateFernetKey } from '../src/crypto/fernet.js';
import { KeyRing } from '../src/crypto/keyring.js';
import { DATABASE_FILE, Store } from '../src/store/index.js';
import { MIGRATIONS } from '../src/store/schema.js';
import { tempDir } from './helpers/tmp.js';

describe('migration 3: no code_challenge_method column', () => {
  it('a schema-2 database with a pending request opens at the current schema, the row intact and the column gone', () => {
    const dataDir = tempDir();
    const key = generateFernetKey();
    const db = new Database(join(dataDir, DATABASE_FILE));
    db.exec(MIGRATIONS[0]!);
    db.exec(MIGRATIONS[1]!);
    db.pragma('user_version = 2');
    db.prepare('INSERT INTO meta (name, value) VALUES (?, ?)').run('index_key', new KeyRing([key]).encrypt(randomBytes(32).toString('base64')));
    db.prepare(`INSERT INTO pending_requests (id_hash, user_code_index, client_id, redirect_uri, scope, code_challenge, code_challenge_method, requester_enc, created_at, expires_at)
                VALUES (?, ?, 'client', 'https://example.net/cb', 'music_assistant', 'challenge', 'S256', 'x', 1, 2)`).run(randomBytes(32), randomBytes(32));
    db.close();

    const store = Store.open({ dataDir, encryptionKeys: [key] });
    try {
      expect(store.db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      const columns = (store.db.pragma('table_info(pending_requests)') as Array<{ name: string }>).map((column) => column.name);
      expect(columns).toContain('code_challenge');
      expect(columns).not.toContain('code_challenge_method');
      expect(store.db.prepare('SELECT client_id, code_challenge FROM pending_requests').all()).toEqual([{ client_id: 'client', code_challenge: 'challenge' }]);
    } finally {
      store.close();
    }
  });
});
