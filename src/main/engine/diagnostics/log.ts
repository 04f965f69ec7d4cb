import { appendFileSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { privateFile } from '../store/stateDir';
import { dirname } from 'node:path';
import { bigintReplacer } from '../../../shared/json';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type Logger = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void;

function line(level: LogLevel, message: string, fields?: Record<string, unknown>): string {
  return `${JSON.stringify({ time: new Date().toISOString(), level, message, ...fields }, bigintReplacer)}\n`;
}

/** Structured log lines (JSON, one per line) to a stream: the daemon's stderr when no log file is set. */
export function streamLogger(stream: { write(s: string): unknown }): Logger {
  return (level, message, fields) => {
    stream.write(line(level, message, fields));
  };
}

/**
 * Structured log lines to a file, rotated by size: `ferry.log` → `ferry.log.1` → … → `ferry.log.N`.
 * Configuration values never reach the log; only paths, counts and errors.
 */
export function fileLogger(path: string, opts: { maxBytes?: number; keep?: number } = {}): Logger {
  const maxBytes = opts.maxBytes ?? 10 * 1024 * 1024;
  const keep = opts.keep ?? 3;
  mkdirSync(dirname(path), { recursive: true });
  // Log lines name files and folders: the owner's only, also a log an earlier version left readable.
  privateFile(path);
  let size = 0;
  try {
    size = statSync(path).size;
  } catch {
    size = 0;
  }
  return (level, message, fields) => {
    const text = line(level, message, fields);
    if (size + text.length > maxBytes && size > 0) {
      for (let i = keep - 1; i >= 1; i--) {
        try {
          renameSync(`${path}.${i}`, `${path}.${i + 1}`);
        } catch {
          // that generation does not exist yet
        }
      }
      renameSync(path, `${path}.1`);
      size = 0;
    }
    appendFileSync(path, text, { mode: 0o600 });
    size += text.length;
  };
}
