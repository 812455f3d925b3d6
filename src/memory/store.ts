// SQL for memories: free functions taking the database first. Multi-statement writes run in one
// transaction, so a failed call leaves the file exactly as it was.
import { randomBytes } from 'node:crypto';
import { stmt, toDbTime, type Db } from '../core/db.js';
import { ConflictError, NotFoundError } from '../core/errors.js';
import { addRelations, canonical, hasAll, relationsJson, relationsOf, sameRelations, setRelations, without, type Relation } from './relations.js';
import { indexTerms } from './terms.js';
import { initialTier } from './tiers.js';
import type { MemoryRow, Tier } from './types.js';

export interface RememberInput {
  project: string;
  key?: string;
  content: string;
  type: string;
  tags: string[];
  importance: number;
  ttlSeconds?: number;
  /** Relations to add (the memory keeps those it has). */
  relations?: Relation[];
}

export interface RememberResult {
  row: MemoryRow;
  created: boolean;
}

/** A readable key from the first words of the content, plus a random suffix so two never collide. */
export function generateKey(content: string): string {
  const words = content
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s-]/gu, ' ')
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 6)
    .join('-')
    .slice(0, 48)
    .replace(/-+$/, '');
  return `${words || 'memory'}-${randomBytes(4).toString('hex')}`;
}

/** Keeps the row as it is now, with its relations, as an earlier version. */
function archive(db: Db, row: MemoryRow, reason: 'updated' | 'forgotten', now: string) {
  stmt(
    db,
    `INSERT INTO memory_history (memory_id, project, key, content, type, tags, importance, version, created_at, expires_at, reason, archived_at, relations)
     VALUES (@id, @project, @key, @content, @type, @tags, @importance, @version, @created_at, @expires_at, @reason, @archived_at, @relations)`,
  ).run({ ...row, reason, archived_at: now, relations: relationsJson(db, row.id) });
}

function setTags(db: Db, id: number, tags: string[], isNew = false) {
  if (!isNew) stmt(db, 'DELETE FROM memory_tags WHERE memory_id = ?').run(id);
  const insert = stmt(db, 'INSERT OR IGNORE INTO memory_tags (tag, memory_id) VALUES (?, ?)');
  for (const tag of tags) insert.run(tag, id);
}

/** The version a new row for (project, key) starts at (see upsertMemory). */
function firstVersion(db: Db, project: string, key: string): number {
  return stmt(db, 'SELECT coalesce(max(version), 0) + 1 FROM memory_history WHERE project = ? AND key = ?').pluck().get(project, key) as number;
}

export function getRow(db: Db, id: number): MemoryRow | undefined {
  return stmt(db, 'SELECT * FROM memories WHERE id = ?').get(id) as MemoryRow | undefined;
}

export function getRowByKey(db: Db, project: string, key: string): MemoryRow | undefined {
  return stmt(db, 'SELECT * FROM memories WHERE project = ? AND key = ?').get(project, key) as MemoryRow | undefined;
}

