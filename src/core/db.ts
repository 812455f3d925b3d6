// The one SQLite file: opening it, pragmas, schema and migrations, and a prepared-statement cache.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';

export type Db = Database.Database;
export type Statement = Database.Statement;

/**
 * Bump only when an existing table changes shape (ALTER TABLE, a data fix), and add the step to
 * MIGRATIONS. New tables, indexes and triggers just go into schema.sql: it only ever uses
 * CREATE ... IF NOT EXISTS and runs at every open.
 */
export const SCHEMA_VERSION = 3;

/** Steps that bring a file from version N-1 to N, run before schema.sql (index = target version). */
const MIGRATIONS: Record<number, (db: Db) => void> = {
  // Versions of a memory carry its relations (memory_relations is new in schema.sql).
  2: (db) => db.exec(`ALTER TABLE memory_history ADD COLUMN relations TEXT NOT NULL DEFAULT '[]'`),
  // Notes are titled by file name, with aliases and inline #tags (src/notes/front-matter.ts): the
  // next pass re-reads every file (a row whose stat and hash match no file is indexed anew).
  3: (db) => db.exec(`UPDATE notes SET hash = '', mtime_ms = -1`),
};

export interface OpenOptions {
  busyTimeoutMs?: number;
  cacheSizeMb?: number;
  /** How much of the file SQLite reads through a memory map (BRAIN_MMAP_SIZE_MB); 0 = none. */
  mmapSizeMb?: number;
  readonly?: boolean;
  /**
   * Files up to this size (with their WAL) get a full quick_check before brain writes to them;
   * larger ones only the header and schema checks, and serving processes check them in the
   * background (integrity-watch.ts). Default QUICK_CHECK_AT_OPEN_BYTES.
   */
  quickCheckMaxBytes?: number;
}

/**
 * quick_check reads every page: measured 4.2 ms per MB on this 2-core machine when idle (6.1 s
 * for a 1.4 GB brain file, warm cache) and up to twice that under load (250 ms for 30 MB). 16 MB
 * keeps the check at open under about 70-140 ms at worst; a brain of 2,000 memories (1.5 MB) is
 * checked in under 10 ms. Header and schema checks cost about 1 ms whatever the size.
 */
export const QUICK_CHECK_AT_OPEN_BYTES = 16 * 1024 * 1024;

/** The table every brain database has since its first version: a file without it is no brain. */
export const BRAIN_MARKER_TABLE = 'memories';

let schemaSql: string | undefined;

/** schema.sql sits at the package root; this module runs from src/ (tests) or dist/src/ (built). */
function loadSchemaSql(): string {
  if (schemaSql) return schemaSql;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, 'schema.sql');
    if (fs.existsSync(candidate)) return (schemaSql = fs.readFileSync(candidate, 'utf8'));
    dir = path.dirname(dir);
  }
  throw new Error('schema.sql not found next to the brain package');
}

export class DatabaseVersionError extends Error {
  override name = 'DatabaseVersionError';
}

/** The database file is damaged: brain refuses to write to it (and never changes it). */
export class DatabaseDamagedError extends Error {
  override name = 'DatabaseDamagedError';
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(
      `${file} is damaged (${problem}); brain did not write to it: restore the newest backup with brain restore FILE, or copy what is readable into a new file with brain recover`,
    );
  }
}

/** SQLite's answers for a file that is not a sound database. */
export function isCorruption(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB');
}

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

