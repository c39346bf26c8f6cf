/**
 * express-session store on our database. The session id (the cookie's value) is stored only as
 * a SHA-256 digest and the session data only Fernet-encrypted, so a copy of the database neither
 * lets anyone take over a browser's session nor read what it holds.
 */
import type { SessionData } from 'express-session';
import { session } from '../commonjs.js';
import { digest } from '../crypto/random.js';
import { openJson, type StoreContext, sealJson, sql } from './context.js';

type Callback = (error?: unknown) => void;

/** Used when a session's cookie has no expiry of its own (it always has one in this server). */
const DEFAULT_TTL_MS = 24 * 3600 * 1000;

export class EncryptedSessionStore extends session.Store {
  constructor(private readonly ctx: StoreContext) {
    super();
  }

  private expiry(data: SessionData): number {
    const expires = data.cookie?.expires;
    return expires ? new Date(expires).getTime() : this.ctx.now() + DEFAULT_TTL_MS;
  }

  override get(sid: string, callback: (error: unknown, data?: SessionData | null) => void): void {
    try {
      const row = sql<{ data_enc: string }>(this.ctx, 'SELECT data_enc FROM sessions WHERE sid_hash = ? AND expires_at > ?').get(digest(sid), this.ctx.now());
      callback(null, row ? openJson<SessionData>(this.ctx, row.data_enc) : null);
    } catch (error) {
      callback(error);
    }
  }

  override set(sid: string, data: SessionData, callback?: Callback): void {
    try {
      // The pending request the session is for (oauth/authorize.ts), so that a request evicted by the
      // bound takes its session with it; the store knows no more of what a session holds.
      const requestId = (data as { link?: { requestId?: unknown } }).link?.requestId;
      sql(
        this.ctx,
        'INSERT INTO sessions (sid_hash, data_enc, expires_at, request_hash) VALUES (?, ?, ?, ?) ON CONFLICT (sid_hash) DO UPDATE SET data_enc = excluded.data_enc, expires_at = excluded.expires_at, request_hash = excluded.request_hash',
      ).run(digest(sid), sealJson(this.ctx, data), this.expiry(data), typeof requestId === 'string' ? digest(requestId) : null);
      callback?.();
    } catch (error) {
      callback?.(error);
    }
  }

  /**
   * Nothing to write. The cookie is not renewed on later requests (express-session's `rolling` is
   * off), so a later expiry in the row would keep nothing alive; writing it would make every page
   * view a synced disk write.
   */
  override touch(_sid: string, _data: SessionData, callback?: Callback): void {
    callback?.();
  }

  override destroy(sid: string, callback?: Callback): void {
    try {
      sql(this.ctx, 'DELETE FROM sessions WHERE sid_hash = ?').run(digest(sid));
      callback?.();
    } catch (error) {
      callback?.(error);
    }
  }
}
