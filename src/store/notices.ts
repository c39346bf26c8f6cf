/** Panel notices: whether one is active, and who has dismissed it. */
import { type StoreContext, sql, subjectIndex } from './context.js';
import { RELINK_NOTICE } from './database.js';

export type Notice = 'relink';

const META_ROW: Record<Notice, string> = { relink: RELINK_NOTICE };

export class Notices {
  constructor(private readonly ctx: StoreContext) {}

  /** Active notices this Home Assistant user has not dismissed. */
  forSubject(subjectId: string): Notice[] {
    return (Object.keys(META_ROW) as Notice[]).filter((notice) => {
      const active = sql(this.ctx, 'SELECT 1 FROM meta WHERE name = ?').get(META_ROW[notice]);
      const dismissed = sql(this.ctx, 'SELECT 1 FROM notice_dismissals WHERE notice = ? AND subject_index = ?').get(notice, subjectIndex(this.ctx, subjectId));
      return active !== undefined && dismissed === undefined;
    });
  }

  dismiss(notice: Notice, subjectId: string): void {
    sql(this.ctx, 'INSERT OR IGNORE INTO notice_dismissals (notice, subject_index, dismissed_at) VALUES (?, ?, ?)').run(
      notice,
      subjectIndex(this.ctx, subjectId),
      this.ctx.now(),
    );
  }
}
