// How one-shot commands talk: results on stdout (text for people, or JSON with --json), every
// message about the run on stderr, and exit codes that scripts can trust. Never used in stdio
// mode, where stdout is the JSON-RPC channel.
import { NO_DAEMON } from '../daemon/connect.js';

/** The exit codes, as `brain --help` and the README list them. */
export const EXIT = {
  ok: 0,
  /** A check failed (check, doctor, maintain, an import with bad lines) or an operation failed. */
  failed: 1,
  /** The command line or a BRAIN_* setting is wrong. */
  usage: 2,
  /** The database cannot be used: missing, unreadable, damaged, or made by a newer brain. */
  database: 3,
  /** brain connect: no brain serve answers on the socket (EX_UNAVAILABLE). */
  noDaemon: NO_DAEMON,
} as const;

export const EXIT_CODE_HELP: readonly (readonly [string, string])[] = [
  [String(EXIT.ok), 'done; the check passed'],
  [String(EXIT.failed), 'a check or an operation failed (the message says which)'],
  [String(EXIT.usage), 'unknown command or option, missing argument, or a bad BRAIN_* setting'],
  [String(EXIT.database), 'the database cannot be used: missing, unreadable, damaged, or made by a newer brain'],
  [String(EXIT.noDaemon), 'brain connect: no brain serve answers on the socket'],
];

/** A failure to report as one sentence on stderr, with an exit code. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly code: number = EXIT.failed,
  ) {
    super(message);
  }
}

export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}

export function printJson(value: unknown): void {
  print(JSON.stringify(value, null, 2));
}

/** A line about the run (not its result): stderr, so a pipe of the result stays clean. */
export function note(text: string): void {
  process.stderr.write(`brain: ${text}\n`);
}

/** 1.2 MB, 640 KB, 12 B (powers of 1024, as du -h). */
export function bytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

/** 12,345 */
export const count = (n: number) => n.toLocaleString('en-US');

/** "1 memory", "3 memories" */
export const plural = (n: number, one: string, many = `${one}s`) => `${count(n)} ${n === 1 ? one : many}`;

export function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** `word 3, other 1` from {word: 3, other: 1}; `none` when empty. */
export function tally(counts: Record<string, number>): string {
  const entries = Object.entries(counts);
  return entries.length ? entries.map(([k, v]) => `${k} ${count(v)}`).join(', ') : 'none';
}
