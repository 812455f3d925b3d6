// `brain recover`: copies what can still be read from a damaged database into a new brain file.
// It works on a copy (the damaged file is never opened for writing), walks every table of brain's
// schema in rowid order, skips past damaged stretches of a table instead of stopping at the first
// one, rebuilds the full-text indexes from the rows it saved, and hands over a file that passes
// integrity_check, for `brain restore` to put in place. SQLite's own `.recover` (sqlite3 CLI)
// needs the sqlite_dbpage table, which neither better-sqlite3 nor Debian's sqlite3 3.40 is built
// with (there it fails with "SQL logic error" even on a sound file); this needs only the driver.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { headerProblem, isCorruption, openDatabase, type Db, type Statement } from '../core/db.js';
import type { OperationProgress } from './backup.js';

export interface TableRecovery {
  /** Rows copied into the new file. */
  copied: number;
  /** Damaged stretches skipped (each may have held any number of rows); 0 when the table read cleanly. */
  damaged: number;
  /** Rows dropped because the row they belong to was lost (e.g. the tags of a lost memory). */
  orphans?: number;
}

export interface RecoverResult {
  from: string;
  recovered_to: string;
  tables: Record<string, TableRecovery>;
  /** integrity_check of the new file. */
  integrity: string;
  elapsed_ms: number;
}

