// Backups, restore and integrity checks. A backup is SQLite's online backup of the live database,
// copied in one step by a worker thread with its own read-only connection: one read transaction, so
// the copy is one consistent snapshot holding every write committed before it began, however busy
// other processes are (a copy in small steps starts over at every write from another connection,
// and never ends under a steady writer), and the event loop keeps serving meanwhile. The copy is
// made self-contained (journal_mode=DELETE) and checked before it counts: a file that is empty,
// fails integrity_check or lacks brain's tables is no backup. It is then gzipped, and the gzip is
// read back and compared (SHA-256) with the checked copy. Each backup works in temp files of its
// own and takes its final name with link(), which never replaces a file, so backups running at
// once (two processes, or a timer and a request) cannot share or overwrite a file. Restore refuses
// a file that is no sound backup, refuses while any other process has the database open, and keeps
// the database it replaces.
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Worker } from 'node:worker_threads';
import zlib from 'node:zlib';
import Database from 'better-sqlite3';
import { BRAIN_MARKER_TABLE, headerProblem, isCorruption, openDatabase, type Db } from '../core/db.js';
import { lockForSwap, usersOf } from './file-users.js';
import { keepNewest, toRemove, type RetentionPolicy } from './retention.js';

/** Where a long operation has got, for a display (the CLI shows it on a terminal). */
export interface OperationProgress {
  step(label: string): void;
  tick(done: number, total?: number): void;
}

/**
 * brain_YYYYMMDD_HHMMSS.db.gz (and _N when several are made in one second), the name the operations
 * guide's scripts use plus gzip; uncompressed brain_*.db from older brains count too (for retention
 * and restore).
 */
const BACKUP_NAME = /^brain_(\d{8})_(\d{6})(?:_(\d+))?\.db(?:\.gz)?$/;

/**
 * gzip level 1: a 1 GB brain gzips to 33.9 % at level 1 and 30.3 % at level 6, which costs 64 % more
 * CPU (19.6 s against 32.1 s, `npm run bench -- --only backup`), and a backup runs every 15 minutes.
 */
export const BACKUP_GZIP_LEVEL = 1;

export interface BackupResult {
  /** The verified, gzipped copy (brain_YYYYMMDD_HHMMSS.db.gz). */
  file: string;
  /** The notes folder as a tar.gz beside the database copy (null when there are no notes). */
  notes: string | null;
  /** Size of the database copy before compression. */
  bytes: number;
  /** Size of `file`. */
  compressed_bytes: number;
  elapsed_ms: number;
  /** Where the time went: the snapshot copy, integrity_check of it, gzip, reading the gzip back. */
  phases_ms: { copy: number; check: number; compress: number; verify: number };
  integrity: string;
  removed: string[];
}

