/** Panel notices: whether one is active, and who has dismissed it. */
import { type StoreContext, sql, subjectIndex } from './context.js';

export type Notice = 'relink';

/**
 * Set (once, encrypted: when) when Alexa presented a refresh token this server could not have
 * issued: evidence that the skill was linked with the earlier server, whose links must be made again.
 */
export const EARLIER_SERVER_SEEN = 'notice:relink';

export interface NoticeOptions {
  /** The `relink_notice` option: the admin says there are links of the earlier server. */
  relink: boolean;
}

export class Notices {
  /** The row exists: no query once it was seen (it is only ever added; migration 9 runs before this). */
  private earlierServerSeen = false;

  constructor(private readonly ctx: StoreContext) {}

  /**
   * Active notices this Home Assistant user has not dismissed. The relink notice is active when
   * the option says so or the earlier server was seen (never merely because the install is new),
   * and ends for a person as soon as they have a link made with this server: they have relinked.
   */
  forSubject(subjectId: string, options: NoticeOptions): Notice[] {
    const index = subjectIndex(this.ctx, subjectId);
    if (!options.relink && !this.seen()) return [];
    if (sql(this.ctx, 'SELECT 1 FROM grants WHERE subject_index = ? LIMIT 1').get(index) !== undefined) return [];
    const dismissed = sql(this.ctx, 'SELECT 1 FROM notice_dismissals WHERE notice = ? AND subject_index = ?').get('relink', index);
    return dismissed === undefined ? ['relink'] : [];
  }

  /**
   * Notes that a token of the earlier server was presented; true the first time. Only an
   * authenticated client (Alexa, with the client secret) gets this far, and all it can cause is
   * one meta row and a notice that people can dismiss: nothing is granted or revoked by it.
   */
  noteEarlierServer(): boolean {
    if (this.seen()) return false;
    // Not cached here: the write may yet roll back with its group; the next look finds it.
    sql(this.ctx, 'INSERT OR IGNORE INTO meta (name, value) VALUES (?, ?)').run(EARLIER_SERVER_SEEN, this.ctx.keys.encrypt(String(this.ctx.now())));
    return true;
  }

  private seen(): boolean {
    this.earlierServerSeen ||= sql(this.ctx, 'SELECT 1 FROM meta WHERE name = ?').get(EARLIER_SERVER_SEEN) !== undefined;
    return this.earlierServerSeen;
  }

  dismiss(notice: Notice, subjectId: string): void {
    sql(this.ctx, 'INSERT OR IGNORE INTO notice_dismissals (notice, subject_index, dismissed_at) VALUES (?, ?, ?)').run(
      notice,
      subjectIndex(this.ctx, subjectId),
      this.ctx.now(),
    );
  }
}
