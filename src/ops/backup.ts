// Backups, restore and integrity checks. A backup is SQLite's online backup of the live database
// into one self-contained file (journal_mode=DELETE, so no -wal beside it is needed), checked with
// integrity_check before it counts. Restore refuses a file that fails the check and keeps the
// database it replaces.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import Database from 'better-sqlite3';
import { openDatabase, truncateWal, type Db } from '../core/db.js';

/** Where a long operation has got, for a display (the CLI shows it on a terminal). */
export interface OperationProgress {
  step(label: string): void;
  tick(done: number, total?: number): void;
}

/** brain_YYYYMMDD_HHMMSS.db, the name the operations guide's scripts use. */
const BACKUP_NAME = /^brain_(\d{8})_(\d{6})(?:_\d+)?\.db$/;

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

/** Runs PRAGMA integrity_check on a file (read-only) and returns its first line ('ok' when sound). */
export function integrityOf(file: string): string {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db.pragma('integrity_check(20)') as { integrity_check: string }[];
    return rows.map((r) => r.integrity_check).join('; ');
  } finally {
    db.close();
  }
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
    .map((n) => {
      const file = path.join(dir, n);
      const st = fs.statSync(file);
      return { file, mtimeMs: st.mtimeMs, bytes: st.size };
    })
    .sort((a, b) => b.file.localeCompare(a.file));
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

/**
 * Copies the live database into `dir` while it keeps serving, verifies the copy, archives the
 * notes folder beside it, then keeps only the newest `keep` backups. The copy appears under its
 * final name only once it passed the check.
 */