/** Insert, or update by (project, key) keeping the previous version in memory_history. */
export function upsertMemory(db: Db, input: RememberInput, nowMs = Date.now()): RememberResult {
  const now = toDbTime(nowMs);
  const expires = input.ttlSeconds !== undefined ? toDbTime(nowMs + input.ttlSeconds * 1000) : null;
  const tags = JSON.stringify(input.tags);
  const size = Buffer.byteLength(input.content, 'utf8');
  return db.transaction((): RememberResult => {
    let key = input.key;
    // A generated key must be new: an unlucky collision would otherwise update someone else's memory.
    if (key === undefined) do key = generateKey(input.content); while (getRowByKey(db, input.project, key));
    const existing = getRowByKey(db, input.project, key);
    if (existing) {
      const unchanged =
        existing.content === input.content && existing.type === input.type && existing.tags === tags &&
        existing.importance === input.importance && existing.expires_at === expires &&
        hasAll(db, existing.id, input.relations ?? []);
      if (unchanged) return { row: existing, created: false };
      archive(db, existing, 'updated', now);
      // A type change to a protected type must take effect now, not at the next rebalance.
      const tier: Tier = initialTier(input.type, input.importance) === 'hot' ? 'hot' : existing.storage_tier;
      const row = stmt(
        db,
        `UPDATE memories SET content = ?, type = ?, tags = ?, importance = ?, size_bytes = ?, expires_at = ?,
           storage_tier = ?, version = version + 1, updated_at = ? WHERE id = ? RETURNING *`,
      ).get(input.content, input.type, tags, input.importance, size, expires, tier, now, existing.id) as MemoryRow;
      if (existing.tags !== tags) setTags(db, existing.id, input.tags);
      addRelations(db, existing.id, input.relations ?? []);
      indexTerms(db, key + ' ' + input.content);
      return { row, created: false };
    }
    // A new row's version follows the versions already archived for its key, so a key that was
    // forgotten and used again never repeats a version number (restore picks by number).
    const row = stmt(
      db,
      `INSERT INTO memories (project, key, content, type, tags, importance, storage_tier, size_bytes, memory_score, version, created_at, updated_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT coalesce(max(version), 0) + 1 FROM memory_history WHERE project = ? AND key = ?), ?, ?, ?)
       RETURNING *`,
    ).get(input.project, key, input.content, input.type, tags, input.importance, initialTier(input.type, input.importance),
      size, input.importance * 0.5 + 0.2, input.project, key, now, now, expires) as MemoryRow;
    setTags(db, row.id, input.tags, true);
    addRelations(db, row.id, input.relations ?? []);
    indexTerms(db, key + ' ' + input.content);
    return { row, created: true };
  }).immediate();
}

/**
 * Adds and removes relations of one memory as a new version of it (the previous relations stay
 * in its history, so remember with "restore" undoes the change). No change makes no version.
 * `change` runs inside the transaction on the row and relations as they are then, and says what
 * to add and remove (or throws, changing nothing).
 */
export function changeRelations(
  db: Db,
  id: number,
  change: (row: MemoryRow, current: Relation[]) => { add?: Relation[]; remove?: Relation[] },
  nowMs = Date.now(),
): { row: MemoryRow; changed: boolean } {
  const now = toDbTime(nowMs);
  return db.transaction(() => {
    const row = getRow(db, id);
    if (!row) throw new NotFoundError('That memory was forgotten meanwhile; nothing was changed.');
    const current = relationsOf(db, id);
    const { add = [], remove = [] } = change(row, current);
    const next = canonical([...without(current, remove), ...add]);
    if (sameRelations(next, current)) return { row, changed: false };
    archive(db, row, 'updated', now);
    setRelations(db, id, next);
    const updated = stmt(db, 'UPDATE memories SET version = version + 1, updated_at = ? WHERE id = ? RETURNING *').get(now, id) as MemoryRow;
    return { row: updated, changed: true };
  }).immediate();
}

/** Counts reads (id -> how many): access statistics feed the score that decides tiers. */
export function touchMemories(db: Db, counts: Map<number, number>, nowMs = Date.now()): void {
  if (counts.size === 0) return;
  const now = toDbTime(nowMs);
  const update = stmt(db, 'UPDATE memories SET access_count = access_count + ?, accessed_at = ? WHERE id = ?');
  db.transaction(() => {
    for (const [id, n] of counts) update.run(n, now, id);
  }).immediate();
}

export interface ForgetFilter {
  projects: string[];
  type?: string;
  tags?: string[];
  before?: string;
}

function filterWhere(filter: ForgetFilter): { where: string; params: unknown[] } {
  const clauses = [`project IN (SELECT value FROM json_each(?))`];
  const params: unknown[] = [JSON.stringify(filter.projects)];
  if (filter.type) {
    clauses.push('type = ?');
    params.push(filter.type);
  }
  for (const tag of filter.tags ?? []) {
    clauses.push('id IN (SELECT memory_id FROM memory_tags WHERE tag = ?)');
    params.push(tag);
  }
  if (filter.before) {
    clauses.push('updated_at < ?');
    params.push(filter.before);
  }
  return { where: clauses.join(' AND '), params };
}

export function countMatching(db: Db, filter: ForgetFilter): number {
  const { where, params } = filterWhere(filter);
  return (db.prepare(`SELECT count(*) FROM memories WHERE ${where}`).pluck().get(...params) as number);
}

/**
 * Moves memories to memory_history (restorable for the retention period) and deletes them.
 * Rows are read again inside the transaction: another process may have updated one since the
 * caller looked, and the newest text is the one to keep. Returns the rows as forgotten.
 */
