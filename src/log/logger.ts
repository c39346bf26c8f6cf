/**
 * Levelled logging, the way Home Assistant add-ons name levels. Every message and every context
 * field passes through `redact` first, at every level: there is no "unsafe" level.
 */
import { LOG_LEVELS, type LogLevel } from '../config/options.js';
import { redact, redactText } from './redact.js';

export type { LogLevel };
export type LogContext = Record<string, unknown>;
export type LogSink = (level: LogLevel, line: string) => void;

const RANK: Record<LogLevel, number> = Object.fromEntries(LOG_LEVELS.map((level, index) => [level, index])) as Record<LogLevel, number>;

const defaultSink: LogSink = (level, line) => {
  (RANK[level] >= RANK.warning ? process.stderr : process.stdout).write(`${line}\n`);
};

export class Logger {
  constructor(
    private level: LogLevel = 'info',
    private readonly sink: LogSink = defaultSink,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  setLevel(level: LogLevel): void {
    this.level = level;
  }

  enabled(level: LogLevel): boolean {
    return RANK[level] >= RANK[this.level];
  }

  log(level: LogLevel, message: string, context?: LogContext): void {
    if (!this.enabled(level)) return;
    let line = `${this.clock().toISOString()} ${level.toUpperCase().padEnd(7)} ${redactText(message)}`;
    if (context && Object.keys(context).length > 0) line += ` ${JSON.stringify(redact(context))}`;
    this.sink(level, line);
  }

  trace(message: string, context?: LogContext): void {
    this.log('trace', message, context);
  }
  debug(message: string, context?: LogContext): void {
    this.log('debug', message, context);
  }
  info(message: string, context?: LogContext): void {
    this.log('info', message, context);
  }
  notice(message: string, context?: LogContext): void {
    this.log('notice', message, context);
  }
  warning(message: string, context?: LogContext): void {
    this.log('warning', message, context);
  }
  error(message: string, context?: LogContext): void {
    this.log('error', message, context);
  }
  fatal(message: string, context?: LogContext): void {
    this.log('fatal', message, context);
  }
}
