// The one SQLite file: opening it, pragmas, schema and migrations, and a prepared-statement cache.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

export type Db = Database.Database;
export type Statement = Database.Statement;

/**
 * Bump only when an existing table changes shape (ALTER TABLE, a data fix), and add the step to
 * MIGRATIONS. New tables, indexes and triggers just go into schema.sql: it only ever uses
 * CREATE ... IF NOT EXISTS and runs at every open.
 */
export const SCHEMA_VERSION = 1;

/** Steps that bring a file from version N-1 to N, run before schema.sql (index = target version). */
const MIGRATIONS: Record<number, (db: Db) => void> = {};

export interface OpenOptions {
  busyTimeoutMs?: number;
  cacheSizeMb?: number;
  readonly?: boolean;
}

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

/** Opens (creating when needed) the database and brings its schema up to date. */
export function openDatabase(file: string, opts: OpenOptions = {}): Db {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
  const db = new Database(file, { readonly: opts.readonly ?? false, timeout: opts.busyTimeoutMs ?? 15_000 });
  try {
    configure(db, opts);
    if (!opts.readonly) migrate(db);
  } catch (err) {
    db.close();
    throw err;
  }
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
  db.pragma(`cache_size = -${(opts.cacheSizeMb ?? 64) * 1024}`);
  db.pragma('temp_store = MEMORY');
  db.pragma('mmap_size = 268435456');
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
