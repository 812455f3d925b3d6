// Hot/warm tiers. A memory's score mixes importance, how often it is used and how recently;
// rebalancing keeps the highest scores hot within the budget, protected types always hot.
// Hot memories are kept in an in-process cache that init and key lookups read from.
import { stmt, toDbTime, type Db } from '../core/db.js';
import { FREQUENCY_SCALE, RECENCY_DAYS } from '../text/rank.js';
import { PROTECTED_TYPES, type MemoryRow, type Tier } from './types.js';

export const SCORE_WEIGHTS = { importance: 0.5, frequency: 0.3, recency: 0.2 } as const;
/** New memories at or above this importance start hot. */
export const HOT_IMPORTANCE = 0.8;

/** The same formula in SQL, for rebalancing every row without loading it. */
const SCORE_SQL = `(${SCORE_WEIGHTS.importance} * importance
  + ${SCORE_WEIGHTS.frequency} * (1 - exp(-access_count / ${FREQUENCY_SCALE}.0))
  + ${SCORE_WEIGHTS.recency} * exp(-max(0, julianday(:now) - julianday(coalesce(accessed_at, updated_at))) / ${RECENCY_DAYS}.0))`;

export function initialTier(type: string, importance: number): Tier {
  return PROTECTED_TYPES.has(type) || importance >= HOT_IMPORTANCE ? 'hot' : 'warm';
}

export interface TierBudget {
  maxItems: number;
  maxBytes: number;
}

export interface RebalanceResult {
  promoted: number;
  demoted: number;
  hot_items: number;
  hot_bytes: number;
  elapsed_ms: number;
  /** A scheduled rebalance with nothing to do since the last one (service.ts); the rest is as it stands. */
  skipped?: true;
}

const PROTECTED_LIST = [...PROTECTED_TYPES].map((t) => `'${t}'`).join(', ');

/** Scores of the memories in an id range brought up to date; only rows whose score moved are written. */
const UPDATE_SCORES = `UPDATE memories SET memory_score = ${SCORE_SQL} WHERE id > :after AND id <= :last AND abs(memory_score - ${SCORE_SQL}) > 0.005`;

export interface RebalanceOptions {
  /**
   * The scores were already brought up to date (updateScores, in slices) from this
   * performance.now(): rebalance only chooses the tiers, and elapsed_ms counts from then.
   */
  scoresUpdatedFrom?: number;
}

/**
 * Recomputes scores and moves memories between tiers. Only rows whose score or tier changes are
 * written, so a routine rebalance of a large store touches few pages. Tier moves never drop rows:
 * they are single-column updates inside one transaction.
 *
 * The hot tier is every protected memory, then the best-scored others, in that order, as long as
 * both the item count and the running byte total stay within the budget. Expired memories (not
 * purged yet) go warm: they are never shown, so they must not hold hot places. Only the first
 * `maxItems` in that order are read (a bounded sort, not a ranking of every row: at 100k
 * memories, ranking every row with two window-function passes takes 220 ms).
 */
export function rebalance(db: Db, budget: TierBudget, trigger: string, nowMs = Date.now(), opts: RebalanceOptions = {}): RebalanceResult {
  const started = opts.scoresUpdatedFrom ?? performance.now();
  const now = toDbTime(nowMs);
  return db.transaction(() => {
    if (opts.scoresUpdatedFrom === undefined) stmt(db, UPDATE_SCORES).run({ now, after: Number.MIN_SAFE_INTEGER, last: Number.MAX_SAFE_INTEGER });
    const live = `(expires_at IS NULL OR expires_at > :now)`;
    const want = new Set<number>(
      stmt(db, `SELECT id FROM memories WHERE type IN (${PROTECTED_LIST}) AND ${live}`).pluck().all({ now }) as number[],
    );
    const best = stmt(
      db,
      `SELECT id, size_bytes FROM memories WHERE ${live}
       ORDER BY (type IN (${PROTECTED_LIST})) DESC, memory_score DESC, id LIMIT :maxItems`,
    ).raw().all({ now, maxItems: budget.maxItems }) as [number, number][];
    let bytes = 0;
    for (const [id, size] of best) {
      bytes += size;
      if (bytes <= budget.maxBytes) want.add(id);
    }
    const current = new Set(stmt(db, `SELECT id FROM memories WHERE storage_tier = 'hot'`).pluck().all() as number[]);
    const promote = [...want].filter((id) => !current.has(id));
    const demote = [...current].filter((id) => !want.has(id));
    const move = (tier: Tier, ids: number[]) =>
      ids.length ? stmt(db, `UPDATE memories SET storage_tier = ? WHERE id IN (SELECT value FROM json_each(?))`).run(tier, JSON.stringify(ids)).changes : 0;
    const promoted = move('hot', promote);
    const demoted = move('warm', demote);
    const hot = stmt(db, `SELECT count(*) AS n, coalesce(sum(size_bytes), 0) AS bytes FROM memories WHERE storage_tier = 'hot'`).get() as { n: number; bytes: number };
    const elapsed_ms = Math.round((performance.now() - started) * 100) / 100;
    stmt(db, `INSERT INTO tier_moves (at, trigger, promoted, demoted, hot_items, hot_bytes, elapsed_ms) VALUES (?, ?, ?, ?, ?, ?, ?)`)
      .run(now, trigger, promoted, demoted, hot.n, hot.bytes, elapsed_ms);
    return { promoted, demoted, hot_items: hot.n, hot_bytes: hot.bytes, elapsed_ms };
  }).immediate();
}