function sizeOr0(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * What is wrong with the first 100 bytes of a database file (the SQLite header), or undefined
 * when they are sound. Reads 100 bytes, so it costs nothing whatever the file's size. A file
 * shorter than its header says is truncated; that is only certain when no WAL holds pages the
 * file has not received yet.
 */
export function headerProblem(file: string): string | undefined {
  const size = fs.statSync(file).size;
  if (size === 0) return 'the file is empty (0 bytes), so it holds no brain';
  const head = Buffer.alloc(100);
  const fd = fs.openSync(file, 'r');
  let got: number;
  try {
    got = fs.readSync(fd, head, 0, 100, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (got < 100) return `the file is ${size} bytes, shorter than a SQLite header`;
  if (!head.subarray(0, 16).equals(SQLITE_MAGIC)) return 'the file does not start with the SQLite header';
  const rawPage = head.readUInt16BE(16);
  const pageSize = rawPage === 1 ? 65536 : rawPage;
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) return `the header names an impossible page size (${rawPage})`;
  if (![1, 2].includes(head[18]) || ![1, 2].includes(head[19])) return 'the header names an unknown file format version';
  if (head[21] !== 64 || head[22] !== 32 || head[23] !== 32) return 'the header holds impossible payload fractions';
  if (sizeOr0(file + '-wal') === 0) {
    const pages = head.readUInt32BE(28);
    // The page count in the header is valid only when written by the same change (SQLite >= 3.7.0).
    const countValid = pages > 0 && head.readUInt32BE(24) === head.readUInt32BE(92);
    if (countValid && pages * pageSize > size) return `the file is truncated: its header counts ${pages * pageSize} bytes, the file has ${size}`;
    if (size % pageSize !== 0) return `the file is truncated: ${size} bytes is not a whole number of ${pageSize}-byte pages`;
  }
  return undefined;
}

/**
 * Checks an existing database file before brain writes to it: the header, that SQLite can read
 * the schema, that a brain file still has its tables, and a full quick_check when the file is
 * small enough (see QUICK_CHECK_AT_OPEN_BYTES). Reads only (a read-only connection); throws
 * DatabaseDamagedError naming the first problem.
 */
export function checkDatabaseFile(file: string, opts: { quickCheckMaxBytes?: number; busyTimeoutMs?: number } = {}): { quickChecked: boolean } {
  const problem = headerProblem(file);
  if (problem) throw new DatabaseDamagedError(file, problem);
  let db: Db | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true, timeout: opts.busyTimeoutMs ?? 15_000 });
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version >= 1 && !tables.includes(BRAIN_MARKER_TABLE)) {
      throw new DatabaseDamagedError(file, `its schema says brain version ${version} but the table "${BRAIN_MARKER_TABLE}" is missing`);
    }
    if (sizeOr0(file) + sizeOr0(file + '-wal') > (opts.quickCheckMaxBytes ?? QUICK_CHECK_AT_OPEN_BYTES)) return { quickChecked: false };
    const result = quickCheck(db);
    if (result !== 'ok') throw new DatabaseDamagedError(file, `quick_check: ${result}`);
    return { quickChecked: true };
  } catch (err) {
    if (isCorruption(err)) throw new DatabaseDamagedError(file, (err as Error).message);
    throw err;
  } finally {
    db?.close();
  }
}

/** PRAGMA quick_check (the first 10 problems joined), 'ok' when the b-trees are sound. */
export function quickCheck(db: Db): string {
  const rows = db.pragma('quick_check(10)') as { quick_check: string }[];
  return rows.map((r) => r.quick_check).join('; ');
}

const checkedAtOpen = new WeakSet<Db>();

/** Whether openDatabase made the file or ran a full quick_check on it (else integrity-watch.ts checks it). */
export function wasCheckedAtOpen(db: Db): boolean {
  return checkedAtOpen.has(db);
}

const sameFile = (a: fs.Stats | undefined, b: fs.Stats | undefined) => !!a && !!b && a.dev === b.dev && a.ino === b.ino;

function statOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch {
    return undefined;
  }
}

/**
 * Makes a new database beside `file` and puts it in place with link(), which never replaces a
 * file: so no process ever sees a half-made database at the path (a 0-byte file there is damage,
 * not "new"), and brains starting together on a new path all end up on the same file.
 */
function createDatabaseFile(file: string, opts: OpenOptions): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.creating-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const db = new Database(tmp, { timeout: opts.busyTimeoutMs ?? 15_000 });
    try {
      configure(db, opts);
      migrate(db);
    } finally {
      db.close();
    }
    try {
      fs.linkSync(tmp, file);
    } catch (err) {
      // Another brain created it first: use theirs.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  } finally {
    for (const suffix of ['', '-wal', '-shm', '-journal']) fs.rmSync(tmp + suffix, { force: true });
  }
}

/**
 * Opens (creating when needed) the database and brings its schema up to date. An existing file is
 * checked first (checkDatabaseFile): a damaged one is refused before anything is written to it.
 */
export function openDatabase(file: string, opts: OpenOptions = {}): Db {
  if (file === ':memory:') return connect(file, opts);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
  for (let attempt = 0; ; attempt++) {
    let checked = false;
    if (!fs.existsSync(file) && !opts.readonly) {
      createDatabaseFile(file, opts);
      checked = true;
    } else if (fs.existsSync(file)) {
      checked = checkDatabaseFile(file, { quickCheckMaxBytes: opts.quickCheckMaxBytes, busyTimeoutMs: opts.busyTimeoutMs }).quickChecked;
    }
    const before = statOrUndefined(file);
    const db = new Database(file, { readonly: opts.readonly ?? false, fileMustExist: true, timeout: opts.busyTimeoutMs ?? 15_000 });
    try {
      // The first read waits for any lock (brain restore holds one while it swaps files). If the
      // path then names another file, this connection is on the replaced one: start again
      // before it opens a WAL, whose name would be the new file's.
      db.pragma('schema_version');
      if (!sameFile(before, statOrUndefined(file))) {
        db.close();
        if (attempt < 3) continue;
        throw new Error(`${file} was replaced again each time brain opened it; is a restore running in a loop?`);
      }
      finishOpen(db, opts);
      if (checked) checkedAtOpen.add(db);
      return db;
    } catch (err) {
      if (db.open) db.close();
      if (isCorruption(err)) throw new DatabaseDamagedError(file, (err as Error).message);
      throw err;
    }
  }
}