export async function backupDatabase(db: Db, dir: string, keep: number, nowMs = Date.now(), notesPath?: string, progress?: OperationProgress): Promise<BackupResult> {
  const started = performance.now();
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  let name = `brain_${stamp(nowMs)}.db`;
  for (let i = 1; fs.existsSync(path.join(dir, name)); i++) name = `brain_${stamp(nowMs)}_${i}.db`;
  const file = path.join(dir, name);
  const tmp = path.join(dir, `.${name}.partial`);
  try {
    progress?.step('copying database pages');
    // 100 pages a step is better-sqlite3's own default; the callback only watches.
    await (progress ? db.backup(tmp, { progress: (p) => (progress.tick(p.totalPages - p.remainingPages, p.totalPages), 100) }) : db.backup(tmp));
    progress?.step('checking the copy (integrity_check)');
    const copy = new Database(tmp);
    try {
      copy.pragma('journal_mode = DELETE');
    } finally {
      copy.close();
    }
    const integrity = integrityOf(tmp);
    if (integrity !== 'ok') throw new Error(`the backup copy failed integrity_check: ${integrity}`);
    fs.chmodSync(tmp, 0o600);
    fs.renameSync(tmp, file);
    if (notesPath) progress?.step('archiving the notes folder');
    const notes = notesPath ? archiveNotes(notesPath, file.replace(/\.db$/, '.notes.tar.gz')) : null;
    const removed = listBackups(dir)
      .slice(keep)
      .map((b) => {
        fs.rmSync(b.file, { force: true });
        return b.file;
      });
    // A notes archive goes with its database copy.
    for (const name of fs.readdirSync(dir)) {
      if (NOTES_ARCHIVE.test(name) && !fs.existsSync(path.join(dir, name.replace(/\.notes\.tar\.gz$/, '.db')))) {
        fs.rmSync(path.join(dir, name), { force: true });
        removed.push(path.join(dir, name));
      }
    }
    return { file, notes, bytes: fs.statSync(file).size, elapsed_ms: performance.now() - started, integrity, removed };
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

/** integrity_check of a backup file, with a sentence for a file that is no database at all. */
function backupIntegrity(file: string, source: string): string {
  try {
    return integrityOf(file);
  } catch (err) {
    throw new Error(`${source} is not a brain backup (${(err as Error).message}); give a file made by brain backup (brain_*.db, or one gzipped as .db.gz). The database was not changed.`);
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
 * touched unless the backup passes integrity_check. Run it with no brain process using the
 * database (the CLI checks the daemon's socket); embedded sessions that still hold the old file
 * keep writing to the kept copy.
 */
export async function restoreDatabase(dbPath: string, source: string, nowMs = Date.now(), notesPath?: string, progress?: OperationProgress): Promise<RestoreResult> {
  if (!fs.existsSync(source)) throw new Error(`${source} does not exist`);
  if (!fs.statSync(source).isFile()) throw new Error(`${source} is not a file; give a backup made by brain backup (brain_*.db or .db.gz)`);
  if (path.resolve(source) === path.resolve(dbPath)) throw new Error('the backup to restore is the database itself');

  const dir = path.dirname(path.resolve(dbPath));
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Staged beside the database, so putting it in place is one rename on the same file system.
  const staging = path.join(dir, `.${path.basename(dbPath)}.restoring`);
  try {
    if (isGzip(source)) {
      progress?.step(`unpacking ${path.basename(source)}`);
      await gunzipTo(source, staging, progress);
      progress?.step('checking the backup (integrity_check)');
      const integrity = backupIntegrity(staging, source);
      if (integrity !== 'ok') throw new Error(`${source} failed integrity_check (${integrity}); the database was not changed`);
    } else {
      progress?.step('checking the backup (integrity_check)');
      const integrity = backupIntegrity(source, source);
      if (integrity !== 'ok') throw new Error(`${source} failed integrity_check (${integrity}); the database was not changed`);
      progress?.step('copying the backup');
      fs.copyFileSync(source, staging);
    }
    fs.chmodSync(staging, 0o600);
  } catch (err) {
    fs.rmSync(staging, { force: true });
    throw err;
  }

  let kept: string | null = null;
  if (fs.existsSync(dbPath)) {
    // Fold the WAL into the main file first, so the kept copy is one complete file.
    try {
      const old = new Database(dbPath, { fileMustExist: true });
      try {
        truncateWal(old);
      } finally {
        old.close();
      }
    } catch {
      // A damaged database cannot be checkpointed; its -wal and -shm move with it below.
    }
    kept = `${dbPath}.replaced-${stamp(nowMs)}`;
    for (const suffix of ['', '-wal', '-shm']) {
      if (fs.existsSync(dbPath + suffix)) fs.renameSync(dbPath + suffix, kept + suffix);
    }
  }
  fs.renameSync(staging, dbPath);
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
  integrity: string;
  foreign_key_problems: number;
  journal_mode: string;
  bytes: number;
  tables: Record<string, number>;
}

/** A full integrity check of the database file (read-only; safe while brain runs). */
export function checkDatabase(dbPath: string, progress?: OperationProgress): CheckResult {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true, timeout: 15_000 });
  try {
    progress?.step('integrity_check (reads every page)');
    const integrity = (db.pragma('integrity_check(20)') as { integrity_check: string }[]).map((r) => r.integrity_check).join('; ');
    progress?.step('foreign_key_check');
    const fk = (db.pragma('foreign_key_check') as unknown[]).length;
    const journal = db.pragma('journal_mode', { simple: true }) as string;
    const tables: Record<string, number> = {};
    for (const t of ['memories', 'memory_history', 'sessions', 'events', 'query_log']) {
      try {
        tables[t] = db.prepare(`SELECT count(*) FROM ${t}`).pluck().get() as number;
      } catch {
        /* a table this file does not have yet */
      }
    }
    const page = db.pragma('page_size', { simple: true }) as number;
    const count = db.pragma('page_count', { simple: true }) as number;
    return { ok: integrity === 'ok' && fk === 0, database: path.resolve(dbPath), integrity, foreign_key_problems: fk, journal_mode: journal, bytes: page * count, tables };
  } finally {
    db.close();
  }
}
