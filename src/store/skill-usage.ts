/**
 * When the skill was last used through each link, and how often a day: counted in memory per
 * request and written at most every `usageFlushSeconds` (and at shutdown), so the skill guard
 * adds no disk write to a request. A crash loses at most that interval's counts, nothing else.
 * The time is stored encrypted with the grant (`skill_used_enc`); the day's count is one audit
 * row per link and day (`skill_used`, as refreshes are).
 */
import type { AuditLog } from './audit.js';
import { openJson, type StoreContext, sealJson, sql, transaction } from './context.js';

interface Pending {
  subjectId: string;
  count: number;
  lastAt: number;
}

export class SkillUsage {
  /** At most one entry per linked grant: only verified requests with an active token are noted. */
  private pending = new Map<string, Pending>();

  constructor(
    private readonly ctx: StoreContext,
    private readonly audit: AuditLog,
  ) {}

  note(grantId: string, subjectId: string): void {
    const now = this.ctx.now();
    const entry = this.pending.get(grantId);
    if (entry) {
      entry.count++;
      entry.lastAt = now;
    } else {
      this.pending.set(grantId, { subjectId, count: 1, lastAt: now });
    }
  }

  /** The time not yet written, for pages that show "last used by Alexa". */
  unwritten(grantId: string): number | undefined {
    return this.pending.get(grantId)?.lastAt;
  }

  /** Writes what was counted, in one transaction. */
  flush(): void {
    if (this.pending.size === 0) return;
    const pending = this.pending;
    this.pending = new Map();
    transaction(this.ctx, () => {
      for (const [grantId, entry] of pending) {
        const changed = sql(this.ctx, 'UPDATE grants SET skill_used_enc = ? WHERE id = ?').run(sealJson(this.ctx, { at: entry.lastAt }), grantId).changes;
        if (changed === 1) this.audit.recordDaily('skill_used', { grantId, subjectId: entry.subjectId, details: {} }, entry.count);
      }
    });
  }
}

/** The decrypted `skill_used_enc` of a grant row. */
export function skillUsedAt(ctx: StoreContext, sealed: string | null): number | undefined {
  if (sealed === null) return undefined;
  const at = openJson<{ at?: unknown }>(ctx, sealed).at;
  return typeof at === 'number' ? at : undefined;
}