function stamp(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10).replace(/-/g, '')}_${iso.slice(11, 19).replace(/:/g, '')}`;
}

/** Runs PRAGMA integrity_check on a file (read-only) and returns its first lines ('ok' when sound). */
export function integrityOf(file: string): string {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db.pragma('integrity_check(20)') as { integrity_check: string }[];
    return rows.map((r) => r.integrity_check).join('; ');
  } finally {
    db.close();
  }
}

/**
 * Why `file` is not a sound brain database copy, or undefined when it is: it must have a sound
 * SQLite header, pass integrity_check, and have brain's tables. (integrity_check alone passes an
 * empty file: SQLite reads 0 bytes as an empty database.) `integrity` is integrity_check's answer
 * when the caller already has it (the backup worker runs it off the event loop).
 */
export function backupProblem(file: string, integrity?: string): string | undefined {
  const header = headerProblem(file);
  if (header) return header;
  let db: Db | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const checked = integrity ?? (db.pragma('integrity_check(20)') as { integrity_check: string }[]).map((r) => r.integrity_check).join('; ');
    if (checked !== 'ok') return `it failed integrity_check: ${checked}`;
    const hasMarker = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").pluck().get(BRAIN_MARKER_TABLE);
    if (!hasMarker) return `it has no brain tables ("${BRAIN_MARKER_TABLE}" is missing)`;
    return undefined;
  } catch (err) {
    return (err as Error).message;
  } finally {
    db?.close();
  }
}

/** When a backup was taken, from its name (UTC, to the second). */
export function backupTimeMs(file: string): number {
  const m = BACKUP_NAME.exec(path.basename(file));
  if (!m) return NaN;
  const [d, t] = [m[1], m[2]];
  return Date.UTC(+d.slice(0, 4), +d.slice(4, 6) - 1, +d.slice(6, 8), +t.slice(0, 2), +t.slice(2, 4), +t.slice(4, 6));
}

/** Newest first: by the time in the name, then by the _N of backups made in the same second. */
function backupOrder(a: string, b: string): number {
  const ma = BACKUP_NAME.exec(path.basename(a))!;
  const mb = BACKUP_NAME.exec(path.basename(b))!;
  const ka = `${ma[1]}${ma[2]}`;
  const kb = `${mb[1]}${mb[2]}`;
  if (ka !== kb) return ka < kb ? 1 : -1;
  return Number(mb[3] ?? 0) - Number(ma[3] ?? 0);
}

/** Backups in `dir`, newest first. */
export function listBackups(dir: string): { file: string; mtimeMs: number; bytes: number }[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => BACKUP_NAME.test(n))
    .sort(backupOrder)
    .flatMap((n) => {
      const file = path.join(dir, n);
      try {
        const st = fs.statSync(file);
        return [{ file, mtimeMs: st.mtimeMs, bytes: st.size }];
      } catch {
        return []; // removed by another backup's retention meanwhile
      }
    });
}

const NOTES_ARCHIVE = /^brain_\d{8}_\d{6}(?:_\d+)?\.notes\.tar\.gz$/;

/**
 * Archives the notes folder (Markdown files the person may edit, which live beside the database,
 * not in it) as `<name>.notes.tar.gz`. Returns null when there is nothing to archive.
 */
function archiveNotes(notesPath: string, archive: string): string | null {
  let entries: string[];
  try {
    entries = fs.readdirSync(notesPath);
  } catch {
    return null;
  }
  if (entries.length === 0) return null;
  const partial = archive + '.partial';
  const r = spawnSync('tar', ['-czf', partial, '-C', notesPath, '.'], { encoding: 'utf8' });
  if (r.status !== 0) {
    fs.rmSync(partial, { force: true });
    throw new Error(`could not archive the notes folder ${notesPath}: ${(r.stderr || r.error?.message || 'tar failed').trim()}`);
  }
  fs.chmodSync(partial, 0o600);
  fs.renameSync(partial, archive);
  return archive;
}

/** A temp file of one backup: `.backup-<pid>-<random>.partial` (and `.gz`), never shared with another backup. */
const PARTIAL = /^\.backup-\d+-[0-9a-f]+\.partial(?:\.gz)?$/;
/** A partial file older than this was left by a backup that was killed (a 1 GB backup takes seconds). */
const STALE_PARTIAL_MS = 3_600_000;

function removeStalePartials(dir: string, nowMs: number) {
  for (const name of fs.readdirSync(dir)) {
    if (!PARTIAL.test(name)) continue;
    try {
      if (nowMs - fs.statSync(path.join(dir, name)).mtimeMs > STALE_PARTIAL_MS) fs.rmSync(path.join(dir, name), { force: true });
    } catch {
      /* another backup removed it */
    }
  }
}

/**
 * Gives the verified copy `tmp` the first free backup name for `nowMs`. link() fails instead of
 * replacing a name another backup took meanwhile; a file system without hard links gets an
 * exclusive copy instead.
 */
function claimName(dir: string, tmp: string, nowMs: number): string {
  for (let i = 0; ; i++) {
    const base = path.join(dir, i === 0 ? `brain_${stamp(nowMs)}` : `brain_${stamp(nowMs)}_${i}`);
    // An uncompressed backup of an older brain under the same stamp would share its notes archive.
    if (fs.existsSync(base + '.db')) continue;
    const file = base + '.db.gz';
    try {
      fs.linkSync(tmp, file);
      return file;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
    }
    try {
      fs.copyFileSync(tmp, file, fs.constants.COPYFILE_EXCL);
      return file;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

// CommonJS in a string: the same code runs from dist/ and from the TypeScript sources under test.
// 0x7fffffff pages a step is "everything at once": one read transaction for the whole copy.
const SNAPSHOT_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
(async () => {
  const t0 = performance.now();
  const source = new Database(workerData.source, { readonly: true, fileMustExist: true, timeout: workerData.timeoutMs });
  try {
    await source.backup(workerData.target, { progress: () => 0x7fffffff });
  } finally {
    source.close();
  }
  const t1 = performance.now();
  const copy = new Database(workerData.target, { fileMustExist: true });
  try {
    copy.pragma('journal_mode = DELETE');
    const integrity = copy.pragma('integrity_check(20)').map((r) => r.integrity_check).join('; ');
    return { integrity, copy_ms: t1 - t0, check_ms: performance.now() - t1 };
  } finally {
    copy.close();
  }
})().then(
  (r) => parentPort.postMessage(r),
  (err) => parentPort.postMessage({ error: String((err && err.message) || err) }),
);
`;

