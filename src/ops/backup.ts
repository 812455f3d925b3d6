// Backups, restore and integrity checks. A backup is SQLite's online backup of the live database
// into one self-contained file (journal_mode=DELETE, so no -wal beside it is needed), checked
// before it counts: a file that is empty, fails integrity_check or lacks brain's tables is no
// backup. Each backup works in a temp file of its own and takes its final name with link(), which
// never replaces a file, so backups running at once (two processes, or a timer and a request)
// cannot share or overwrite a file. Restore refuses a file that is no sound backup, refuses while
// any other process has the database open, and keeps the database it replaces.
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import Database from 'better-sqlite3';
import { BRAIN_MARKER_TABLE, headerProblem, isCorruption, openDatabase, type Db } from '../core/db.js';
import { lockForSwap, usersOf } from './file-users.js';

/** Where a long operation has got, for a display (the CLI shows it on a terminal). */
export interface OperationProgress {
  step(label: string): void;
  tick(done: number, total?: number): void;
}

/** brain_YYYYMMDD_HHMMSS.db (and _N when several are made in one second), the name the operations guide's scripts use. */
const BACKUP_NAME = /^brain_(\d{8})_(\d{6})(?:_(\d+))?\.db$/;

export interface BackupResult {
  file: string;
  /** The notes folder as a tar.gz beside the database copy (null when there are no notes). */
  notes: string | null;
  bytes: number;
  elapsed_ms: number;
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
 * empty file: SQLite reads 0 bytes as an empty database.)
 */
export function backupProblem(file: string): string | undefined {
  const header = headerProblem(file);
  if (header) return header;
  let db: Db | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const integrity = (db.pragma('integrity_check(20)') as { integrity_check: string }[]).map((r) => r.integrity_check).join('; ');
    if (integrity !== 'ok') return `it failed integrity_check: ${integrity}`;
    const hasMarker = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").pluck().get(BRAIN_MARKER_TABLE);
    if (!hasMarker) return `it has no brain tables ("${BRAIN_MARKER_TABLE}" is missing)`;
    return undefined;
  } catch (err) {
    return (err as Error).message;
  } finally {
    db?.close();
  }
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

/** A temp file of one backup: `.backup-<pid>-<random>.partial`, never shared with another backup. */
const PARTIAL = /^\.backup-\d+-[0-9a-f]+\.partial$/;
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
    const file = path.join(dir, i === 0 ? `brain_${stamp(nowMs)}.db` : `brain_${stamp(nowMs)}_${i}.db`);
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

/**
 * Copies the live database into `dir` while it keeps serving, verifies the copy, archives the
 * notes folder beside it, then keeps only the newest `keep` backups. The copy appears under its
 * final name only once it passed the check.
 */
export async function backupDatabase(db: Db, dir: string, keep: number, nowMs = Date.now(), notesPath?: string, progress?: OperationProgress): Promise<BackupResult> {
  const started = performance.now();
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  removeStalePartials(dir, Date.now());
  const tmp = path.join(dir, `.backup-${process.pid}-${randomBytes(6).toString('hex')}.partial`);
  try {
    progress?.step('copying database pages');
    // 100 pages a step is better-sqlite3's own default; the callback only watches.
    await (progress ? db.backup(tmp, { progress: (p) => (progress.tick(p.totalPages - p.remainingPages, p.totalPages), 100) }) : db.backup(tmp));
    progress?.step('checking the copy (integrity_check)');
    const copy = new Database(tmp, { fileMustExist: true });
    try {
      copy.pragma('journal_mode = DELETE');
    } finally {
      copy.close();
    }
    const problem = backupProblem(tmp);
    if (problem) throw new Error(`the backup copy is not sound (${problem}); no backup was written`);
    fs.chmodSync(tmp, 0o600);
    const bytes = fs.statSync(tmp).size;
    const file = claimName(dir, tmp, nowMs);
    if (notesPath) progress?.step('archiving the notes folder');
    const notes = notesPath ? archiveNotes(notesPath, file.replace(/\.db$/, '.notes.tar.gz')) : null;
    const removed: string[] = [];
    for (const b of listBackups(dir).slice(keep)) {
      fs.rmSync(b.file, { force: true });
      removed.push(b.file);
    }
    // A notes archive goes with its database copy.
    for (const name of fs.readdirSync(dir)) {
      if (NOTES_ARCHIVE.test(name) && !fs.existsSync(path.join(dir, name.replace(/\.notes\.tar\.gz$/, '.db')))) {
        fs.rmSync(path.join(dir, name), { force: true });
        removed.push(path.join(dir, name));
      }
    }
    return { file, notes, bytes, elapsed_ms: performance.now() - started, integrity: 'ok', removed };
  } finally {
    fs.rmSync(tmp, { force: true });
  }
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
