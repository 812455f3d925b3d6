// Embedded clients use a running daemon automatically. `brain serve` writes a small record beside
// its socket (BRAIN_SOCKET_PATH + ".json": which database file it serves, with which tools); an
// embedded `brain` reads it at start and, when that daemon answers and serves the same file with
// the same tools, bridges to it (as `brain connect` does) instead of opening the database itself.
// Every client then shares one process, one recall index and one writer: three Claude windows on a
// 100k-memory store cost one brain plus three small bridges, not three brains.
//
// This module is loaded before anything heavy: a bridged process never loads the app.
import fs from 'node:fs';
import path from 'node:path';
import { socketIsLive } from './unix-socket.js';

/** What `brain serve` says about itself beside its socket. */
export interface DaemonRecord {
  pid: number;
  version: string;
  /** The database file, as configured and as a device/inode pair (which survives symlinks and bind mounts). */
  db: string;
  dev: number;
  ino: number;
  /** Capability groups offered (BRAIN_TOOLS), in their canonical order. */
  tools: string[];
}

export function recordPath(socketPath: string): string {
  return `${socketPath}.json`;
}

/** Written once the socket listens; replaced atomically so a reader never sees half of it. */
export function writeDaemonRecord(socketPath: string, record: Omit<DaemonRecord, 'dev' | 'ino'>): void {
  const st = fs.statSync(record.db);
  const file = recordPath(socketPath);
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}`);
  // 0644: a client that may connect (group of the socket) must be able to read it.
  fs.writeFileSync(tmp, JSON.stringify({ ...record, dev: st.dev, ino: st.ino } satisfies DaemonRecord) + '\n', { mode: 0o644 });
  fs.renameSync(tmp, file);
}

export function removeDaemonRecord(socketPath: string, pid = process.pid): void {
  // Only our own: a second daemon that failed to start must not remove the first one's record.
  if (readRecord(socketPath)?.pid === pid) fs.rmSync(recordPath(socketPath), { force: true });
}

function readRecord(socketPath: string): DaemonRecord | undefined {
  try {
    const r = JSON.parse(fs.readFileSync(recordPath(socketPath), 'utf8')) as DaemonRecord;
    return typeof r?.pid === 'number' && typeof r.dev === 'number' && typeof r.ino === 'number' && Array.isArray(r.tools) ? r : undefined;
  } catch {
    return undefined;
  }
}

export type DaemonChoice =
  /** A daemon serves this database: bridge to its socket. */
  | { use: true; socketPath: string; pid: number }
  /** Run embedded; `why` is set when a daemon runs but is not used (worth a line on stderr). */
  | { use: false; why?: string };

export interface DiscoverOptions {
  socketPath: string;
  dbPath: string;
  tools: readonly string[];
  /** BRAIN_USE_DAEMON: 'auto' (default) or 'never'. */
  mode: 'auto' | 'never';
}

/** Whether this embedded start should bridge to a running `brain serve` on the same database. */
export async function chooseDaemon(opts: DiscoverOptions): Promise<DaemonChoice> {
  if (opts.mode === 'never') return { use: false };
  const record = readRecord(opts.socketPath);
  if (!record) return { use: false };
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(opts.dbPath);
  } catch (err) {
    // A system service's file this user may not look at (/var/lib/brain is the service's own):
    // the same path is the same file. No file at all: whatever the daemon serves, it is not this.
    const hidden = (err as NodeJS.ErrnoException).code === 'EACCES' && path.resolve(record.db) === path.resolve(opts.dbPath);
    if (!hidden) return { use: false, why: `the brain serve on ${opts.socketPath} serves ${record.db}, not ${opts.dbPath}` };
  }
  if (st && (st.dev !== record.dev || st.ino !== record.ino)) {
    return { use: false, why: `the brain serve on ${opts.socketPath} serves ${record.db}, not ${opts.dbPath}` };
  }
  if (record.tools.join(',') !== opts.tools.join(',')) {
    return {
      use: false,
      why: `the brain serve on ${opts.socketPath} offers the tools ${record.tools.join(',')}, this client asks for ${opts.tools.join(',')} (BRAIN_TOOLS)`,
    };
  }
  // A record left by a daemon that was killed: its socket no longer answers.
  if (!(await socketIsLive(opts.socketPath, 500))) return { use: false };
  return { use: true, socketPath: opts.socketPath, pid: record.pid };
}