interface Snapshot {
  integrity: string;
  copy_ms: number;
  check_ms: number;
}

/** Copies the database file `db` has open into `target` and runs integrity_check on the copy, in a worker thread. */
function snapshotInWorker(db: Db, target: string): Promise<Snapshot> {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  return new Promise((resolve, reject) => {
    const worker = new Worker(SNAPSHOT_WORKER, { eval: true, workerData: { driver, source: db.name, target, timeoutMs: 15_000 } });
    let answered = false;
    worker.once('message', (m: Snapshot & { error?: string }) => {
      answered = true;
      if (m.error) reject(new Error(m.error));
      else resolve(m);
    });
    worker.once('error', (err) => {
      answered = true;
      reject(err);
    });
    worker.once('exit', (code) => {
      if (!answered) reject(new Error(`the backup thread ended with code ${code} before it finished`));
    });
  });
}

/** An in-memory database has no file for a second connection to open: it is copied and checked here. */
async function snapshotHere(db: Db, target: string): Promise<Snapshot> {
  const t0 = performance.now();
  await db.backup(target, { progress: () => 0x7fffffff });
  const t1 = performance.now();
  const copy = new Database(target, { fileMustExist: true });
  try {
    copy.pragma('journal_mode = DELETE');
  } finally {
    copy.close();
  }
  return { integrity: integrityOf(target), copy_ms: t1 - t0, check_ms: performance.now() - t1 };
}

/** A pass-through stream that hashes what flows through it and reports its progress. */
function hashing(hash: ReturnType<typeof createHash>, onBytes?: (n: number) => void): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      onBytes?.((seen += chunk.length));
      done(null, chunk);
    },
  });
}

/**
 * gzips `source` into `target` (mode 0600), then reads the gzip back and compares it with the
 * source by SHA-256: what is kept is proven to unpack into the checked copy. zlib works in libuv's
 * thread pool, so neither step holds up the event loop.
 */
async function compressVerified(source: string, target: string, progress?: OperationProgress): Promise<{ compress: number; verify: number }> {
  const size = fs.statSync(source).size;
  const t0 = performance.now();
  const written = createHash('sha256');
  progress?.step('compressing (gzip)');
  await pipeline(
    fs.createReadStream(source),
    hashing(written, (n) => progress?.tick(n, size)),
    zlib.createGzip({ level: BACKUP_GZIP_LEVEL }),
    fs.createWriteStream(target, { mode: 0o600, flags: 'wx' }),
  );
  const t1 = performance.now();
  const unpacked = createHash('sha256');
  progress?.step('reading the compressed copy back');
  const discard = new Writable({ write: (_chunk, _enc, done) => done() });
  await pipeline(fs.createReadStream(target), zlib.createGunzip(), hashing(unpacked, (n) => progress?.tick(n, size)), discard);
  if (written.digest('hex') !== unpacked.digest('hex')) throw new Error(`the compressed copy does not unpack into the checked one (${target}); no backup was written`);
  return { compress: t1 - t0, verify: performance.now() - t1 };
}

/**
 * Copies the live database into `dir` while it keeps serving, verifies the copy, gzips it and
 * verifies the gzip, archives the notes folder beside it, then thins the directory by `retention`
 * (a number keeps that many newest). The backup appears under its final name only once verified.
 */
