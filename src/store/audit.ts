/**
 * The audit log: links, denials, refreshes, reuse, revocations, failed client authentication.
 * The event name and time are in clear (for counting and pruning); who, from where and any
 * detail are encrypted.
 */

import { TUNABLES } from '../config/tunables.js';
import { makeRoom } from '../util/bounded.js';
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
  'skill_used',
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

/** The local calendar day of a time, as the Activity page shows it (Supervisor sets TZ). */
function dayOf(ms: number): string {
  const date = new Date(ms);
  return `${date.getFullYear()}-${date.getMonth() + 1}-${date.getDate()}`;
}

interface DailyRow {
  id: number;
  day: string;
  count: number;
}

export class AuditLog {
  private readonly repeated = new Map<string, OpenRow>();
  /** Today's summary row per grant, so a routine event costs an UPDATE, not a look-up. */
  private readonly daily = new Map<string, DailyRow>();

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
    makeRoom(this.repeated, MAX_REPEATED, now);
    this.repeated.set(mapKey, { id, count: 1, resetAt: now + windowMs, details });
  }

  /**
   * Routine events (a refresh) summarised: one row per grant and local day with a `count`, the
   * latest details and time; `times` events at once (counted elsewhere). Security events stay one
   * row each (`record`).
   */
  recordDaily(event: AuditEvent, input: { grantId: string; subjectId: string; details: Record<string, unknown> }, times = 1): void {
    const now = this.ctx.now();
    const day = dayOf(now);
    const key = `${event} ${input.grantId}`;
    let open = this.daily.get(key);
    if (open?.day !== day) open = this.findDaily(event, input, day);
    if (open) {
      open.count += times;
      sql(this.ctx, 'UPDATE audit_events SET at = ?, details_enc = ? WHERE id = ?').run(
        now,
        sealJson(this.ctx, { ...input.details, count: open.count }),
        open.id,
      );
    } else {
      const id = Number(
        sql(this.ctx, 'INSERT INTO audit_events (at, event, grant_id, subject_index, details_enc) VALUES (?, ?, ?, ?, ?)').run(
          now,
          event,
          input.grantId,
          subjectIndex(this.ctx, input.subjectId),
          sealJson(this.ctx, { ...input.details, count: times }),
        ).lastInsertRowid,
      );
      open = { id, day, count: times };
    }
    this.daily.delete(key);
    if (this.daily.size >= MAX_REPEATED) this.daily.delete(this.daily.keys().next().value!);
    this.daily.set(key, open);
  }

  /** After a restart: today's summary row of the grant, if there is one (the subject's index bounds the scan). */
  private findDaily(event: AuditEvent, input: { grantId: string; subjectId: string }, day: string): DailyRow | undefined {
    const start = new Date(this.ctx.now());
    start.setHours(0, 0, 0, 0);
    const row = sql<{ id: number; at: number; details_enc: string }>(
      this.ctx,
      'SELECT id, at, details_enc FROM audit_events WHERE subject_index = ? AND grant_id = ? AND event = ? AND at >= ? ORDER BY id DESC LIMIT 1',
    ).get(subjectIndex(this.ctx, input.subjectId), input.grantId, event, start.getTime());
    if (!row || dayOf(row.at) !== day) return undefined;
    const count = openJson<{ count?: unknown }>(this.ctx, row.details_enc).count;
    return { id: row.id, day, count: typeof count === 'number' ? count : 1 };
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