function stamp(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10).replace(/-/g, '')}_${iso.slice(11, 19).replace(/:/g, '')}`;
}

/** brain.db -> brain.recovered-YYYYMMDD_HHMMSS.db beside it (_1, _2, ... when that is taken). */
export function defaultRecoverTarget(dbPath: string, nowMs = Date.now()): string {
  const base = `${dbPath.replace(/\.db$/, '')}.recovered-${stamp(nowMs)}`;
  let target = `${base}.db`;
  for (let i = 1; fs.existsSync(target); i++) target = `${base}_${i}.db`;
  return target;
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** rowids are 64-bit: read them exactly (the skip search below adds to them). */
const MAX_ROWID = 2n ** 63n - 1n;

/**
 * Copies the rows of a rowid table, stepping over damage: when reading stops at an unreadable
 * page, the next readable rowid is found by seeking further and further ahead (1, 2, 4, ...
 * rowids on), then narrowed down by bisection, so a damaged stretch costs about 2 log2(n) seeks.
 */
function copyRowidTable(src: Db, dest: Db, table: string, cols: string[]): TableRecovery {
  const list = cols.map(quote).join(', ');
  const read = src.prepare(`SELECT rowid AS "rowid:recover", ${list} FROM ${quote(table)} WHERE rowid > ? ORDER BY rowid`).safeIntegers(true);
  const seek = src.prepare(`SELECT rowid FROM ${quote(table)} WHERE rowid >= ? ORDER BY rowid LIMIT 1`).pluck().safeIntegers(true);
  const insert = dest.prepare(`INSERT OR IGNORE INTO ${quote(table)} (rowid, ${list}) VALUES (?${', ?'.repeat(cols.length)})`);
  const out: TableRecovery = { copied: 0, damaged: 0 };
  let after = -MAX_ROWID - 1n;
  const flush = (rows: unknown[][]) => {
    dest.transaction(() => {
      for (const r of rows) out.copied += insert.run(...r).changes;
    })();
    rows.length = 0;
  };
  for (;;) {
    const batch: unknown[][] = [];
    let failed = false;
    try {
      for (const row of read.iterate(after) as Iterable<Record<string, unknown>>) {
        batch.push([row['rowid:recover'], ...cols.map((c) => row[c])]);
        after = row['rowid:recover'] as bigint;
        if (batch.length >= 1000) flush(batch);
      }
    } catch (err) {
      if (!isCorruption(err)) throw err;
      failed = true;
    }
    flush(batch);
    if (!failed) return out;
    out.damaged++;
    const next = nextReadable(seek, after);
    if (next === undefined) return out;
    after = next;
  }
}

/** The rowid to continue after (exclusive) once reading failed just past `last`; undefined at the end. */
function nextReadable(seek: Statement, last: bigint): bigint | undefined {
  const tries = (at: bigint): { ok: boolean; found?: bigint } => {
    try {
      return { ok: true, found: seek.get(at) as bigint | undefined };
    } catch (err) {
      if (!isCorruption(err)) throw err;
      return { ok: false };
    }
  };
  // The row right after `last` can be found but not read (its content is damaged): skip only it.
  const first = tries(last + 1n);
  if (first.ok) return first.found === undefined ? undefined : first.found;
  let bad = last + 1n;
  let step = 1n;
  let good = 0n;
  for (;;) {
    step *= 2n;
    const at = last + step;
    if (at > MAX_ROWID) return undefined;
    const r = tries(at);
    if (!r.ok) {
      bad = at;
      continue;
    }
    if (r.found === undefined) return undefined;
    good = at;
    break;
  }
  while (good - bad > 1n) {
    const mid: bigint = (bad + good) / 2n;
    const r = tries(mid);
    if (r.ok) good = mid;
    else bad = mid;
  }
  return good - 1n;
}

/** A table without rowids is read in key order until the first damage: what follows it is lost. */
function copyKeyedTable(src: Db, dest: Db, table: string, cols: string[]): TableRecovery {
  const list = cols.map(quote).join(', ');
  const read = src.prepare(`SELECT ${list} FROM ${quote(table)}`).safeIntegers(true).raw(true);
  const insert = dest.prepare(`INSERT OR IGNORE INTO ${quote(table)} (${list}) VALUES (?${', ?'.repeat(cols.length - 1)})`);
  const out: TableRecovery = { copied: 0, damaged: 0 };
  const rows: unknown[][] = [];
  try {
    for (const row of read.iterate() as Iterable<unknown[]>) rows.push(row);
  } catch (err) {
    if (!isCorruption(err)) throw err;
    out.damaged = 1;
  }
  dest.transaction(() => {
    for (const r of rows) out.copied += insert.run(...r).changes;
  })();
  return out;
}

/**
 * Deletes rows that point at a row lost to the damage (a tag of a memory that is gone), as
 * ON DELETE CASCADE would have: brain check counts them as problems otherwise. Repeats until
 * nothing changes, since one deletion can orphan further rows.
 */
function dropOrphans(db: Db, tables: Record<string, TableRecovery>) {
  const keys: { table: string; from: string; parent: string; to: string }[] = [];
  for (const table of Object.keys(tables)) {
    const list = db.pragma(`foreign_key_list(${quote(table)})`) as { id: number; table: string; from: string; to: string | null }[];
    // Keys of one column only (brain's schema has no other kind).
    for (const fk of list) if (list.filter((o) => o.id === fk.id).length === 1 && fk.to) keys.push({ table, from: fk.from, parent: fk.table, to: fk.to });
  }
  for (let changed = true; changed; ) {
    changed = false;
    for (const k of keys) {
      const r = db
        .prepare(`DELETE FROM ${quote(k.table)} WHERE ${quote(k.from)} IS NOT NULL AND ${quote(k.from)} NOT IN (SELECT ${quote(k.to)} FROM ${quote(k.parent)})`)
        .run();
      if (r.changes) {
        tables[k.table].copied -= r.changes;
        tables[k.table].orphans = (tables[k.table].orphans ?? 0) + r.changes;
        changed = true;
      }
    }
  }
}

const PAGE_SIZES = [512, 1024, 2048, 4096, 8192, 16384, 32768, 65536];

/**
 * Makes the copy's first 100 bytes (the SQLite header) readable again, so SQLite opens it and
 * the rows can be reached: an overwritten header is written anew (the page size is the smallest
 * that holds page 1's cell pointers, which sit right after the header), and a header that
 * counts more pages than a truncated file has is told the true count (SQLite refuses such a
 * file outright). Other damage is left for the row-by-row copy to step over.
 */
function repairHeader(copy: string): void {
  const fd = fs.openSync(copy, 'r+');
  try {
    const size = fs.fstatSync(fd).size;
    const head = Buffer.alloc(Math.min(size, 65536 + 100));
    fs.readSync(fd, head, 0, head.length, 0);
    const magic = Buffer.from('SQLite format 3\0', 'latin1');
    let pageSize = head.readUInt16BE(16) === 1 ? 65536 : head.readUInt16BE(16);
    if (!head.subarray(0, 16).equals(magic) || !PAGE_SIZES.includes(pageSize)) {
      // Page 1's b-tree header follows the file header: its cell pointers are offsets into the page.
      const type = head[100];
      const cells = head.readUInt16BE(103);
      const first = 100 + (type === 0x05 ? 12 : 8);
      let top = 0;
      for (let i = 0; i < cells && first + 2 * i + 1 < head.length; i++) top = Math.max(top, head.readUInt16BE(first + 2 * i));
      pageSize = type === 0x05 || type === 0x0d ? (PAGE_SIZES.find((p) => p > top) ?? 4096) : 4096;
      const fresh = Buffer.alloc(100);
      magic.copy(fresh, 0);
      fresh.writeUInt16BE(pageSize === 65536 ? 1 : pageSize, 16);
      fresh[18] = 1; // rollback journal: no WAL is needed to read it
      fresh[19] = 1;
      fresh[21] = 64;
      fresh[22] = 32;
      fresh[23] = 32;
      fresh.writeUInt32BE(1, 24); // change counter, equal to "version valid for" below
      fresh.writeUInt32BE(1, 40); // schema cookie
      fresh.writeUInt32BE(4, 44); // schema format
      fresh.writeUInt32BE(1, 56); // UTF-8
      fresh.writeUInt32BE(1, 92);
      fresh.writeUInt32BE(3_040_000, 96);
      fresh.copy(head, 0);
    }
    const pages = Math.ceil(size / pageSize);
    if (head.readUInt32BE(28) !== pages) head.writeUInt32BE(pages, 28);
    head.writeUInt32BE(head.readUInt32BE(24), 92);
    fs.writeSync(fd, head, 0, 100, 0);
    if (size % pageSize) fs.ftruncateSync(fd, pages * pageSize);
  } finally {
    fs.closeSync(fd);
  }
}

function columnsOf(db: Db, table: string): string[] {
  return (db.pragma(`table_info(${quote(table)})`) as { name: string }[]).map((c) => c.name);
}

/**
 * Copies what is readable of the database at `dbPath` into a new brain database at `target`
 * (which must not exist). The damaged file is only read, through a copy.
 */
export function recoverDatabase(dbPath: string, target: string, progress?: OperationProgress): RecoverResult {
  const started = performance.now();
  if (!fs.existsSync(dbPath)) throw new Error(`there is no database at ${dbPath} to recover`);
  if (fs.statSync(dbPath).size === 0) throw new Error(`${dbPath} is empty (0 bytes), so there is nothing to recover; restore the newest backup instead (brain restore FILE)`);
  if (fs.existsSync(target)) throw new Error(`${target} already exists; give a new file name to recover into`);
  const dir = path.dirname(path.resolve(target));
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const work = fs.mkdtempSync(path.join(dir, '.recover-'));
  try {
    progress?.step('copying the damaged file (it is only read)');
    const copy = path.join(work, 'damaged.db');
    fs.copyFileSync(dbPath, copy);
    if (fs.existsSync(dbPath + '-wal')) fs.copyFileSync(dbPath + '-wal', copy + '-wal');
    if (headerProblem(copy)) repairHeader(copy);
    const src = new Database(copy, { readonly: true, fileMustExist: true });
    const made = path.join(work, 'recovered.db');
    const tables: Record<string, TableRecovery> = {};
    try {
      let names: Set<string>;
      try {
        names = new Set(src.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]);
      } catch (err) {
        if (!isCorruption(err)) throw err;
        throw new Error(`nothing can be read from ${dbPath}: its schema is damaged (${(err as Error).message}); restore the newest backup instead (brain restore FILE)`);
      }
      const dest = openDatabase(made);
      try {
        // Rows go in as they were: no triggers (they would log each row as a new change and
        // index it one at a time) and no foreign keys (a parent may be in a damaged stretch).
        dest.pragma('foreign_keys = OFF');
        for (const t of dest.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'").pluck().all() as string[]) dest.exec(`DROP TRIGGER ${quote(t)}`);
        const virtual = dest.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'").pluck().all() as string[];
        const shadow = (name: string) => virtual.some((v) => name.startsWith(`${v}_`));
        const plain = dest.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' AND name NOT LIKE 'sqlite_%'").all() as { name: string; sql: string }[];
        for (const [i, t] of plain.filter((p) => !shadow(p.name)).entries()) {
          // The recall index file's record is not copied: it names the file beside the damaged
          // database, which may hold memories the copy lost; without it, a process using the copy
          // checks any index file against every row.
          if (!names.has(t.name) || t.name === 'recall_index_file') continue;
          progress?.step(`copying ${t.name}`);
          progress?.tick(i, plain.length);
          const have = new Set(columnsOf(src, t.name));
          const cols = columnsOf(dest, t.name).filter((c) => have.has(c));
          if (!cols.length) continue;
          tables[t.name] = /WITHOUT\s+ROWID/i.test(t.sql) ? copyKeyedTable(src, dest, t.name, cols) : copyRowidTable(src, dest, t.name, cols);
        }
        progress?.step('dropping rows whose parent row was lost');
        dropOrphans(dest, tables);
        progress?.step('rebuilding the full-text indexes');
        for (const v of virtual) {
          const sql = dest.prepare('SELECT sql FROM sqlite_master WHERE name = ?').pluck().get(v) as string;
          if (/USING\s+fts5\s*\(/i.test(sql) && /content\s*=/i.test(sql)) dest.exec(`INSERT INTO ${quote(v)} (${quote(v)}) VALUES ('rebuild')`);
        }
      } finally {
        dest.close();
      }
    } finally {
      src.close();
    }
    progress?.step('checking the new file');
    // Opening again puts the triggers back (schema.sql); then one self-contained file.
    const db = openDatabase(made);
    let integrity: string;
    try {
      integrity = (db.pragma('integrity_check(20)') as { integrity_check: string }[]).map((r) => r.integrity_check).join('; ');
      db.pragma('journal_mode = DELETE');
    } finally {
      db.close();
    }
    if (integrity !== 'ok') throw new Error(`the recovered copy failed integrity_check (${integrity}); restore the newest backup instead (brain restore FILE)`);
    fs.chmodSync(made, 0o600);
    fs.linkSync(made, target);
    return { from: path.resolve(dbPath), recovered_to: path.resolve(target), tables, integrity, elapsed_ms: performance.now() - started };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
