// An in-process index of every memory for recall: its words (WordIndex), the columns that ranking
// and filters read (DocTable) and the stored words that typo tolerance looks up (WordList), so a
// search reads from SQLite only the rows it shows. It is kept in step with the database, which
// other brain processes may write to as well (Claude Desktop starts two; several clients share
// one file).
//
// Triggers log every change to a memory in memory_changes (schema.sql), in commit order, except
// access statistics: this process applies its own accesses directly, and another process's
// accesses reach it with that memory's next logged change (they weigh little in ranking).
// Before a search, the index applies the changes it has not seen (a cheap max(seq) check when
// there are none).
//
// Start-up: the index is loaded from the file beside the database (index-file.ts), then brought
// up to date from the change log. Without a usable file it is built from the rows, a batch at a
// time, without holding them all; with a file the log no longer reaches back to (or one that
// belongs to another state of the database) the file is checked against every row instead, and
// only memories that differ are indexed again. A large index that has seen many changes since the
// file was written writes it again, so the next process loads rather than builds. All of this runs
// in small slices after start-up, so start-up and calls are not held up; until the index is
// ready, or while it is far behind, recall uses FTS5 directly.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fromDbTime, isBusy, openDatabase, stmt, toDbTime, withoutWaiting, type Db } from '../core/db.js';
import { runLater } from '../core/later.js';
import type { Logger } from '../core/logger.js';
import { DocTable, keyHashOf, type IndexedRow } from './doc-table.js';
import { readIndexFile, writeIndexFile, type Snapshot } from './index-file.js';
import { refreshWordList } from './terms.js';
import { WordIndex, type MergeJob } from './word-index.js';
import { WordList } from './word-list.js';

/** A search applies at most this many pending changes itself; a longer backlog is applied in the background. */
const INLINE_CHANGES = 2_000;
/**
 * Background work comes in slices of about SLICE_MS, one per turn of the event loop, so a call
 * arriving meanwhile waits for one slice at most (slices of 500 changes took 10-30 ms). Within a
 * slice, memories are read in batches while building, and changes applied in batches while
 * catching up (each re-reads and re-indexes a memory, ~50 us).
 */
const SLICE_MS = 2;
const BUILD_BATCH = 100;
const MERGE_SHARE_MS = 0.5;
const CATCH_UP_BATCH = 20;
/** Rows per slice when access statistics are read again after loading the file (an id range). */
const REFRESH_IDS = 20_000;
/**
 * This process's own writes are applied once writing pauses for this long, or after this many,
 * so that a burst of writes is not slowed by index work between them (a search applies what is
 * pending anyway).
 */
const SETTLE_MS = 200;
const SETTLE_WRITES = 500;
/** Wait before rebuilding after a failure (a database that went away, say). */
const RETRY_MS = 5_000;
/** Changes kept in memory_changes; a process further behind than this checks its index against every row. */
const CHANGES_KEPT = 50_000;
/**
 * The index file is written for indexes of at least this many memories (smaller ones build in
 * well under a second: 0.4 s at 10,000), once the file is this many changes behind: a twentieth
 * of the memories, from 1,000 up to half of what the change log keeps (so a process loading the
 * file can always catch up from the log). Checked at most every PERSIST_CHECK_MS.
 */
const PERSIST_MIN_MEMORIES = 20_000;
const PERSIST_CHECK_MS = 10_000;

export function latestChange(db: Db): number {
  return (stmt(db, 'SELECT max(seq) FROM memory_changes').pluck().get() as number | null) ?? 0;
}

/** Drops the oldest logged changes (run by the scheduled purge). */
export function pruneChanges(db: Db): number {
  return stmt(db, 'DELETE FROM memory_changes WHERE seq <= (SELECT max(seq) FROM memory_changes) - ?').run(CHANGES_KEPT).changes;
}

