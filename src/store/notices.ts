/** Panel notices: whether one is active, and who has dismissed it. */
import { type StoreContext, sql, subjectIndex } from './context.js';
import { RELINK_NOTICE } from './database.js';

export type Notice = 'relink';

const META_ROW: Record<Notice, string> = { relink: RELINK_NOTICE };

export class Notices {
  constructor(private readonly ctx: StoreContext) {}

  /**
   * Active notices this Home Assistant user has not dismissed. The relink notice is set on every
   * new database (an install cannot tell whether the earlier server, which kept nothing, was used),
   * so it ends for a person as soon as they have a link made with this server: they have relinked.
   */
  forSubject(subjectId: string): Notice[] {
    const linked = sql(this.ctx, 'SELECT 1 FROM grants WHERE subject_index = ? LIMIT 1').get(subjectIndex(this.ctx, subjectId)) !== undefined;
    return (Object.keys(META_ROW) as Notice[]).filter((notice) => {
      if (notice === 'relink' && linked) return false;
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
