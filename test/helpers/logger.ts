/** A logger that keeps its lines in memory, for tests that read what was logged. */
import { Logger, type LogLevel } from '../../src/log/logger.js';

export function memoryLogger(level: LogLevel = 'trace'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: new Logger(level, (_level, line) => lines.push(line)), lines };
}
