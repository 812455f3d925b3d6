// An in-process index of every memory for recall: its words (WordIndex) and the columns that
// ranking and filters read (MemoryMeta), so a search reads only the rows it returns.
// It is kept in step with the database, which other brain processes may write to as well
// (Claude Desktop starts two; several clients share one file).
//
// Triggers log every change to a memory in memory_changes (schema.sql), in commit order, except
// access statistics: this process applies its own accesses directly, and another process's
// accesses reach it with that memory's next logged change (they weigh little in ranking).
// Before a search, the index applies the changes it has not seen (a cheap max(seq) check when
// there are none). It also keeps the text of every memory up to CONTENT_KEPT characters, so a
// search whose results are all short reads no rows at all. It is built in small slices after start-up, so start-up and other calls are
// not held up; until it is ready, or while it is far behind, recall uses FTS5 directly.
import { fromDbTime, stmt, type Db } from '../core/db.js';
import { runLater } from '../core/later.js';
import type { Logger } from '../core/logger.js';
import type { HitRow } from './types.js';
import { WordIndex } from './word-index.js';

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
const CATCH_UP_BATCH = 20;
/**
 * This process's own writes are applied once writing pauses for this long, or after this many,
 * so that a burst of writes is not slowed by index work between them (a search applies what is
 * pending anyway).
 */
const SETTLE_MS = 200;
const SETTLE_WRITES = 500;
/** Wait before rebuilding after a failure (a database that went away, say). */
const RETRY_MS = 5_000;
/** Changes kept in memory_changes; a process further behind than this rebuilds its index. */
const CHANGES_KEPT = 50_000;
/**
 * Longer texts are read from the file when shown (about 25 MB more memory at 100k memories of a
 * few hundred characters; reading the rows was a fifth of a recall's own time).
 */
export const CONTENT_KEPT = 2_000;

export function latestChange(db: Db): number {
  return (stmt(db, 'SELECT max(seq) FROM memory_changes').pluck().get() as number | null) ?? 0;
}

/** Drops the oldest logged changes (run by the scheduled purge). */
export function pruneChanges(db: Db): number {
  return stmt(db, 'DELETE FROM memory_changes WHERE seq <= (SELECT max(seq) FROM memory_changes) - ?').run(CHANGES_KEPT).changes;
}

/** Every column of a memory that search results, ranking and filters read. */
export interface MemoryMeta extends Omit<HitRow, 'content'> {
  /** The text, or null when it is longer than CONTENT_KEPT (read from the file when shown). */
  content: string | null;
  /** When it was last used (accessed_at, or updated_at if never accessed), in ms. */
  last_used_ms: number;
}

export interface IndexView {
  words: WordIndex;
  meta: ReadonlyMap<number, MemoryMeta>;
  /** The last logged change (memory_changes.seq) the index reflects. */
  readonly seq: number;
}

const COLUMNS = `id, project, key, content, type, tags, importance, storage_tier, access_count, version,
  coalesce(accessed_at, updated_at) AS last_used, updated_at, expires_at`;
type IndexedRow = HitRow & { last_used: string };

function metaOf(row: IndexedRow): MemoryMeta {
  return {
    id: row.id,
    project: row.project,
    key: row.key,
    content: row.content.length <= CONTENT_KEPT ? row.content : null,
    type: row.type,
    tags: row.tags,
    importance: row.importance,
    storage_tier: row.storage_tier,
    access_count: row.access_count,
    version: row.version,
    updated_at: row.updated_at,
    expires_at: row.expires_at,
    last_used_ms: fromDbTime(row.last_used),
  };
}

/** How many memories there are, in the hot tier, and per project (init shows them). */
export interface MemoryCounts {
  total: number;
  hot: number;
  byProject: ReadonlyMap<string, number>;
}

class Built implements IndexView, MemoryCounts {
  readonly words = new WordIndex();
  readonly meta = new Map<number, MemoryMeta>();
  seq = 0;
  hot = 0;
  readonly byProject = new Map<string, number>();

  get total(): number {
    return this.meta.size;
  }

  set(row: IndexedRow, words: boolean): void {
    if (words || !this.words.has(row.id)) this.words.set(row.id, row);
    const meta = metaOf(row);
    // This process's own uses reach the file up to 10 s later (service.ts): keep them meanwhile.
    const before = this.meta.get(row.id);
    if (before && before.key === meta.key && before.project === meta.project) {
      meta.access_count = Math.max(meta.access_count, before.access_count);
      meta.last_used_ms = Math.max(meta.last_used_ms, before.last_used_ms);
    }
    if (before) this.count(before, -1);
    this.count(meta, 1);
    this.meta.set(row.id, meta);
  }