/**
 * Brings the stored scores of up to `batch` memories after id `afterId` up to date (as rebalance
 * does for every row); returns the last id covered, or undefined past the last memory. A scheduled
 * rebalance goes through the table like this, one short write per batch, before choosing the tiers:
 * in one statement, the first rebalance of a freshly imported million memories rewrites every row
 * and held the event loop (and every caller) for minutes.
 */
export function updateScores(db: Db, nowMs: number, afterId: number, batch: number): number | undefined {
  const last = stmt(db, 'SELECT max(id) FROM (SELECT id FROM memories WHERE id > ? ORDER BY id LIMIT ?)').pluck().get(afterId, batch) as number | null;
  if (last === null) return undefined;
  stmt(db, UPDATE_SCORES).run({ now: toDbTime(nowMs), after: afterId, last });
  return last;
}

/**
 * In-process copy of the hot tier. Our own writes update it directly; a commit by any other
 * connection (another brain process on the same file) changes PRAGMA data_version, and the next
 * read reloads the whole tier, so the cache is never staler than the file.
 */
export class HotCache {
  private byId = new Map<number, MemoryRow>();
  private bytesTotal = 0;
  private byKey = new Map<string, MemoryRow>();
  private dataVersion = -1;
  private loaded = false;

  constructor(private readonly db: Db) {}

  private static keyOf(project: string, key: string) {
    return project + '\u0000' + key;
  }

  private fresh(): void {
    const version = stmt(this.db, 'PRAGMA data_version').pluck().get() as number;
    if (this.loaded && version === this.dataVersion) return;
    this.byId.clear();
    this.byKey.clear();
    this.bytesTotal = 0;
    for (const row of stmt(this.db, `SELECT * FROM memories WHERE storage_tier = 'hot'`).all() as MemoryRow[]) this.put(row);
    this.dataVersion = version;
    this.loaded = true;
  }

  private put(row: MemoryRow) {
    this.byId.set(row.id, row);
    this.bytesTotal += row.size_bytes;
    this.byKey.set(HotCache.keyOf(row.project, row.key), row);
  }

  /** Record a row this process just wrote (insert, update, tier change). */
  upsert(row: MemoryRow): void {
    if (!this.loaded) return;
    this.remove(row.id);
    if (row.storage_tier === 'hot') this.put(row);
  }

  remove(id: number): void {
    const old = this.byId.get(id);
    if (!old) return;
    this.byId.delete(id);
    this.bytesTotal -= old.size_bytes;
    this.byKey.delete(HotCache.keyOf(old.project, old.key));
  }

  /** Forget everything and reload on the next read (after bulk changes such as a rebalance). */
  invalidate(): void {
    this.loaded = false;
  }

  byProjectKey(project: string, key: string): MemoryRow | undefined {
    this.fresh();
    return this.byKey.get(HotCache.keyOf(project, key));
  }

  all(): MemoryRow[] {
    this.fresh();
    return [...this.byId.values()];
  }

  get size(): number {
    this.fresh();
    return this.byId.size;
  }

  /** Content bytes in the hot tier. */
  get bytes(): number {
    this.fresh();
    return this.bytesTotal;
  }
}
