/**
 * Storage that cannot write right now (disk full, read-only, I/O error, locked): both listeners
 * answer 503 with Retry-After and log one line naming the real cause; never a 500, and never an
 * answer that makes Alexa unlink.
 */
import { accessSync, constants } from 'node:fs';

/** The SQLite code of a storage fault, or undefined for any other error. */
export function storageFault(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^SQLITE_(FULL|READONLY|IOERR|CANTOPEN|BUSY|LOCKED|NOMEM|PROTOCOL)/.test(code) ? code : undefined;
}

/**
 * The log line for a storage fault. A write refused on an open connection arrives as an I/O error
 * (SQLITE_IOERR_WRITE/FSYNC), not SQLITE_READONLY, so the folder itself is asked whether it is
 * writable to name the real cause.
 */
export function storageFaultMessage(code: string, dataDir?: string): string {
  const readOnly = 'The data folder is read-only: Alexa Link cannot save tokens. It recovers by itself once the folder is writable.';
  if (code.startsWith('SQLITE_FULL')) return 'The data folder is full: Alexa Link cannot save tokens. Free some space; it recovers by itself.';
  if (code.startsWith('SQLITE_READONLY')) return readOnly;
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return 'The database was busy for too long; the request can be retried.';
  if (code.startsWith('SQLITE_IOERR') && dataDir !== undefined) {
    try {
      accessSync(dataDir, constants.W_OK);
    } catch (error) {
      const errno = (error as NodeJS.ErrnoException).code;
      if (errno === 'EROFS' || errno === 'EPERM' || errno === 'EACCES') return readOnly;
    }
  }
  return `The database could not be read or written (${code}); the request can be retried.`;
}
