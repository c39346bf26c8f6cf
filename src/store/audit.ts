/**
 * The audit log: links, denials, refreshes, reuse, revocations, failed client authentication.
 * The event name and time are in clear (for counting and pruning); who, from where and any
 * detail are encrypted.
 */

import { TUNABLES } from '../config/tunables.js';
import { openJson, type StoreContext, sealJson, sql, subjectIndex } from './context.js';

export const AUDIT_EVENTS = [
  'link_requested',
  'link_approved',
  'link_denied',
  'code_issued',
  'grant_created',
  'code_replayed',
  'token_refreshed',
  'refresh_reuse',
  'token_revoked',
  'grant_revoked',
  'client_auth_failed',
] as const;
export type AuditEvent = (typeof AUDIT_EVENTS)[number];

export interface AuditEntry {
  id: number;
  at: number;
  event: AuditEvent;
  grantId: string | undefined;
  details: Record<string, unknown>;
}

export interface AuditInput {
  grantId?: string | undefined;
  subjectId?: string | undefined;
  /** Encrypted; may hold names, IPs and user agents, never tokens, codes or secrets. */
  details?: Record<string, unknown>;
}

interface Row {
  id: number;
  at: number;
  event: AuditEvent;
  grant_id: string | null;
  details_enc: string;
}

/** Memory bound of the open repeated-event rows (one per address and window), as for the budgets. */
const MAX_REPEATED = TUNABLES.limits.maxKeys;

interface OpenRow {
  id: number;
  count: number;
  resetAt: number;
  details: Record<string, unknown>;
}

export class AuditLog {
  private readonly repeated = new Map<string, OpenRow>();

  constructor(private readonly ctx: StoreContext) {}

  record(event: AuditEvent, input: AuditInput = {}): void {
    sql(this.ctx, 'INSERT INTO audit_events (at, event, grant_id, subject_index, details_enc) VALUES (?, ?, ?, ?, ?)').run(
      this.ctx.now(),
      event,
      input.grantId ?? null,
      input.subjectId === undefined ? null : subjectIndex(this.ctx, input.subjectId),
      sealJson(this.ctx, input.details ?? {}),
    );
  }

  /**
   * Repeated anonymous failures (per `key`, such as an address, and window) in one row: the first
   * occurrence's details with a `count` and the time of the latest, so a stream of failures adds one
   * row per window, not one per request.
   */
  recordRepeated(event: AuditEvent, key: string, windowMs: number, details: Record<string, unknown>): void {
    const now = this.ctx.now();
    const mapKey = `${event} ${key}`;
    const open = this.repeated.get(mapKey);
    if (open && open.resetAt > now) {
      open.count++;
      sql(this.ctx, 'UPDATE audit_events SET details_enc = ? WHERE id = ?').run(
        sealJson(this.ctx, { ...open.details, count: open.count, lastAt: now }),
        open.id,
      );
      return;
    }
    this.repeated.delete(mapKey);
    const id = Number(
      sql(this.ctx, 'INSERT INTO audit_events (at, event, grant_id, subject_index, details_enc) VALUES (?, ?, NULL, NULL, ?)').run(
        now,
        event,
        sealJson(this.ctx, { ...details, count: 1 }),
      ).lastInsertRowid,
    );
    this.evictRepeated(now);
    this.repeated.set(mapKey, { id, count: 1, resetAt: now + windowMs, details });
  }

  private evictRepeated(now: number): void {
    if (this.repeated.size < MAX_REPEATED) return;
    for (const [key, row] of this.repeated) if (row.resetAt <= now) this.repeated.delete(key);
    for (const key of this.repeated.keys()) {
      if (this.repeated.size < MAX_REPEATED) break;
      this.repeated.delete(key);
    }
  }

  /** One person's events, newest first; `before` is the id to page from. */
  listForSubject(subjectId: string, options: { limit: number; before?: number }): AuditEntry[] {
    const rows = sql<Row>(
      this.ctx,
      'SELECT id, at, event, grant_id, details_enc FROM audit_events WHERE subject_index = ? AND id < ? ORDER BY id DESC LIMIT ?',
    ).all(subjectIndex(this.ctx, subjectId), options.before ?? Number.MAX_SAFE_INTEGER, options.limit);
    return rows.map((row) => this.view(row));
  }

  private view(row: Row): AuditEntry {
    return { id: row.id, at: row.at, event: row.event, grantId: row.grant_id ?? undefined, details: openJson(this.ctx, row.details_enc) };
  }
}
