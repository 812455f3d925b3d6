// The memory area's API: what its tools, init, search, the CLI and the maintenance tasks call;
// nothing outside the area sees its tables, its hot cache or its recall index. It owns the cache
// and the index (keeping both current after its own writes), batches access statistics and decides
// when to rebalance. It holds no SQL: that is in store.ts, relations.ts, search.ts, tiers.ts, transfer.ts,
// live-index.ts and terms.ts.
import { databaseSizeBytes, isBusy, toDbTime, withoutWaiting, type Db } from '../core/db.js';
import { NotFoundError, UserError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import { refuseSecrets } from '../core/secrets.js';
import { parseQuery, type Query } from '../text/query.js';
import { indexFileOf, latestChange, LiveIndex, pruneChanges } from './live-index.js';
import { flushTerms, pendingTerms } from './terms.js';
import { searchMemories, type SearchFilter, type SearchResult } from './search.js';
import * as store from './store.js';
import { linksOf, type Linked, type Relation } from './relations.js';
import { HotCache, rebalance, updateScores, type RebalanceOptions, type RebalanceResult, type TierBudget } from './tiers.js';
import { exportLines, exportRecords, exportServerMemory, importLines, importRecords, type ImportProgress, type ImportReport } from './transfer.js';
import type { AreaTransfer, NumberedRecord } from '../core/transfer.js';
import type { HitRow, MemoryRow } from './types.js';

/**
 * How long access statistics wait before they are written together. Each write rewrites the
 * pages of every memory used since the last one, so writing rarely saves most of that work under
 * load; the counts are ranking hints, and at most this much of them is lost in a crash.
 */
const TOUCH_FLUSH_MS = 10_000;
/** Retry after another process held the write lock. */
const BUSY_RETRY_MS = 1_000;
/**
 * The longest a scheduled rebalance is skipped while nothing changed (see runRebalance). Scores
 * drift with time by at most 0.2 / 30 per day (the recency part), which stays below rebalance's
 * 0.005 write threshold for 18 h: skipping for 6 h changes no outcome.
 */
const IDLE_REBALANCE_MAX_MS = 6 * 3_600_000;
/** Memories whose scores one write of a scheduled rebalance brings up to date (a few ms each). */
const SCORE_BATCH = 2_000;

export interface MemoryServiceOptions {
  db: Db;
  budget: TierBudget;
  maxContentBytes: number;
  retentionDays: number;
  /** Keep the in-process recall index (live-index.ts); false = FTS5 alone, less memory. */
  recallIndex: boolean;
  metrics: Metrics;
  logger: Logger;
}

export interface RememberArgs extends store.RememberInput {
  allowSecrets?: boolean;
}

export type MemoryService = ReturnType<typeof createMemoryService>;

export function createMemoryService(opts: MemoryServiceOptions) {
  const { db, metrics, logger } = opts;
  const cache = new HotCache(db);
  const recallIndex = new LiveIndex(db, logger, { file: indexFileOf(db.name) });
  if (opts.recallIndex) recallIndex.start();
  let rebalancePending = false;
  /** Where the change log stood after this process's last rebalance, and when it ran. */
  let lastRebalance: { seq: number; atMs: number } | undefined;
  /** Whether this process used memories since its last rebalance (their scores may have moved). */
  let usedSinceRebalance = false;

  // Access statistics are written in batches, not on every read: a recall then costs no write
  // transaction, and several processes contend less.
  const pendingTouches = new Map<number, number>();
  let touchTimer: NodeJS.Timeout | undefined;
  function touch(ids: number[]) {
    if (ids.length > 0) usedSinceRebalance = true;
    recallIndex.accessed(ids);
    for (const id of ids) pendingTouches.set(id, (pendingTouches.get(id) ?? 0) + 1);
    if (!touchTimer && pendingTouches.size > 0) flushTouchesLater(TOUCH_FLUSH_MS);
  }
  function flushTouchesLater(delayMs: number) {
    touchTimer = setTimeout(() => flushTouches(true), delayMs);
    touchTimer.unref();
  }
  /** `background`: from the timer, which never waits for another process's lock (busy: retry soon). */
  function flushTouches(background = false) {
    clearTimeout(touchTimer);
    touchTimer = undefined;
    if (pendingTouches.size === 0) return;
    try {
      if (background) withoutWaiting(db, () => store.touchMemories(db, pendingTouches));
      else store.touchMemories(db, pendingTouches);
    } catch (err) {
      if (background && isBusy(err)) return flushTouchesLater(BUSY_RETRY_MS);
      logger.warn('could not record memory accesses', { error: String(err) });
    }
    pendingTouches.clear();
  }

  /** How many memories there are in all, in the hot tier, and in `project` (init, metrics). */
  function counts(project: string): store.MemoryCounts {
    const kept = recallIndex.counts();
    if (kept) return { total: kept.total, hot: kept.hot, in_project: kept.inProject(project) };
    return store.countMemories(db, project);
  }

  function count(operation: string, tier: string) {
    metrics.memoryOperations.inc({ operation, tier });
  }

  /**
   * A scheduled rebalance is skipped while nothing it looks at changed: no memory was written by
   * any process (the change log ends where it ended after the last one) and this process used none.
   * Otherwise an idle brain rewrites its file every interval (a tier_moves row, and at 100k
   * memories a 70-100 ms pause), and every other process on the file reloads its hot cache.
   * Another process's uses reach the tiers through its own scheduled rebalance, or through this
   * one within IDLE_REBALANCE_MAX_MS.
   */
  function idleSkip(trigger: string, nowMs: number): RebalanceResult | undefined {
    if (
      trigger === 'schedule' && lastRebalance && !usedSinceRebalance &&
      nowMs - lastRebalance.atMs < IDLE_REBALANCE_MAX_MS && latestChange(db) === lastRebalance.seq
    ) {
      return { promoted: 0, demoted: 0, hot_items: cache.size, hot_bytes: cache.bytes, elapsed_ms: 0, skipped: true };
    }
  }

  /** In one write transaction: what an operator asks for (`brain rebalance`, /admin/rebalance-memory). */
  function runRebalance(trigger: string, nowMs = Date.now()): RebalanceResult {
    return idleSkip(trigger, nowMs) ?? chooseTiers(trigger, nowMs);
  }

  /**
   * What the scheduler and an overflowing hot tier run while sessions are served: scores are
   * brought up to date SCORE_BATCH rows per write, the event loop free between writes (and never
   * waiting on another process's lock), then the tiers are chosen in one short transaction.
   */
  async function rebalanceInSlices(trigger: string, nowMs = Date.now()): Promise<RebalanceResult> {
    const skipped = idleSkip(trigger, nowMs);
    if (skipped) return skipped;
    const started = performance.now();
    for (let after: number | undefined = Number.MIN_SAFE_INTEGER; after !== undefined; ) {
      // brain is stopping (an overflow rebalance is not a scheduled task the stop waits for).
      if (!db.open) return { promoted: 0, demoted: 0, hot_items: 0, hot_bytes: 0, elapsed_ms: 0, skipped: true };
      try {
        const from: number = after;
        after = withoutWaiting(db, () => db.transaction(() => updateScores(db, nowMs, from, SCORE_BATCH)).immediate());
        await new Promise((resolve) => setImmediate(resolve));
      } catch (err) {
        if (!isBusy(err) || !db.open) throw err;
        await new Promise((resolve) => setTimeout(resolve, BUSY_RETRY_MS).unref());
      }
    }
    return chooseTiers(trigger, nowMs, { scoresUpdatedFrom: started });
  }

  function chooseTiers(trigger: string, nowMs: number, rebalanceOpts: RebalanceOptions = {}): RebalanceResult {
    flushTouches();
    usedSinceRebalance = false;
    // The log's end is read in the same write transaction, so no other process's change slips between.
    const { result, seq } = db.transaction(() => ({ result: rebalance(db, opts.budget, trigger, nowMs, rebalanceOpts), seq: latestChange(db) })).immediate();
    lastRebalance = { seq, atMs: nowMs };
    cache.invalidate();
    if (result.promoted) metrics.tierMoves.inc({ direction: 'promote' }, result.promoted);
    if (result.demoted) metrics.tierMoves.inc({ direction: 'demote' }, result.demoted);
    count('rebalance', 'all');
    logger.info('memory tiers rebalanced', { trigger, ...result });
    return result;
  }

  /** Ranked search; `shown` = ids of earlier pages, which this page leaves out. */
  /**
   * Ranked search; `shown` = ids of earlier pages, which this page leaves out. `query` as typed,
   * or parsed by a caller that searches several areas with it.
   */
  function search(query: Query | string | undefined, filter: SearchFilter, limit: number, shown?: ReadonlySet<number>, touchIt = true): SearchResult {
    // current(): the index with every committed change applied (ours and other processes').
    const result = searchMemories(db, typeof query === 'string' ? parseQuery(query) : query, filter, limit, shown, recallIndex.current());
    if (touchIt) touch(result.hits.map((h) => h.row.id));
    // One counter update per tier, not per hit: each update hashes its labels.
    const hot = result.hits.filter((h) => h.row.storage_tier === 'hot').length;
    if (hot) metrics.memoryOperations.inc({ operation: 'recall', tier: 'hot' }, hot);
    if (result.hits.length > hot) metrics.memoryOperations.inc({ operation: 'recall', tier: 'warm' }, result.hits.length - hot);
    if (result.hits.length === 0) count('recall', 'none');
    return result;
  }

  /** A hot tier over budget is rebalanced soon after, off the caller's path. */
  function checkOverflow() {
    if (rebalancePending || (cache.size <= opts.budget.maxItems && cache.bytes <= opts.budget.maxBytes)) return;
    rebalancePending = true;
    setImmediate(() => {
      rebalancePending = false;
      rebalanceInSlices('overflow').catch((err: unknown) => {
        logger.warn('overflow rebalance failed; the scheduled one will retry', { error: String(err) });
      });
    });
  }

  return {
    remember(args: RememberArgs) {
      const bytes = Buffer.byteLength(args.content, 'utf8');
      if (bytes > opts.maxContentBytes) {
        throw new UserError(
          `content is ${bytes} bytes; the limit is ${opts.maxContentBytes} (BRAIN_MAX_CONTENT_KB). Split it into several memories, or store long text as a note.`,
        );
      }
      if (!args.allowSecrets) refuseSecrets({ content: args.content, key: args.key, tags: args.tags });
      const result = store.upsertMemory(db, args);
      recallIndex.changed();
      cache.upsert(result.row);
      count(result.created ? 'create' : 'update', result.row.storage_tier);
      if (result.row.storage_tier === 'hot') checkOverflow();
      return result;
    },

    /**
     * Adds and removes relations of the memory `id` as a new version of it (see
     * store.changeRelations); `change` sees its current relations and may throw to change nothing.
     */
    relate(id: number, change: (row: MemoryRow, current: Relation[]) => { add?: Relation[]; remove?: Relation[] }) {
      const result = store.changeRelations(db, id, change);
      if (result.changed) {
        recallIndex.changed();
        cache.upsert(result.row);
        count('relate', result.row.storage_tier);
      }
      return result;
    },

    /** A memory's relations in both directions, at most `limit` each way (the other ends as they are now). */
    links: (row: MemoryRow | HitRow, limit: number): Linked[] => linksOf(db, row, limit),

    /**
     * Exact lookup in the visible projects, first match wins (the active project before global);
     * `projects` undefined = every project (the active one, then global, then the most recent other).
     */
    getByKey(projects: string[] | undefined, key: string, touchIt = true, active = ''): MemoryRow | undefined {
      const now = toDbTime();
      if (!projects) {
        const row = store.getNewestByKey(db, key, active, now);
        if (row && touchIt) touch([row.id]);
        if (row) count('get', row.storage_tier);
        return row;
      }
      for (const project of projects) {
        const cached = cache.byProjectKey(project, key);
        const row = cached ?? store.getRowByKey(db, project, key);
        if (!row || (row.expires_at !== null && row.expires_at <= now)) continue;
        count('get', cached ? 'hot' : row.storage_tier);
        if (touchIt) touch([row.id]);
        return row;
      }
      return undefined;
    },

    getById(id: number, touchIt = true): MemoryRow | undefined {
      const row = store.getRow(db, id);
      if (!row || (row.expires_at !== null && row.expires_at <= toDbTime())) return undefined;
      count('get', row.storage_tier);
      if (touchIt) touch([row.id]);
      return row;
    },

    search,

    /**
     * What init starts from in `projects`: the hot tier's preferences (most important first), then
     * its other memories by score, topped up with the best of the rest while fewer than `atLeast`.
     * Reading them is not a use: an init must not make its own picks hotter.
     */
    initContext(projects: string[], atLeast: number): { preferences: MemoryRow[]; memories: HitRow[] } {
      const now = toDbTime();
      const hot = cache.all().filter((m) => projects.includes(m.project) && (m.expires_at === null || m.expires_at > now));
      const preferences = hot.filter((m) => m.type === 'user_preferences').sort((a, b) => b.importance - a.importance || b.memory_score - a.memory_score);
      let memories: HitRow[] = hot.filter((m) => m.type !== 'user_preferences').sort((a, b) => b.memory_score - a.memory_score);
      if (memories.length < atLeast) {
        const seen = new Set(memories.map((m) => m.id));
        const more = search(undefined, { projects }, atLeast, undefined, false).hits.map((h) => h.row);
        memories = memories.concat(more.filter((m) => !seen.has(m.id) && m.type !== 'user_preferences'));
      }
      return { preferences, memories };
    },

    /** Every project that holds a memory ('' = global), for a bulk forget over all of them. */
    projects: () => store.listProjects(db),

    history: (project: string, key: string) => store.historyOf(db, project, key),

    /** Every memory and archived version as JSON lines (brain export). */
    exportLines: () => exportLines(db),

    /** The memories and their relations as a server-memory memory.jsonl (brain export --format server-memory). */
    exportServerMemory: () => exportServerMemory(db),

    /** Imports brain export or server-memory lines (see transfer.ts); recall and init see them at once. */
    importLines(lines: string[], onProgress?: ImportProgress): ImportReport {
      const report = importLines(db, lines, onProgress);
      // The import wrote rows behind the cache's back (tiers included) and the index's.
      cache.invalidate();
      recallIndex.changed();
      return report;
    },

    /** Server-memory records already read from a file (brain import of a memory.jsonl). */
    importServerMemory(records: NumberedRecord[], onProgress?: ImportProgress): ImportReport {
      const report = importRecords(db, 'server-memory', records, onProgress);
      cache.invalidate();
      recallIndex.changed();
      return report;
    },

    /** Memories and their earlier versions in the full export (brain export / import). */
    transfer: {
      kinds: ['memory', 'memory_history'],
      exportRecords: () => exportRecords(db),
      importRecords(records, onProgress) {
        const r = importRecords(db, 'brain', records, onProgress);
        cache.invalidate();
        recallIndex.changed();
        return {
          kinds: { memory: { created: r.created, updated: r.updated, skipped: r.skipped }, memory_history: { created: r.history, skipped: 0 } },
          errors: r.errors,
        };
      },
    } satisfies AreaTransfer,

    forgetOne(row: MemoryRow) {
      for (const gone of store.forgetRows(db, [row.id])) {
        cache.remove(gone.id);
        count('forget', gone.storage_tier);
      }
      recallIndex.changed();
    },

    forgetMatching(filter: store.ForgetFilter, confirm: boolean) {
      const n = store.countMatching(db, filter);
      if (n === 0) return { forgotten: 0, keys: [] as string[] };
      if (!confirm) {
        throw new UserError(
          `this would forget ${n} memor${n === 1 ? 'y' : 'ies'}. If that is intended, call again with the same filters and "confirm": true (they stay restorable for ${opts.retentionDays} days).`,
        );
      }
      const rows = store.forgetMatchingRows(db, filter);
      recallIndex.changed();
      for (const row of rows) cache.remove(row.id);
      count('forget', 'all');
      return { forgotten: rows.length, keys: rows.map((r) => r.key) };
    },

    restore(project: string, key: string, version?: number) {
      const row = store.restoreMemory(db, project, key, version);
      recallIndex.changed();
      cache.upsert(row);
      count('restore', row.storage_tier);
      return row;
    },

    rebalance: runRebalance,
    /** The same, with the score updates in small writes between other calls (the scheduler's). */
    rebalanceInSlices,

    counts,

    /** True when memories exist but no rebalance ever ran on this file (tier_moves is empty). */
    neverRebalanced: () => store.neverRebalanced(db),

    /** Writes pending access statistics now. */
    flush: () => flushTouches(),

    /** Writes pending access statistics and stops background work (before closing the database). */
    close() {
      try {
        flushTerms(db);
      } catch (err) {
        logger.warn('could not write the last new words of the word list', { error: String(err) });
      }
      flushTouches();
      recallIndex.stop();
    },

    /** Whether recall ranks with the in-process index yet (it is built after start-up). */
    get indexReady() {
      return recallIndex.ready;
    },

    /** What the recall index holds and the bytes each part takes (for benchmarks), or undefined before it is ready. */
    indexFootprint: () => recallIndex.footprint(),

    /** Expired memories and old history go; run by the scheduler and at start-up. */
    purge() {
      const result = store.purge(db, opts.retentionDays);
      pruneChanges(db);
      if (result.expired) cache.invalidate();
      return result;
    },

    stats(projects?: string[]) {
      const { tiers, types, byProject, history, moves, totals } = store.storedStats(db, projects);
      const hot = tiers.find((t) => t.tier === 'hot');
      const warm = tiers.find((t) => t.tier === 'warm');
      return {
        total: (hot?.n ?? 0) + (warm?.n ?? 0),
        hot: { items: hot?.n ?? 0, bytes: hot?.bytes ?? 0, budget_items: opts.budget.maxItems, budget_bytes: opts.budget.maxBytes },
        warm: { items: warm?.n ?? 0, bytes: warm?.bytes ?? 0 },
        by_type: Object.fromEntries(types.map((t) => [t.type, t.n])),
        by_project: Object.fromEntries(byProject.map((p) => [p.project || 'global', p.n])),
        history: Object.fromEntries(history.map((h) => [h.reason, h.n])),
        tier_moves: { promoted_total: totals.promoted, demoted_total: totals.demoted, recent: moves },
        database_bytes: databaseSizeBytes(db),
        recall_index: recallIndex.status(),
        words_pending: pendingTerms(db),
      };
    },

    /** Updates the tier gauges (called by the metrics collector before a scrape). */
    observe() {
      // Not a GROUP BY over the tier column: that read the whole table on every scrape (63 ms at 100k).
      const { total, hot } = counts('');
      metrics.memoryTierItems.set({ tier: 'hot' }, hot);
      metrics.memoryTierItems.set({ tier: 'warm' }, total - hot);
      metrics.hotTierUtilisation.set(opts.budget.maxItems ? hot / opts.budget.maxItems : 0);
    },
  };
}
