// The full quick_check of a database too large to check before start-up (see
// QUICK_CHECK_AT_OPEN_BYTES in db.ts): a worker thread with its own read-only connection reads
// every page (about 6 s for 1.4 GB) while brain serves. When it finds damage, the serving
// connection stops writing (PRAGMA query_only) so nothing more goes into a damaged file, and the
// damage is reported: in the log at once, and by the database health check from then on.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { DatabaseDamagedError, wasCheckedAtOpen, type Db } from './db.js';

// CommonJS in a string: the same code runs from dist/ and from the TypeScript sources under test.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
let result;
try {
  const db = new Database(workerData.file, { readonly: true, fileMustExist: true, timeout: 15000 });
  try {
    result = { detail: db.pragma('quick_check(10)').map((r) => r.quick_check).join('; ') };
  } finally {
    db.close();
  }
} catch (err) {
  result = { code: err && err.code, detail: String(err && err.message) };
}
parentPort.postMessage(result);
`;

const damage = new WeakMap<Db, DatabaseDamagedError>();

/** The damage found in the file `db` has open since start-up, if any. */
export function damageOf(db: Db): DatabaseDamagedError | undefined {
  return damage.get(db);
}

/** Marks `db` damaged: it refuses every write from now on (reads of the sound parts still work). */
export function refuseWrites(db: Db, err: DatabaseDamagedError): void {
  damage.set(db, err);
  if (db.open) db.pragma('query_only = ON');
}

export interface IntegrityWatch {
  stop(): void;
  /** Resolves when the check has finished (or was not needed): for tests and one-shot callers. */
  done: Promise<void>;
}

export interface WatchOptions {
  /** Told once when the check finds damage (the connection already refuses writes). */
  onDamage(err: DatabaseDamagedError): void;
  /** Told when the check could not run (an I/O error, the file moved away). */
  onSkipped?(reason: string): void;
  /** Waits this long first: starting a thread costs tens of milliseconds that start-up should not share. */
  delayMs?: number;
  /** Whether a check is due (default: always). A 1.4 GB file costs 6 s of CPU or more per check. */
  due?: () => boolean;
  /** Told when the file was read through and found sound (to remember when). */
  onSound?: () => void;
}

/** Starts the background quick_check for a file that was not fully checked at open. */
export function watchIntegrity(db: Db, opts: WatchOptions): IntegrityWatch {
  let settle!: () => void;
  const done = new Promise<void>((resolve) => (settle = resolve));
  if (db.memory || wasCheckedAtOpen(db) || opts.due?.() === false) {
    settle();
    return { stop() {}, done };
  }
  const inode = fs.statSync(db.name).ino;
  let worker: Worker | undefined;
  let stopped = false;
  const timer = setTimeout(start, opts.delayMs ?? 500);
  timer.unref();

  function start() {
    if (stopped || !db.open) return settle();
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    try {
      worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, file: db.name } });
    } catch (err) {
      opts.onSkipped?.(`the background integrity check could not start: ${String(err)}`);
      return settle();
    }
    // A check in progress never keeps the process alive: a one-shot command or a closing session
    // exits, and the thread with it.
    worker.unref();
    worker.on('message', (r: { code?: string; detail: string }) => {
      worker = undefined;
      settle();
      if (stopped || !db.open) return;
      let now: number | undefined;
      try {
        now = fs.statSync(db.name).ino;
      } catch {
        /* moved away: the database health check reports that */
      }
      if (now !== inode) return opts.onSkipped?.('the database file was replaced while it was being checked');
      const corrupt = r.code === undefined ? r.detail !== 'ok' : r.code.startsWith('SQLITE_CORRUPT') || r.code === 'SQLITE_NOTADB';
      if (!corrupt) {
        if (r.code !== undefined) opts.onSkipped?.(`the background integrity check failed to run: ${r.detail}`);
        else {
          try {
            opts.onSound?.();
          } catch (err) {
            opts.onSkipped?.(`the integrity check passed but could not be recorded: ${String(err)}`);
          }
        }
        return;
      }
      const err = new DatabaseDamagedError(db.name, r.code === undefined ? `quick_check: ${r.detail}` : r.detail);
      refuseWrites(db, err);
      opts.onDamage(err);
    });
    worker.on('error', (err) => {
      worker = undefined;
      settle();
      opts.onSkipped?.(`the background integrity check stopped: ${String(err)}`);
    });
  }

  return {
    done,
    stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      void worker?.terminate();
      settle();
    },
  };
}
