// Who has the database open, for commands that must not run under a live brain (restore). Two
// independent answers: on Linux, /proc/<pid>/fd names every process of this user (all of them
// as root) with the file or its -wal/-shm open, so the refusal can say which; and SQLite's own
// locks, which see connections of every user on every platform: in WAL mode each connection holds
// a shared lock on the file for as long as it is open, so an exclusive lock is granted only when
// no other connection exists.
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { headerProblem, isBusy, isCorruption } from '../core/db.js';

export interface FileUser {
  pid: number;
  /** Its command line, shortened. */
  command: string;
}

const PROC = '/proc';

function commandOf(pid: string): string {
  try {
    const words = fs.readFileSync(`${PROC}/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const text = words.map((w) => w.split('/').pop()!).join(' ');
    return text.length > 60 ? `${text.slice(0, 57)}...` : text || '?';
  } catch {
    return '?';
  }
}

/**
 * Processes other than this one that have `file` (or its -wal/-shm) open, found through /proc
 * (Linux). Empty where there is no /proc; processes of other users are invisible unless root.
 * Costs one stat per open file descriptor on the host (about 20 ms for 10,000).
 */
export function usersOf(file: string): FileUser[] {
  const targets = new Set<string>();
  for (const suffix of ['', '-wal', '-shm']) {
    try {
      const st = fs.statSync(file + suffix);
      targets.add(`${st.dev}:${st.ino}`);
    } catch {
      /* not there */
    }
  }
  let pids: string[];
  try {
    pids = fs.readdirSync(PROC).filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid);
  } catch {
    return [];
  }
  const users: FileUser[] = [];
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`${PROC}/${pid}/fd`);
    } catch {
      continue; // gone, or another user's
    }
    for (const fd of fds) {
      try {
        const st = fs.statSync(`${PROC}/${pid}/fd/${fd}`);
        if (targets.has(`${st.dev}:${st.ino}`)) {
          users.push({ pid: Number(pid), command: commandOf(pid) });
          break;
        }
      } catch {
        /* closed meanwhile */
      }
    }
  }
  return users;
}

export interface SwapLock {
  release(): void;
}

/**
 * Takes SQLite's exclusive lock on the database at `file` and holds it, so that no connection
 * exists while the caller swaps files, and a process starting meanwhile waits (its open then
 * notices that the path names another file, see openDatabase). In exclusive locking mode the
 * first read asks for the lock, which SQLite grants only when no other connection is open, and
 * changes nothing in the file. The WAL is then folded in, so the copy that is kept is one whole
 * file. A damaged file cannot be locked this way; then the /proc answer (usersOf) stands alone.
 */
export function lockForSwap(file: string, waitMs = 2_000): SwapLock {
  const none: SwapLock = { release() {} };
  if (headerProblem(file)) return none;
  const before = fs.statSync(file);
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { fileMustExist: true, timeout: waitMs });
    db.pragma('locking_mode = EXCLUSIVE');
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    const now = fs.statSync(file);
    if (now.ino !== before.ino || now.dev !== before.dev) throw new Error(`${file} was replaced while this restore waited for it (is another restore running?); the database was not changed`);
    try {
      db.pragma('wal_checkpoint(TRUNCATE)');
    } catch (err) {
      // A damaged file keeps its WAL beside it (the caller moves both).
      if (!isCorruption(err)) throw err;
    }
    const locked = db;
    return { release: () => locked.close() };
  } catch (err) {
    db?.close();
    if (isBusy(err)) {
      throw new Error(
        `${file} is open in another process (SQLite reports its lock; it may belong to another user); end every brain session that uses it and run the restore again. The database was not changed.`,
      );
    }
    if (isCorruption(err)) return none;
    throw err;
  }
}
