// Logging: JSON lines to rotating files, human-readable lines to stderr.
// Never stdout: in stdio mode stdout carries JSON-RPC only, and winston's Console transport
// writes to stdout for every level not listed in `stderrLevels`.
import fs from 'node:fs';
import path from 'node:path';
import winston from 'winston';

export type Logger = winston.Logger;

export interface LoggerOptions {
  level: string;
  /** Directory for error.log and combined.log; no files when undefined. */
  logPath?: string;
  /** Console lines on stderr (off for quiet CLI commands and tests). */
  console?: boolean;
}

const ALL_LEVELS = Object.keys(winston.config.npm.levels);
const MAX_LOG_BYTES = 10 * 1024 * 1024;

export function createLogger(opts: LoggerOptions): Logger {
  const transports: winston.transport[] = [];
  if (opts.console !== false) {
    transports.push(
      new winston.transports.Console({
        stderrLevels: ALL_LEVELS,
        format: winston.format.combine(
          winston.format.timestamp(),
          winston.format.printf(({ timestamp, level, message, ...rest }) => {
            const extra = Object.keys(rest).length ? ' ' + JSON.stringify(rest) : '';
            return `${timestamp} brain ${level}: ${message}${extra}`;
          }),
        ),
      }),
    );
  }
  if (opts.logPath) {
    try {
      fs.mkdirSync(opts.logPath, { recursive: true, mode: 0o750 });
      const common = { maxsize: MAX_LOG_BYTES, maxFiles: 5, tailable: true };
      transports.push(
        new winston.transports.File({ ...common, filename: path.join(opts.logPath, 'error.log'), level: 'error' }),
        new winston.transports.File({ ...common, filename: path.join(opts.logPath, 'combined.log') }),
      );
    } catch (err) {
      // A read-only or missing log directory must not stop the memory server; say so on stderr.
      process.stderr.write(`brain: cannot write logs to ${opts.logPath}: ${(err as Error).message}\n`);
    }
  }
  if (transports.length === 0) transports.push(new winston.transports.Console({ stderrLevels: ALL_LEVELS, silent: true }));
  return winston.createLogger({
    level: opts.level,
    format: winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: true }), winston.format.json()),
    defaultMeta: { pid: process.pid },
    transports,
  });
}

/** A logger that drops everything: for unit tests and one-shot CLI commands. */
export function silentLogger(): Logger {
  return winston.createLogger({ transports: [new winston.transports.Console({ silent: true, stderrLevels: ALL_LEVELS })] });
}
