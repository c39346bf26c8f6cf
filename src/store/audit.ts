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
  /** Events this row stands for (a summary), in clear: a count needs no secrecy (migration 8). */
  count: number | null;
}

/** The local calendar day of a time, as the Activity page shows it (Supervisor sets TZ). */
function dayOf(ms: number): string {
  const date = new Date(ms);
  return `${date.getFullYear()}-${date.getMonth() + 1}-${date.getDate()}`;
}

const HOUR_MS = 3_600_000;

interface DailyRow {
  id: number;
  day: string;
}

/** Memory bound of the open daily rows (one per grant and event). */
const MAX_DAILY = TUNABLES.limits.maxKeys;

export class AuditLog {
  /** This hour's summary row per anonymous event. */
  private readonly hourly = new Map<AuditEvent, { id: number; hour: number }>();
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
   * Anonymous events (link requests nobody has approved yet, failed client logins) as one row per
   * event and hour, in total: the first occurrence's details, encrypted once, and a count. What a
   * stranger can make the database keep is 24 rows a day per event, however many addresses send.
   */
  recordAnonymous(event: AuditEvent, details: Record<string, unknown>): void {
    const now = this.ctx.now();
    const hour = Math.floor(now / HOUR_MS);
    let open = this.hourly.get(event);
    if (open?.hour !== hour) {
      // After a restart this hour's row may exist already.
      const found = sql<{ id: number }>(
        this.ctx,
        'SELECT id FROM audit_events WHERE event = ? AND subject_index IS NULL AND count IS NOT NULL AND at >= ? ORDER BY id DESC LIMIT 1',
      ).get(event, hour * HOUR_MS);
      open = found ? { id: found.id, hour } : undefined;
    }
    if (open) {
      sql(this.ctx, 'UPDATE audit_events SET count = count + 1 WHERE id = ?').run(open.id);
    } else {
      const id = Number(
        sql(this.ctx, 'INSERT INTO audit_events (at, event, grant_id, subject_index, details_enc, count) VALUES (?, ?, NULL, NULL, ?, 1)').run(
          now,
          event,
          sealJson(this.ctx, details),
        ).lastInsertRowid,
      );
      open = { id, hour };
    }
    this.hourly.set(event, open);
  }

  /**
   * Routine events (a refresh, uses of the skill) summarised: one row per grant and local day, the
   * day's first details (encrypted once) and a count in clear, so a routine event is an UPDATE of
   * one integer; `times` events at once (counted elsewhere). Security events stay one row each.
   */
  recordDaily(event: AuditEvent, input: { grantId: string; subjectId: string; details: Record<string, unknown> }, times = 1): void {
    const now = this.ctx.now();
    const day = dayOf(now);
    const key = `${event} ${input.grantId}`;
    let open = this.daily.get(key);
    if (open?.day !== day) open = this.findDaily(event, input, day);
    if (open) {
      sql(this.ctx, 'UPDATE audit_events SET at = ?, count = coalesce(count, 1) + ? WHERE id = ?').run(now, times, open.id);
    } else {
      const id = Number(
        sql(this.ctx, 'INSERT INTO audit_events (at, event, grant_id, subject_index, details_enc, count) VALUES (?, ?, ?, ?, ?, ?)').run(
          now,
          event,
          input.grantId,
          subjectIndex(this.ctx, input.subjectId),
          sealJson(this.ctx, input.details),
          times,
        ).lastInsertRowid,
      );
      open = { id, day };
    }
    this.daily.delete(key);
    if (this.daily.size >= MAX_DAILY) this.daily.delete(this.daily.keys().next().value!);
    this.daily.set(key, open);
  }

  /** After a restart: today's summary row of the grant, if there is one (the subject's index bounds the scan). */
  private findDaily(event: AuditEvent, input: { grantId: string; subjectId: string }, day: string): DailyRow | undefined {
    const start = new Date(this.ctx.now());
    start.setHours(0, 0, 0, 0);
    const row = sql<{ id: number; at: number }>(
      this.ctx,
      'SELECT id, at FROM audit_events WHERE subject_index = ? AND grant_id = ? AND event = ? AND at >= ? ORDER BY id DESC LIMIT 1',
    ).get(subjectIndex(this.ctx, input.subjectId), input.grantId, event, start.getTime());
    if (!row || dayOf(row.at) !== day) return undefined;
    return { id: row.id, day };
  }

  /** One person's events, newest first; `before` is the id to page from; `exclude`: events left out. */
  listForSubject(subjectId: string, options: { limit: number; before?: number; exclude?: readonly AuditEvent[] }): AuditEntry[] {
    const exclude = options.exclude ?? [];
    const rows = sql<Row>(
      this.ctx,
      `SELECT id, at, event, grant_id, details_enc, count FROM audit_events
      WHERE subject_index = ? AND id < ? AND event NOT IN (${exclude.map(() => '?').join(', ')}) ORDER BY id DESC LIMIT ?`,
    ).all(subjectIndex(this.ctx, subjectId), options.before ?? Number.MAX_SAFE_INTEGER, ...exclude, options.limit);
    return rows.map((row) => this.view(row));
  }

  private view(row: Row): AuditEntry {
    const details = openJson<Record<string, unknown>>(this.ctx, row.details_enc);
    // Rows of before migration 8 kept their count in the details.
    return {
      id: row.id,
      at: row.at,
      event: row.event,
      grantId: row.grant_id ?? undefined,
      details: row.count === null ? details : { ...details, count: row.count },
    };
  }
}
