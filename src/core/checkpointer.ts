// WAL checkpoints off the request path. SQLite copies the WAL back into the database file when it
// reaches wal_autocheckpoint pages, inside the COMMIT of whichever write crosses the line: that one
// call then waits for about a thousand page copies (measured here: remember's commit p50 0.08 ms,
// p99 5.3 ms, max 125 ms). A worker thread with its own connection runs PASSIVE checkpoints a few
// times a second instead (every 2 s when nothing is written); it never blocks writers or readers,
// and the event loop never waits for it.
//
// A PASSIVE checkpoint cannot reset the WAL while writes keep coming (new frames keep landing past
// the ones it copied), so the serving connection keeps a larger wal_autocheckpoint as a backstop.
// When that fires, the worker has already copied nearly every frame: the in-commit checkpoint only
// copies the last few, and the WAL starts over from its beginning.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Db } from './db.js';
import type { Logger } from './logger.js';

/** WAL pages after which a commit checkpoints inline (about 16 MB of WAL at 4 KB pages). */
export const BACKSTOP_PAGES = 4000;
const INTERVAL_MS = 200;
const START_DELAY_MS = 1000;

// CommonJS in a string: the same code runs from dist/ and from the TypeScript sources under test.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
// fileMustExist: a database moved away meanwhile must not be replaced by an empty one.
const db = new Database(workerData.file, { timeout: 0, fileMustExist: true });
db.pragma('synchronous = NORMAL');
db.pragma('cache_size = -2048');
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
let failures = 0;
// Every intervalMs while there are pages to copy; when there were none, the wait doubles up to ten
// times that, so an idle brain does not wake up five times a second for nothing.
let delay = workerData.intervalMs;
let lastLog = -1;
let timer;
function tick() {
  try {
    const r = checkpoint.get();
    failures = 0;
    // Written to since the last look (the WAL's length changed), or not all copied yet: keep up.
    const active = r.log !== lastLog || r.checkpointed < r.log;
    lastLog = r.log;
    delay = active ? workerData.intervalMs : Math.min(delay * 2, workerData.intervalMs * 10);
  } catch (err) {
    // SQLITE_BUSY: another connection is checkpointing; anything else is reported once in a while.
    if (err && err.code !== 'SQLITE_BUSY' && failures++ % 100 === 0) parentPort.postMessage(String(err));
  }
  timer = setTimeout(tick, delay);
}
timer = setTimeout(tick, delay);
parentPort.on('message', () => {
  clearTimeout(timer);
  db.close();
  const done = new Int32Array(workerData.done);
  Atomics.store(done, 0, 1);
  Atomics.notify(done, 0);
  parentPort.close();
});
`;

export interface Checkpointer {
  /**
   * Stops the worker and waits (at most a second) until its connection is closed, so the serving
   * connection closes last and removes the WAL as usual. A checkpoint in progress finishes first.
   */
  stop(): void;
}

/**
 * Starts background checkpoints for the database `db` is connected to, and makes `db`'s own
 * automatic checkpoint the backstop. For serving processes; short CLI commands do not need it.
 * The worker starts `delayMs` later: starting a thread costs tens of milliseconds of CPU, which
 * start-up (a client waiting for `initialize`) should not share.
 */
export function startCheckpointer(db: Db, logger: Logger, delayMs = START_DELAY_MS, intervalMs = INTERVAL_MS): Checkpointer | undefined {
  if (db.memory || db.readonly) return undefined;
  const done = new SharedArrayBuffer(4);
  const inode = fs.statSync(db.name).ino;
  let worker: Worker | undefined;
  let stopped = false;
  const startTimer = setTimeout(start, delayMs);
  startTimer.unref();

  function start() {
    if (stopped || !db.open) return;
    // The file at that path must still be the one `db` has open (not moved or replaced since).
    let now: number | undefined;
    try {
      now = fs.statSync(db.name).ino;
    } catch {
      /* gone */
    }
    if (now !== inode) {
      logger.warn('the database file was moved or replaced since start-up; background checkpoints are off', { file: db.name });
      return;
    }
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    try {
      worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, file: db.name, intervalMs, done } });
    } catch (err) {
      logger.warn('background checkpoints are off; commits checkpoint the WAL themselves', { error: String(err) });
      return;
    }
    db.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
    worker.unref();
    worker.on('message', (message) => logger.warn('background WAL checkpoint failed', { error: String(message) }));
    worker.on('error', (err) => {
      worker = undefined;
      logger.warn('background checkpoints stopped; commits checkpoint the WAL themselves', { error: String(err) });
      if (db.open) db.pragma('wal_autocheckpoint = 1000');
    });
  }

  return {
    stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(startTimer);
      if (!worker) return;
      worker.postMessage('stop');
      Atomics.wait(new Int32Array(done), 0, 0, 1000);
    },
  };
}