export interface IndexView {
  words: WordIndex;
  docs: DocTable;
  /** The stored words, for typo and fragment lookups. */
  wordList: WordList;
  /** The last logged change (memory_changes.seq) the index reflects. */
  readonly seq: number;
}

const COLUMNS = `id, project, key, content, type, tags, importance, storage_tier, access_count, version,
  coalesce(accessed_at, updated_at) AS last_used, updated_at, expires_at`;

/** How many memories there are, in the hot tier, and per project (init shows them). */
export interface MemoryCounts {
  total: number;
  hot: number;
  inProject(project: string): number;
}

class Built implements IndexView {
  seq = 0;
  constructor(
    readonly words: WordIndex = new WordIndex(),
    readonly docs: DocTable = new DocTable(),
    public wordList: WordList = new WordList(),
  ) {}

  set(row: IndexedRow, words: boolean): void {
    if (words || !this.words.has(row.id)) this.words.set(row.id, row);
    this.docs.set(row);
  }

  delete(id: number): void {
    this.words.delete(id);
    this.docs.delete(id);
  }
}

/** Whether a row is the memory the index holds, with the same text (so its words need not be read again). */
function unchanged(index: Built, row: IndexedRow): boolean {
  const slot = index.docs.slotOf(row.id);
  return (
    slot >= 0 &&
    index.words.has(row.id) &&
    index.docs.versionAt(slot) === row.version &&
    index.docs.updatedAt(slot) === fromDbTime(row.updated_at) &&
    index.docs.projectAt(slot) === row.project &&
    index.docs.keyHashAt(slot) === keyHashOf(row.key)
  );
}

/**
 * A pass over every row: building an index from nothing, or checking one (loaded from a file, or
 * behind a pruned log) against the database. Rows are read in id order, a batch at a time.
 */
interface Scan {
  index: Built;
  /**
   * The connection the rows are read through: its own, read-only and without memory mapping, so
   * the pages of every row pass through the system's cache instead of staying mapped into this
   * process (at 100k memories the mapped file added 70 MB to its resident size).
   */
  reader: Db;
  lastId: number;
  /** Slots of the memories the index held when the pass began, marked as rows are seen. */
  seen: Uint8Array;
  /** Whether the rows are done and the stored words are being read. */
  words: boolean;
}

export interface LiveIndexOptions {
  /** Where the index file is (undefined: no file, for in-memory databases). */
  file?: string;
  /** Write the file for indexes of at least this many memories. */
  persistMinMemories?: number;
}