export function forgetRows(db: Db, ids: number[], nowMs = Date.now()): MemoryRow[] {
  const now = toDbTime(nowMs);
  return db.transaction(() => {
    const gone: MemoryRow[] = [];
    for (const id of ids) {
      const row = getRow(db, id);
      if (!row) continue;
      archive(db, row, 'forgotten', now);
      stmt(db, 'DELETE FROM memories WHERE id = ?').run(id);
      gone.push(row);
    }
    return gone;
  }).immediate();
}

function selectMatching(db: Db, filter: ForgetFilter): MemoryRow[] {
  const { where, params } = filterWhere(filter);
  return db.prepare(`SELECT * FROM memories WHERE ${where}`).all(...params) as MemoryRow[];
}

/** Forgets every memory matching the filter, choosing them inside the same transaction. */
export function forgetMatchingRows(db: Db, filter: ForgetFilter, nowMs = Date.now()): MemoryRow[] {
  return db.transaction(() => forgetRows(db, selectMatching(db, filter).map((r) => r.id), nowMs)).immediate();
}

export interface HistoryRow {
  id: number;
  memory_id: number;
  project: string;
  key: string;
  content: string;
  type: string;
  tags: string;
  importance: number;
  version: number;
  created_at: string;
  expires_at: string | null;
  reason: 'updated' | 'forgotten';
  archived_at: string;
  /** JSON [{type, to}]: the relations the version had. */
  relations: string;
}

export function historyOf(db: Db, project: string, key: string, limit = 20): HistoryRow[] {
  return stmt(db, 'SELECT * FROM memory_history WHERE project = ? AND key = ? ORDER BY archived_at DESC, id DESC LIMIT ?')
    .all(project, key, limit) as HistoryRow[];
}

/**
 * Brings back a forgotten memory (its last state), or an earlier version of a live one (which
 * becomes the newest version; the current text is archived first, so restoring is itself undoable).
 */