export async function backupDatabase(
  db: Db,
  dir: string,
  retention: number | RetentionPolicy,
  nowMs = Date.now(),
  notesPath?: string,
  progress?: OperationProgress,
): Promise<BackupResult> {
  const started = performance.now();
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  removeStalePartials(dir, Date.now());
  const tmp = path.join(dir, `.backup-${process.pid}-${randomBytes(6).toString('hex')}.partial`);
  const gz = `${tmp}.gz`;
  try {
    progress?.step('copying the database (one snapshot) and checking the copy (integrity_check)');
    const snap = db.memory ? await snapshotHere(db, tmp) : await snapshotInWorker(db, tmp);
    const problem = backupProblem(tmp, snap.integrity);
    if (problem) throw new Error(`the backup copy is not sound (${problem}); no backup was written`);
    const bytes = fs.statSync(tmp).size;
    const zipped = await compressVerified(tmp, gz, progress);
    const file = claimName(dir, gz, nowMs);
    const compressed_bytes = fs.statSync(file).size;
    if (notesPath) progress?.step('archiving the notes folder');
    const notes = notesPath ? archiveNotes(notesPath, file.replace(/\.db\.gz$/, '.notes.tar.gz')) : null;
    const removed = applyRetention(dir, typeof retention === 'number' ? keepNewest(retention) : retention, nowMs);
    return {
      file,
      notes,
      bytes,
      compressed_bytes,
      elapsed_ms: performance.now() - started,
      phases_ms: { copy: snap.copy_ms, check: snap.check_ms, compress: zipped.compress, verify: zipped.verify },
      integrity: 'ok',
      removed,
    };
  } finally {
    fs.rmSync(tmp, { force: true });
    fs.rmSync(gz, { force: true });
  }
}

/** Removes the backups of `dir` that `policy` does not keep, with their notes archives; returns what went. */
export function applyRetention(dir: string, policy: RetentionPolicy, nowMs = Date.now()): string[] {
  const removed: string[] = [];
  const dated = listBackups(dir).map((b) => ({ file: b.file, timeMs: backupTimeMs(b.file) }));
  for (const b of toRemove(dated, policy, nowMs)) {
    fs.rmSync(b.file, { force: true });
    removed.push(b.file);
  }
  // A notes archive goes with its database copy.
  for (const name of fs.readdirSync(dir)) {
    if (!NOTES_ARCHIVE.test(name)) continue;
    const base = path.join(dir, name.replace(/\.notes\.tar\.gz$/, ''));
    if (!fs.existsSync(base + '.db.gz') && !fs.existsSync(base + '.db')) {
      fs.rmSync(path.join(dir, name), { force: true });
      removed.push(path.join(dir, name));
    }
  }
  return removed;
}

export interface RestoreResult {
  restored_from: string;
  database: string;
  /** Where the database that was replaced now lives (null when there was none). */
  replaced_kept_at: string | null;
  integrity: string;
  /** The notes archive restored with it, and where the replaced notes folder was kept. */
  notes_restored_from?: string;
  notes_replaced_kept_at?: string | null;
}

/** The notes archive made with a backup: brain_X.db (or brain_X.db.gz) goes with brain_X.notes.tar.gz. */
function notesArchiveOf(source: string): string | null {
  const db = source.replace(/\.gz$/, '');
  return db.endsWith('.db') ? db.slice(0, -'.db'.length) + '.notes.tar.gz' : null;
}

/** Puts the notes archive that belongs to `source` (if any) in place of the notes folder. */
function restoreNotes(source: string, notesPath: string, nowMs: number): Pick<RestoreResult, 'notes_restored_from' | 'notes_replaced_kept_at'> {
  const archive = notesArchiveOf(source);
  if (!archive || !fs.existsSync(archive)) return {};
  const staging = `${notesPath}.restoring`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging, { recursive: true, mode: 0o700 });
  const r = spawnSync('tar', ['-xzf', archive, '-C', staging], { encoding: 'utf8' });
  if (r.status !== 0) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw new Error(`could not unpack ${archive}: ${(r.stderr || 'tar failed').trim()}; the database was restored, the notes folder was not changed`);
  }
  let kept: string | null = null;
  if (fs.existsSync(notesPath)) {
    kept = `${notesPath}.replaced-${stamp(nowMs)}`;
    fs.renameSync(notesPath, kept);
  }
  fs.renameSync(staging, notesPath);
  return { notes_restored_from: path.resolve(archive), notes_replaced_kept_at: kept };
}

function isGzip(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(2);
    return fs.readSync(fd, head, 0, 2, 0) === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    fs.closeSync(fd);
  }
}