  delete(id: number): void {
    const before = this.meta.get(id);
    if (before) this.count(before, -1);
    this.words.delete(id);
    this.meta.delete(id);
  }

  private count(m: MemoryMeta, delta: number): void {
    if (m.storage_tier === 'hot') this.hot += delta;
    const n = (this.byProject.get(m.project) ?? 0) + delta;
    if (n === 0) this.byProject.delete(m.project);
    else this.byProject.set(m.project, n);
  }
}

export class LiveIndex {
  /** The index once built (its `seq` is the last change it reflects). */
  private index?: Built;
  private building?: { index: Built; lastId: number };
  /** Cancels the background work waiting to run, if any. */
  private cancelPending?: () => void;
  private settleTimer?: NodeJS.Timeout;
  private lastWriteAt = 0;
  private writesPending = 0;
  private started = false;
  private stopped = false;

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
  ) {}

  /** Starts building the index from every memory, in the background. */
  start(): void {
    this.started = true;
    this.stopped = false;
    this.rebuild();
  }

  stop(): void {
    this.stopped = true;
    this.cancelLater();
    clearTimeout(this.settleTimer);
    this.settleTimer = undefined;
  }

  /** For brain stats: whether recall can use the index, and how many memories it holds. */
  status(): { state: 'ready' | 'building' | 'off'; memories: number; changes_behind: number } {
    // Pending changes first, so the count matches the database.
    const index = this.index ? this.current() : undefined;
    const changes_behind = this.behind();
    if (index) return { state: 'ready', memories: index.meta.size, changes_behind };
    if (this.started && !this.stopped) return { state: 'building', memories: this.building?.index.meta.size ?? 0, changes_behind };
    return { state: 'off', memories: 0, changes_behind: 0 };
  }

  /** Whether searches are served by the index (for statistics, benchmarks and tests). */
  get ready(): boolean {
    return this.index !== undefined;
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
    return this.current() ? this.index : undefined;
  }

  /** This process used these memories (their access statistics are written to the file later). */
  accessed(ids: Iterable<number>, nowMs = Date.now()): void {
    if (!this.index) return;
    for (const id of ids) {
      const meta = this.index.meta.get(id);
      if (!meta) continue;
      meta.access_count++;
      meta.last_used_ms = nowMs;
    }
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
    if (this.stopped || this.cancelPending) return;
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

  /** One slice of background work: building, or catching up with logged changes. */
  private step(): void {
    if (this.stopped) return;
    const started = performance.now();
    const b = this.building;
    if (b) {
      const read = stmt(this.db, `SELECT ${COLUMNS} FROM memories WHERE id > ? ORDER BY id LIMIT ?`);
      let rows: IndexedRow[];
      do {
        rows = read.all(b.lastId, BUILD_BATCH) as IndexedRow[];
        for (const row of rows) b.index.set(row, true);
        if (rows.length > 0) b.lastId = rows[rows.length - 1].id;
      } while (rows.length === BUILD_BATCH && performance.now() - started < SLICE_MS);
      if (rows.length === BUILD_BATCH) return this.schedule(0);
      // The index's seq was taken before the first row was read, so rows may already hold later
      // changes; applying those changes re-reads the same rows: nothing is missed or doubled.
      this.index = b.index;
      this.building = undefined;
      this.logger.debug('recall index built', { memories: b.index.meta.size });
    }
    if (!this.index || latestChange(this.db) === this.index.seq) return;
    let more: boolean;
    do more = this.catchUp(CATCH_UP_BATCH);
    while (more && performance.now() - started < SLICE_MS);
    if (more) this.schedule(0);
  }

  /** Logged changes not applied yet (while building: since the build began). */
  private behind(): number {
    const seq = (this.index ?? this.building?.index)?.seq;
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
      // Older changes were pruned before this process saw them: start over.
      this.rebuild();
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

  private rebuild(): void {
    this.index = undefined;
    const index = new Built();
    index.seq = latestChange(this.db);
    this.building = { index, lastId: 0 };
    this.schedule(0);
  }

  private fail(err: unknown): void {
    if (this.stopped) return;
    // Searching still works through FTS5; the index is rebuilt from scratch.
    this.logger.warn('recall index failed; recall uses FTS5 while it is rebuilt', { error: String(err) });
    this.index = undefined;
    this.building = undefined;
    this.cancelLater();
    this.later(RETRY_MS, () => this.rebuild());
  }
}