export function restoreMemory(db: Db, project: string, key: string, version: number | undefined, nowMs = Date.now()): MemoryRow {
  const now = toDbTime(nowMs);
  return db.transaction((): MemoryRow => {
    const live = getRowByKey(db, project, key);
    const history = historyOf(db, project, key, 1000);
    let source: HistoryRow | undefined;
    if (version !== undefined) {
      source = history.find((h) => h.version === version);
      if (!source) {
        const known = [...new Set(history.map((h) => h.version))].sort((a, b) => a - b);
        throw new NotFoundError(
          `No stored version ${version} of "${key}"` + (known.length ? `; versions that can be restored: ${known.join(', ')}.` : '; it has no earlier versions.'),
        );
      }
    } else {
      if (live) throw new ConflictError(`"${key}" is not forgotten. To go back to an earlier text, pass "version" (see recall with key and "history": true).`);
      source = history.find((h) => h.reason === 'forgotten');
      if (!source) throw new NotFoundError(`Nothing to restore for "${key}": it was never forgotten, or its retention period is over.`);
    }
    if (live) {
      archive(db, live, 'updated', now);
      const tier: Tier = initialTier(source.type, source.importance) === 'hot' ? 'hot' : live.storage_tier;
      stmt(db, `UPDATE memories SET content = ?, type = ?, tags = ?, importance = ?, size_bytes = ?, storage_tier = ?, version = version + 1, updated_at = ? WHERE id = ?`)
        .run(source.content, source.type, source.tags, source.importance, Buffer.byteLength(source.content), tier, now, live.id);
      setTags(db, live.id, JSON.parse(source.tags));
      setRelations(db, live.id, JSON.parse(source.relations) as Relation[]);
      indexTerms(db, source.content);
      return getRow(db, live.id)!;
    }
    const info = stmt(
      db,
      `INSERT INTO memories (project, key, content, type, tags, importance, storage_tier, size_bytes, version, memory_score, created_at, updated_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(project, key, source.content, source.type, source.tags, source.importance, initialTier(source.type, source.importance),
      Buffer.byteLength(source.content), firstVersion(db, project, key), source.importance * 0.5, source.created_at, now,
      source.expires_at && source.expires_at > now ? source.expires_at : null);
    const id = Number(info.lastInsertRowid);
    setTags(db, id, JSON.parse(source.tags));
    setRelations(db, id, JSON.parse(source.relations) as Relation[]);
    indexTerms(db, key + ' ' + source.content);
    return getRow(db, id)!;
  }).immediate();
}

/** Deletes expired memories and history older than the retention period. Returns what went. */
export function purge(db: Db, retentionDays: number, nowMs = Date.now()): { expired: number; history: number } {
  const now = toDbTime(nowMs);
  const cutoff = toDbTime(nowMs - retentionDays * 86_400_000);
  return db.transaction(() => ({
    expired: stmt(db, 'DELETE FROM memories WHERE expires_at IS NOT NULL AND expires_at <= ?').run(now).changes,
    history: stmt(db, 'DELETE FROM memory_history WHERE archived_at < ?').run(cutoff).changes,
  })).immediate();
}

/**
 * The newest live memory with this key in any project, preferring `active`, then global
 * (recall by key with "project": "*").
 */
export function getNewestByKey(db: Db, key: string, active: string, now = toDbTime()): MemoryRow | undefined {
  return stmt(db, `SELECT * FROM memories WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)
    ORDER BY project = ? DESC, project = '' DESC, updated_at DESC LIMIT 1`).get(key, now, active) as MemoryRow | undefined;
}

/** Every project that holds a memory ('' = global). */
export function listProjects(db: Db): string[] {
  return stmt(db, 'SELECT DISTINCT project FROM memories').pluck().all() as string[];
}

export interface MemoryCounts {
  total: number;
  hot: number;
  in_project: number;
}

/** How many memories there are in all, in the hot tier, and in `project`. */
export function countMemories(db: Db, project: string): MemoryCounts {
  // Three counts that read indexes only (one expression over every row read the whole table).
  return stmt(
    db,
    `SELECT (SELECT count(*) FROM memories) AS total, (SELECT count(*) FROM memories WHERE storage_tier = 'hot') AS hot,
       (SELECT count(*) FROM memories WHERE project = ?) AS in_project`,
  ).get(project) as MemoryCounts;
}

/** True when memories exist but no rebalance ever ran on this file (tier_moves is empty). */
export function neverRebalanced(db: Db): boolean {
  return stmt(db, `SELECT NOT EXISTS (SELECT 1 FROM tier_moves) AND EXISTS (SELECT 1 FROM memories)`).pluck().get() === 1;
}

export interface StoredStats {
  tiers: { tier: string; n: number; bytes: number }[];
  types: { type: string; n: number }[];
  byProject: { project: string; n: number }[];
  history: { reason: string; n: number }[];
  /** The last five rebalances, newest first. */
  moves: Record<string, unknown>[];
  totals: { promoted: number; demoted: number };
}

/** What brain stats reports from the tables; `projects` undefined = every project. */
export function storedStats(db: Db, projects?: string[]): StoredStats {
  const where = projects ? 'WHERE project IN (SELECT value FROM json_each(?))' : '';
  const params = projects ? [JSON.stringify(projects)] : [];
  return {
    tiers: stmt(db, `SELECT storage_tier AS tier, count(*) AS n, coalesce(sum(size_bytes), 0) AS bytes FROM memories ${where} GROUP BY storage_tier`).all(...params) as StoredStats['tiers'],
    types: stmt(db, `SELECT type, count(*) AS n FROM memories ${where} GROUP BY type ORDER BY n DESC LIMIT 20`).all(...params) as StoredStats['types'],
    byProject: stmt(db, `SELECT project, count(*) AS n FROM memories ${where} GROUP BY project ORDER BY n DESC LIMIT 20`).all(...params) as StoredStats['byProject'],
    history: stmt(db, `SELECT reason, count(*) AS n FROM memory_history GROUP BY reason`).all() as StoredStats['history'],
    moves: stmt(db, `SELECT at, trigger, promoted, demoted, hot_items, hot_bytes, elapsed_ms FROM tier_moves ORDER BY id DESC LIMIT 5`).all() as Record<string, unknown>[],
    totals: stmt(db, `SELECT coalesce(sum(promoted), 0) AS promoted, coalesce(sum(demoted), 0) AS demoted FROM tier_moves`).get() as StoredStats['totals'],
  };
}