/** Refuses a file that is no sound brain database, in a sentence that says what to give instead. */
function requireBackup(file: string, source: string): void {
  const problem = backupProblem(file);
  if (problem) {
    throw new Error(`${source} is not a sound brain backup (${problem}); give a file made by brain backup (brain_*.db, or one gzipped as .db.gz) or by brain recover. The database was not changed.`);
  }
}

/** Unpacks a gzipped backup into `target`, streaming (a backup may be larger than memory). */
async function gunzipTo(source: string, target: string, progress?: OperationProgress): Promise<void> {
  const size = fs.statSync(source).size;
  const input = fs.createReadStream(source);
  let read = 0;
  if (progress) input.on('data', (chunk) => progress.tick((read += chunk.length), size));
  try {
    await pipeline(input, zlib.createGunzip(), fs.createWriteStream(target, { mode: 0o600 }));
  } catch (err) {
    fs.rmSync(target, { force: true });
    throw new Error(`${source} could not be unpacked (${(err as Error).message}); the database was not changed`);
  }
}

/**
 * Replaces the database at `dbPath` with the backup `source` (and the notes folder with the notes
 * archive made with it, when there is one). The backup may be gzipped (brain_X.db.gz). Nothing is
 * touched unless the backup is sound (backupProblem) and no other process has the database open:
 * a process that kept it open would go on writing into the replaced file, and every write it
 * acknowledged from then on would be lost to everyone else.
 */