export class LiveIndex {
  /** The index once built (its `seq` is the last change it reflects). */
  private index?: Built;
  private scan?: Scan;
  private loading = false;
  /** Access statistics read again after loading the file: the next id range, and since when. */
  private refresh?: { nextId: number; maxId: number; since: string; reader: Db };
  private merge?: MergeJob;
  private persisting = false;
  private lastPersistCheck = -Infinity;
  /** Cancels the background work waiting to run, if any. */
  private cancelPending?: () => void;
  private settleTimer?: NodeJS.Timeout;
  private lastWriteAt = 0;
  private writesPending = 0;
  private started = false;
  private stopped = false;
  /** Bumped by start/stop/failure, so a file read that finishes late is dropped. */
  private generation = 0;
  private readonly file?: string;
  private readonly persistMin: number;

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
    opts: LiveIndexOptions = {},
  ) {
    this.file = opts.file;
    this.persistMin = opts.persistMinMemories ?? PERSIST_MIN_MEMORIES;
  }

  /** Loads or builds the index, in the background. */
  start(): void {
    this.started = true;
    this.stopped = false;
    this.generation++;
    void this.load(this.generation);
  }

  stop(): void {
    this.stopped = true;
    this.generation++;
    this.endScan();
    this.endRefresh();
    this.cancelLater();
    clearTimeout(this.settleTimer);
    this.settleTimer = undefined;
  }

  /** For brain stats: whether recall can use the index, and how many memories it holds. */
  status(): { state: 'ready' | 'building' | 'off'; memories: number; changes_behind: number } {
    // Pending changes first, so the count matches the database.
    const index = this.index ? this.current() : undefined;
    const changes_behind = this.behind();
    if (index) return { state: 'ready', memories: index.docs.total, changes_behind };
    if (this.started && !this.stopped) return { state: 'building', memories: this.scan?.index.docs.total ?? 0, changes_behind };
    return { state: 'off', memories: 0, changes_behind: 0 };
  }

  /** Whether searches are served by the index (for statistics, benchmarks and tests). */
  get ready(): boolean {
    return this.index !== undefined;
  }

  /** What the index holds and the bytes it takes, part by part (for benchmarks). */
  footprint(): Record<string, number> | undefined {
    const index = this.index;
    if (!index) return undefined;
    const words = index.words.stats();
    return {
      memories: index.docs.total,
      terms: words.terms,
      postings: words.postings,
      segments: words.segments,
      word_index_bytes: words.bytes,
      doc_table_bytes: index.docs.bytes,
      stored_words: index.wordList.size,
      word_list_bytes: index.wordList.bytes,
    };
  }

  /**
   * The index with every committed change applied, or undefined while it is being built or is
   * too far behind to catch up within one call (the caller then searches with FTS5).
   */
  current(): IndexView | undefined {
    if (!this.index) return undefined;
    try {
      const latest = latestChange(this.db);
      if (latest === this.index.seq) return this.index;
      if (latest < this.index.seq) {
        // The log went back: the file was replaced (a restored backup). Check every row.
        this.startScan(this.index);
        return undefined;
      }
      if (latest - this.index.seq > INLINE_CHANGES) {
        this.schedule(0);
        return undefined;
      }
      this.catchUp(INLINE_CHANGES);
      return this.index;
    } catch (err) {
      this.fail(err);
      return undefined;
    }
  }

  /** Counts as of every committed change, or undefined when the index cannot say (see current()). */
  counts(): MemoryCounts | undefined {
    const index = this.current() ? this.index! : undefined;
    return index && { total: index.docs.total, hot: index.docs.hot, inProject: (project) => index.docs.inProject(project) };
  }

  /** This process used these memories (their access statistics are written to the file later). */
  accessed(ids: Iterable<number>, nowMs = Date.now()): void {
    if (!this.index) return;
    for (const id of ids) this.index.docs.accessed(id, nowMs);
  }

  /** This process wrote memories: apply the changes soon, off the caller's path. */
  changed(): void {
    if (!this.index) return;
    this.lastWriteAt = performance.now();
    if (++this.writesPending >= SETTLE_WRITES) {
      this.writesPending = 0;
      clearTimeout(this.settleTimer);
      this.settleTimer = undefined;
      this.schedule(0);
    } else if (!this.settleTimer) {
      this.settle(SETTLE_MS);
    }
  }

  /** Waits until writing has paused for SETTLE_MS, then applies the changes. */
  private settle(delayMs: number): void {
    if (this.stopped) return;
    this.settleTimer = setTimeout(() => {
      this.settleTimer = undefined;
      const quiet = performance.now() - this.lastWriteAt;
      if (quiet < SETTLE_MS) return this.settle(SETTLE_MS - quiet);
      this.writesPending = 0;
      this.schedule(0);
    }, delayMs);
    this.settleTimer.unref();
  }

  /**
   * Runs one piece of background work after `delayMs`, or (0) at the next turn of the event loop,
   * after pending I/O such as a client's call. One at a time; a failure goes to fail().
   */
  private later(delayMs: number, work: () => void): void {
    if (this.stopped || this.cancelPending || this.loading) return;
    const run = () => {
      this.cancelPending = undefined;
      try {
        work();
      } catch (err) {
        this.fail(err);
      }
    };
    this.cancelPending = runLater(delayMs, run);
  }

  private cancelLater(): void {
    this.cancelPending?.();
    this.cancelPending = undefined;
  }

  private schedule(delayMs: number): void {
    this.later(delayMs, () => this.step());
  }

  /** Reads the index file (without blocking calls meanwhile), then builds, checks or catches up. */
  private async load(generation: number): Promise<void> {
    this.index = undefined;
    this.endScan();
    this.endRefresh();
    this.loading = true;
    let snapshot: Snapshot | undefined;
    try {
      if (this.file) snapshot = await readIndexFile(this.file);
    } finally {
      if (generation === this.generation) this.loading = false;
    }
    if (generation !== this.generation || this.stopped) return;
    try {
      if (!snapshot) return this.startScan(new Built());
      const index = new Built(new WordIndex({}, snapshot.words), new DocTable(snapshot.docs), new WordList(snapshot.wordList));
      const recorded = stmt(this.db, 'SELECT token, seq FROM recall_index_file WHERE id = 1').get() as { token: string; seq: number } | undefined;
      const first = stmt(this.db, 'SELECT min(seq) FROM memory_changes').pluck().get() as number | null;
      const latest = latestChange(this.db);
      const logReaches = snapshot.seq === latest || (first !== null && first <= snapshot.seq + 1);
      if (recorded?.token === snapshot.token && snapshot.seq <= latest && logReaches) {
        index.seq = snapshot.seq;
        this.index = index;
        const maxId = (stmt(this.db, 'SELECT max(id) FROM memories').pluck().get() as number | null) ?? 0;
        // Other processes' uses since the file was written are not in the log: read them again.
        this.refresh = { nextId: 0, maxId, since: toDbTime(snapshot.writtenAt - 60_000), reader: this.sideReader() };
        this.logger.debug('recall index loaded', { memories: index.docs.total, seq: index.seq, behind: latest - index.seq });
        this.schedule(0);
        return;
      }
      // Not this database's latest file: check every row, reading the stored words again too.
      index.wordList = new WordList();
      this.startScan(index);
    } catch (err) {
      this.fail(err);
    }
  }

  /** Begins a pass over every row (see Scan); the index serves no search until it is done. */
  private startScan(index: Built): void {
    this.endScan();
    this.index = undefined;
    this.merge = undefined;
    index.seq = latestChange(this.db);
    this.scan = { index, reader: this.sideReader(), lastId: Number.MIN_SAFE_INTEGER, seen: new Uint8Array(index.docs.capacity), words: false };
    this.schedule(0);
  }

  /**
   * A read-only connection for passes over every row (a build, a refresh of access statistics).
   * Without mmap: read through the main connection's mapping, a pass over a 130 MB table left all
   * of it in this process's resident size (102 MB more RSS at 100k memories, in every process on
   * the file). Read like this, the pages stay in the kernel's cache, shared, and out of our RSS.
   */
  private sideReader(): Db {
    if (this.db.name === ':memory:' || this.db.name === '') return this.db;
    // The file was checked when this process opened it: no second quick_check here.
    const reader = openDatabase(this.db.name, { readonly: true, cacheSizeMb: 2, quickCheckMaxBytes: 0 });
    reader.pragma('mmap_size = 0');
    return reader;
  }

  private closeReader(reader: Db | undefined): void {
    if (reader && reader !== this.db && reader.open) reader.close();
  }

  private endScan(): void {
    const reader = this.scan?.reader;
    this.scan = undefined;
    this.closeReader(reader);
  }

  private endRefresh(): void {
    const reader = this.refresh?.reader;
    this.refresh = undefined;
    this.closeReader(reader);
  }

  /** One slice of background work: a pass over the rows, catching up, merging, refreshing. */
  private step(): void {
    if (this.stopped) return;
    const started = performance.now();
    const budget = () => SLICE_MS - (performance.now() - started);
    if (this.scan) {
      if (!this.scanStep(budget)) return this.schedule(0);
    }
    const index = this.index;
    if (!index) return;
    let more = false;
    if (latestChange(this.db) !== index.seq) {
      do more = this.catchUp(CATCH_UP_BATCH);
      while (more && budget() > 0);
    }
    if (!this.index) return;
    if (!more && budget() > 0) more = this.mergeStep(budget());
    if (!more && budget() > 0 && this.refresh) more = this.refreshStep();
    if (more) return this.schedule(0);
    this.maybePersist();
  }

  /** Reads rows for the pass; true once it is done and the index serves searches. */
  private scanStep(budget: () => number): boolean {
    const scan = this.scan!;
    const { index } = scan;
    if (!scan.words) {
      const read = stmt(scan.reader, `SELECT ${COLUMNS} FROM memories WHERE id > ? ORDER BY id LIMIT ?`);
      let rows: IndexedRow[];
      do {
        rows = read.all(scan.lastId, BUILD_BATCH) as IndexedRow[];
        for (const row of rows) {
          index.set(row, !unchanged(index, row));
          const slot = index.docs.slotOf(row.id);
          if (slot < scan.seen.length) scan.seen[slot] = 1;
        }
        if (rows.length > 0) scan.lastId = rows[rows.length - 1].id;
        // Merges get a share of every slice, so segments do not pile up during a long build.
        index.words.mergeJob()?.step(Math.max(MERGE_SHARE_MS, budget()));
      } while (rows.length === BUILD_BATCH && budget() > 0);
      if (rows.length === BUILD_BATCH) return false;
      // Memories the index held that no row matched any more are gone.
      for (let slot = 0; slot < scan.seen.length; slot++) if (!scan.seen[slot] && index.docs.isLive(slot)) index.delete(index.docs.idAt(slot));
      scan.words = true;
    }
    while (budget() > 0) if (refreshWordList(scan.reader, index.wordList, 2_000) < 2_000) break;
    if (budget() <= 0) return false;
    // The index's seq was taken before the first row was read, so rows may already hold later
    // changes; applying those changes re-reads the same rows: nothing is missed or doubled.
    this.index = index;
    this.endScan();
    this.logger.debug('recall index built', { memories: index.docs.total });
    this.lastPersistCheck = -Infinity;
    return true;
  }

  /** Runs merges of the word index a slice at a time; true if more remain. */
  private mergeStep(budgetMs: number): boolean {
    this.merge ??= this.index!.words.mergeJob();
    if (!this.merge) return false;
    if (this.merge.step(budgetMs)) this.merge = undefined;
    return true;
  }

  /** Reads access statistics recorded since the loaded file was written, one id range per call. */
  private refreshStep(): boolean {
    const r = this.refresh!;
    const rows = stmt(
      r.reader,
      'SELECT id, access_count, coalesce(accessed_at, updated_at) FROM memories WHERE id > ? AND id <= ? AND accessed_at >= ?',
    ).raw().all(r.nextId, r.nextId + REFRESH_IDS, r.since) as [number, number, string][];
    for (const [id, count, lastUsed] of rows) this.index!.docs.refreshUse(id, count, lastUsed);
    r.nextId += REFRESH_IDS;
    if (r.nextId < r.maxId) return true;
    this.endRefresh();
    return false;
  }

  /** Logged changes not applied yet (while building: since the build began). */
  private behind(): number {
    const seq = (this.index ?? this.scan?.index)?.seq;
    return seq === undefined ? 0 : latestChange(this.db) - seq;
  }

  /** Applies up to `max` logged changes; true if more remain. */
  private catchUp(max: number): boolean {
    const index = this.index!;
    const changes = stmt(this.db, 'SELECT seq, memory_id, words FROM memory_changes WHERE seq > ? ORDER BY seq LIMIT ?').all(index.seq, max) as {
      seq: number;
      memory_id: number;
      words: number;
    }[];
    if (changes.length === 0) return false;
    if (changes[0].seq !== index.seq + 1) {
      // Older changes were pruned before this process saw them: check the index against every row.
      this.startScan(index);
      return false;
    }
    // Each memory is read once, as it is now, however many of its changes are pending.
    const wordsChanged = new Map<number, boolean>();
    for (const c of changes) wordsChanged.set(c.memory_id, (wordsChanged.get(c.memory_id) ?? false) || c.words === 1);
    const read = stmt(this.db, `SELECT ${COLUMNS} FROM memories WHERE id = ?`);
    for (const [id, words] of wordsChanged) {
      const row = read.get(id) as IndexedRow | undefined;
      if (row) index.set(row, words);
      else index.delete(id);
    }
    index.seq = changes[changes.length - 1].seq;
    return changes.length === max;
  }

  /**
   * Writes the index file when this index is large and the file is far behind it (see
   * PERSIST_MIN_MEMORIES). The file is written aside, then renamed into place in the same write
   * transaction that records its token, so the database always names the file that is there.
   */
  private maybePersist(): void {
    const index = this.index;
    if (!this.file || !index || this.persisting || this.merge || index.docs.total < this.persistMin) return;
    const now = performance.now();
    if (now - this.lastPersistCheck < PERSIST_CHECK_MS) return;
    this.lastPersistCheck = now;
    const recorded = stmt(this.db, 'SELECT seq FROM recall_index_file WHERE id = 1').pluck().get() as number | undefined;
    const due = Math.min(CHANGES_KEPT / 2, Math.max(1_000, Math.floor(index.docs.total / 20)));
    if (recorded !== undefined && recorded <= index.seq && index.seq - recorded < due && fs.existsSync(this.file)) return;
    const file = this.file;
    const snapshot: Snapshot = {
      token: randomBytes(16).toString('hex'),
      seq: index.seq,
      writtenAt: Date.now(),
      words: index.words.parts(),
      docs: index.docs.parts(),
      wordList: index.wordList.parts(),
    };
    const temporary = `${file}.${process.pid}.tmp`;
    const generation = this.generation;
    this.persisting = true;
    const started = performance.now();
    writeIndexFile(temporary, snapshot)
      .then(() => {
        if (generation !== this.generation || !this.db.open) throw new Error('stopped while writing');
        withoutWaiting(this.db, () =>
          this.db.transaction(() => {
            fs.renameSync(temporary, file);
            stmt(this.db, 'INSERT OR REPLACE INTO recall_index_file (id, token, seq, written_at) VALUES (1, ?, ?, ?)').run(snapshot.token, snapshot.seq, toDbTime(snapshot.writtenAt));
          }).immediate(),
        );
        this.logger.debug('recall index file written', { file, memories: index.docs.total, seq: snapshot.seq, ms: Math.round(performance.now() - started) });
      })
      .catch((err: unknown) => {
        fs.rmSync(temporary, { force: true });
        // Busy: another process holds the write lock; the next check tries again.
        if (!isBusy(err) && generation === this.generation) this.logger.warn('could not write the recall index file', { file, error: String(err) });
      })
      .finally(() => {
        this.persisting = false;
      });
  }

  private fail(err: unknown): void {
    if (this.stopped) return;
    // Searching still works through FTS5; the index is rebuilt from scratch.
    this.logger.warn('recall index failed; recall uses FTS5 while it is rebuilt', { error: String(err) });
    this.index = undefined;
    this.endScan();
    this.endRefresh();
    this.merge = undefined;
    this.cancelLater();
    const generation = ++this.generation;
    runLater(RETRY_MS, () => {
      if (generation === this.generation && !this.stopped) void this.load(generation);
    });
  }
}

/** The index file of a database (beside it), or undefined for an in-memory database. */
export function indexFileOf(dbPath: string): string | undefined {
  return dbPath === ':memory:' || dbPath === '' ? undefined : path.resolve(dbPath) + '.recall';
}
