/**
 * Refused skill requests, counted per kind and logged as one line per kind and interval (an hour):
 * the admin learns that strangers knock, or that the skill id is wrong, without a line per request.
 * Backend failures are counted here too: they are what the admin must fix.
 */
import { TUNABLES } from '../config/tunables.js';
import type { Logger } from '../log/logger.js';
import type { RefusalKind } from './verify.js';

export type CountedKind = RefusalKind | 'not_linked' | 'backend_failed';

const MEANING: Record<CountedKind, string> = {
  no_signature: 'without a signature (not from Alexa)',
  sha1_only: 'signed with SHA-1 only',
  cert_url: 'naming a certificate URL that is not Amazon’s',
  bad_envelope: 'whose body is not an Alexa request',
  timestamp: 'with a timestamp more than 150 s off (replayed, or this machine’s clock is wrong)',
  skill_id: 'for another skill (check the option "alexa_skill_id")',
  cert_invalid: 'with a certificate chain that is not Amazon’s or not valid now',
  cert_unavailable: 'whose certificate chain could not be downloaded',
  bad_signature: 'whose signature does not match',
  body_too_large: 'with a body over the size limit',
  not_linked: 'from people who have not linked Alexa (answered with a link card)',
  backend_failed: 'that the skill backend did not answer in time or sensibly (check "skill_backend_url")',
};

export class RefusalLog {
  private counts = new Map<CountedKind, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly logger: Logger,
    intervalMs: number = TUNABLES.skill.refusalLogIntervalMs,
  ) {
    this.timer = setInterval(() => this.flush(), intervalMs);
    this.timer.unref();
  }

  note(kind: CountedKind): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
  }

  /** One line per kind counted since the last flush. */
  flush(): void {
    const counts = this.counts;
    this.counts = new Map();
    for (const [kind, count] of counts) {
      const line = `Skill endpoint: ${count} request${count === 1 ? '' : 's'} ${MEANING[kind]} since the last report`;
      if (kind === 'not_linked') this.logger.info(line, { kind, count });
      else this.logger.warning(line, { kind, count });
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
  }
}