export async function restoreDatabase(dbPath: string, source: string, nowMs = Date.now(), notesPath?: string, progress?: OperationProgress): Promise<RestoreResult> {
  if (!fs.existsSync(source)) throw new Error(`${source} does not exist`);
  if (!fs.statSync(source).isFile()) throw new Error(`${source} is not a file; give a backup made by brain backup (brain_*.db or .db.gz)`);
  if (path.resolve(source) === path.resolve(dbPath)) throw new Error('the backup to restore is the database itself');

  const dir = path.dirname(path.resolve(dbPath));
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Staged beside the database, so putting it in place is one rename on the same file system;
  // named for this restore alone, so two restores never share it.
  const staging = path.join(dir, `.${path.basename(dbPath)}.restoring-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    if (isGzip(source)) {
      progress?.step(`unpacking ${path.basename(source)}`);
      await gunzipTo(source, staging, progress);
      progress?.step('checking the backup (integrity_check)');
      requireBackup(staging, source);
    } else {
      progress?.step('checking the backup (integrity_check)');
      requireBackup(source, source);
      progress?.step('copying the backup');
      fs.copyFileSync(source, staging);
      // The copy is what goes in place: check that it arrived whole (a full disk truncates it).
      if (fs.statSync(staging).size !== fs.statSync(source).size) throw new Error(`${source} could not be copied whole beside the database (is the disk full?); the database was not changed`);
    }
    fs.chmodSync(staging, 0o600);
  } catch (err) {
    fs.rmSync(staging, { force: true });
    throw err;
  }

  let kept: string | null = null;
  try {
    if (fs.existsSync(dbPath)) {
      progress?.step('making sure no process has the database open');
      const users = usersOf(dbPath);
      if (users.length) {
        const list = users.map((u) => `pid ${u.pid} (${u.command})`).join(', ');
        throw new Error(`${dbPath} is open in ${list}; end those brain sessions (close the conversation, or kill the pid) and run the restore again. The database was not changed.`);
      }
      // Also asks SQLite, which sees processes of every user: it grants the lock only when no other
      // connection exists, and holding it keeps new ones out until the files are swapped.
      const lock = lockForSwap(dbPath);
      try {
        kept = `${dbPath}.replaced-${stamp(nowMs)}`;
        for (let i = 1; fs.existsSync(kept); i++) kept = `${dbPath}.replaced-${stamp(nowMs)}_${i}`;
        for (const suffix of ['', '-wal', '-shm']) {
          if (fs.existsSync(dbPath + suffix)) fs.renameSync(dbPath + suffix, kept + suffix);
        }
        fs.renameSync(staging, dbPath);
      } finally {
        lock.release();
      }
    } else {
      fs.renameSync(staging, dbPath);
    }
  } finally {
    fs.rmSync(staging, { force: true });
  }
  progress?.step('checking the restored database');
  // Opening applies the schema (a backup from an older brain gains the newer tables).
  const db = openDatabase(dbPath);
  let integrity: string;
  try {
    integrity = (db.pragma('integrity_check(20)') as { integrity_check: string }[]).map((r) => r.integrity_check).join('; ');
  } finally {
    db.close();
  }
  if (notesPath) progress?.step('restoring the notes folder');
  const notes = notesPath ? restoreNotes(source, notesPath, nowMs) : {};
  return { restored_from: path.resolve(source), database: path.resolve(dbPath), replaced_kept_at: kept, integrity, ...notes };
}

export interface CheckResult {
  ok: boolean;
  database: string;
  /** 'ok', or what is wrong: integrity_check's first lines, or why the file cannot be read at all. */
  integrity: string;
  /** Rows that point at rows that do not exist; null when the file could not be read that far. */
  foreign_key_problems: number | null;
  journal_mode: string;
  bytes: number;
  tables: Record<string, number>;
}

function isWritable(dir: string): boolean {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * A read-only connection for checking, and what to do after closing it. A WAL database in a
 * folder this process cannot write to (read-only media or mount) cannot get its shared-memory
 * file, so SQLite cannot open it there; nothing can be writing to it either, so a copy in the
 * temp folder is checked instead.
 */
function openForCheck(dbPath: string): { db: Db; cleanup(): void } {
  let db: Db | undefined;
  try {
    db = new Database(dbPath, { readonly: true, fileMustExist: true, timeout: 15_000 });
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    return { db, cleanup() {} };
  } catch (err) {
    db?.close();
    if ((err as { code?: string }).code !== 'SQLITE_CANTOPEN') throw err;
    // In a writable folder the cause is something else.
    if (isWritable(path.dirname(path.resolve(dbPath)))) throw err;
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'brain-check-'));
    const copy = path.join(tmp, 'brain.db');
    fs.copyFileSync(dbPath, copy);
    if (fs.existsSync(dbPath + '-wal')) fs.copyFileSync(dbPath + '-wal', copy + '-wal');
    return { db: new Database(copy, { readonly: true, fileMustExist: true }), cleanup: () => fs.rmSync(tmp, { recursive: true, force: true }) };
  }
}

/**
 * A full integrity check of the database file (read-only; safe while brain runs). A damaged file
 * is a result (ok: false, with what is wrong), not an error: that is what the check is for.
 */
export function checkDatabase(dbPath: string, progress?: OperationProgress): CheckResult {
  const result: CheckResult = { ok: false, database: path.resolve(dbPath), integrity: '', foreign_key_problems: null, journal_mode: 'unknown', bytes: fs.statSync(dbPath).size, tables: {} };
  const header = headerProblem(dbPath);
  if (header) return { ...result, integrity: header };
  let db: Db | undefined;
  let cleanup = () => {};
  try {
    ({ db, cleanup } = openForCheck(dbPath));
    progress?.step('integrity_check (reads every page)');
    result.integrity = (db.pragma('integrity_check(20)') as { integrity_check: string }[]).map((r) => r.integrity_check).join('; ');
    result.journal_mode = db.pragma('journal_mode', { simple: true }) as string;
    const page = db.pragma('page_size', { simple: true }) as number;
    result.bytes = page * (db.pragma('page_count', { simple: true }) as number);
    if (result.integrity === 'ok' && !db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").pluck().get(BRAIN_MARKER_TABLE)) {
      result.integrity = `the file has no brain tables ("${BRAIN_MARKER_TABLE}" is missing)`;
    }
    progress?.step('foreign_key_check');
    result.foreign_key_problems = (db.pragma('foreign_key_check') as unknown[]).length;
    for (const t of ['memories', 'memory_history', 'sessions', 'events', 'notes', 'query_log']) {
      try {
        result.tables[t] = db.prepare(`SELECT count(*) FROM ${t}`).pluck().get() as number;
      } catch (err) {
        // A table this file does not have yet is no problem; one that cannot be read is.
        if (isCorruption(err) && result.integrity === 'ok') result.integrity = `${t}: ${(err as Error).message}`;
      }
    }
  } catch (err) {
    if (!isCorruption(err)) throw err;
    result.integrity = result.integrity && result.integrity !== 'ok' ? result.integrity : (err as Error).message;
  } finally {
    db?.close();
    cleanup();
  }
  result.ok = result.integrity === 'ok' && result.foreign_key_problems === 0;
  return result;
}