function connect(file: string, opts: OpenOptions): Db {
  const db = new Database(file, { readonly: opts.readonly ?? false, timeout: opts.busyTimeoutMs ?? 15_000 });
  try {
    return finishOpen(db, opts);
  } catch (err) {
    db.close();
    throw err;
  }
}

function finishOpen(db: Db, opts: OpenOptions): Db {
  configure(db, opts);
  if (!opts.readonly) migrate(db);
  return db;
}

function configure(db: Db, opts: OpenOptions) {
  if (!opts.readonly) {
    // WAL lets readers and one writer work at once, which is what several brain processes need.
    db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode is durable against application crashes; only power loss can drop the last commits.
    db.pragma('synchronous = NORMAL');
  }
  db.pragma('foreign_keys = ON');
  db.pragma(`cache_size = -${(opts.cacheSizeMb ?? 16) * 1024}`);
  db.pragma('temp_store = MEMORY');
  // No memory map by default: pages read through one count in the resident size of every process
  // that touched them (a brain that had scanned its 130 MB table showed 100 MB more RSS), while
  // reads through the page cache stay in the kernel's cache, shared, plus this connection's own
  // cache_size. Measured at 100k memories: recall as fast either way (see README, "Scale").
  db.pragma(`mmap_size = ${(opts.mmapSizeMb ?? 0) * 1024 * 1024}`);
}

function migrate(db: Db) {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new DatabaseVersionError(
      `this database was written by a newer brain (schema ${current}, this brain knows ${SCHEMA_VERSION}); upgrade brain or point BRAIN_DB_PATH elsewhere`,
    );
  }
  // schema.sql runs on every open: it only creates what is missing, so a new table reaches
  // existing files without a version bump. IMMEDIATE: processes starting together take turns.
  db.transaction(() => {
    const now = db.pragma('user_version', { simple: true }) as number;
    for (let v = now + 1; v <= SCHEMA_VERSION; v++) if (now > 0) MIGRATIONS[v]?.(db);
    db.exec(loadSchemaSql());
    if (now !== SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

const statementCache = new WeakMap<Db, Map<string, Statement>>();

/** A prepared statement, prepared once per connection (preparing is most of a small query's cost). */
export function stmt(db: Db, sql: string): Statement {
  let cache = statementCache.get(db);
  if (!cache) statementCache.set(db, (cache = new Map()));
  let s = cache.get(sql);
  if (!s) cache.set(sql, (s = db.prepare(sql)));
  return s;
}

/** Timestamps are stored as UTC text that sorts, and that SQLite's date functions read. */
export function toDbTime(ms: number = Date.now()): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

export function fromDbTime(text: string): number {
  return Date.parse(text.replace(' ', 'T') + 'Z');
}

export interface CheckpointResult {
  busy: number;
  log: number;
  checkpointed: number;
}

/**
 * Copies the whole WAL into the database file and empties it. Another connection checkpointing
 * at that moment (a serving brain's background checkpointer, see checkpointer.ts) makes SQLite
 * answer "busy" at once, without waiting: so this retries for up to about a second.
 */
export function truncateWal(db: Db, tries = 40): CheckpointResult {
  for (let i = 0; ; i++) {
    const [r] = db.pragma('wal_checkpoint(TRUNCATE)') as CheckpointResult[];
    if (r.busy === 0 || i >= tries) return r;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25);
  }
}

/**
 * Runs `work` without waiting for another connection's write lock: SQLITE_BUSY comes at once
 * instead of after the busy timeout. For background writes (access statistics, the word list):
 * better-sqlite3 waits synchronously, so waiting there would hold up every call meanwhile.
 */
export function withoutWaiting<T>(db: Db, work: () => T): T {
  const timeout = db.pragma('busy_timeout', { simple: true }) as number;
  db.pragma('busy_timeout = 0');
  try {
    return work();
  } finally {
    if (db.open) db.pragma(`busy_timeout = ${timeout}`);
  }
}

/** Whether an error is SQLite's "another connection holds the lock". */
export function isBusy(err: unknown): boolean {
  return typeof (err as { code?: unknown })?.code === 'string' && (err as { code: string }).code.startsWith('SQLITE_BUSY');
}

/** Database file size including the WAL, for statistics and metrics. */
export function databaseSizeBytes(db: Db): number {
  const page = db.pragma('page_size', { simple: true }) as number;
  const count = db.pragma('page_count', { simple: true }) as number;
  let wal = 0;
  if (db.name !== ':memory:') {
    try {
      wal = fs.statSync(db.name + '-wal').size;
    } catch {
      /* no WAL file yet */
    }
  }
  return page * count + wal;
}
