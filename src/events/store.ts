// Events: SQL for the events table and its full-text index. Newest first everywhere; pages are
// cut by id (ids grow with time), so a page boundary never shifts when new events arrive.
import { stmt, toDbTime, type Db } from '../core/db.js';
import { allTermsQuery } from '../text/fts.js';
import type { Query } from '../text/query.js';
import { NO_SYNONYMS } from '../text/synonyms.js';

export const SEVERITIES = ['info', 'warning', 'error', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface EventRow {
  id: number;
  event_type: string;
  severity: Severity;
  message: string;
  source: string | null;
  details: string | null;
  created_at: string;
  updated_at: string;
}

export interface NewEvent {
  type: string;
  severity: Severity;
  message: string;
  source?: string | null;
  details?: Record<string, unknown> | null;
}

export interface EventFilter {
  types?: string[];
  severities?: Severity[];
  source?: string;
  /** DB times (toDbTime), inclusive. */
  since?: string;
  until?: string;
  /** Words that must all appear in the message (stemmed; stopwords only when nothing else was asked). */
  query?: Query;
}

export function insertEvent(db: Db, e: NewEvent, nowMs = Date.now()): EventRow {
  const now = toDbTime(nowMs);
  const details = e.details == null ? null : JSON.stringify(e.details);
  const info = stmt(db, `INSERT INTO events (event_type, severity, message, source, details, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`).run(
    e.type, e.severity, e.message, e.source ?? null, details, now, now,
  );
  return getEvent(db, Number(info.lastInsertRowid))!;
}

export function getEvent(db: Db, id: number): EventRow | undefined {
  return stmt(db, `SELECT * FROM events WHERE id = ?`).get(id) as EventRow | undefined;
}

export interface EventPatch {
  type?: string;
  severity?: Severity;
  message?: string;
  source?: string | null;
  details?: Record<string, unknown> | null;
}

export function updateEvent(db: Db, id: number, patch: EventPatch, nowMs = Date.now()): EventRow | undefined {
  const sets: string[] = [];
  const params: unknown[] = [];
  const col = (name: string, value: unknown) => {
    sets.push(`${name} = ?`);
    params.push(value);
  };
  if (patch.type !== undefined) col('event_type', patch.type);
  if (patch.severity !== undefined) col('severity', patch.severity);
  if (patch.message !== undefined) col('message', patch.message);
  if (patch.source !== undefined) col('source', patch.source);
  if (patch.details !== undefined) col('details', patch.details === null ? null : JSON.stringify(patch.details));
  col('updated_at', toDbTime(nowMs));
  const changed = db.prepare(`UPDATE events SET ${sets.join(', ')} WHERE id = ?`).run(...params, id).changes;
  return changed ? getEvent(db, id) : undefined;
}

export function deleteEvent(db: Db, id: number): boolean {
  return stmt(db, `DELETE FROM events WHERE id = ?`).run(id).changes > 0;
}

/** WHERE clause and parameters for a filter (column names of `events`, aliased `e`). */
function where(filter: EventFilter): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (filter.types?.length) {
    parts.push(`e.event_type IN (SELECT value FROM json_each(?))`);
    params.push(JSON.stringify(filter.types));
  }
  if (filter.severities?.length) {
    parts.push(`e.severity IN (SELECT value FROM json_each(?))`);
    params.push(JSON.stringify(filter.severities));
  }
  if (filter.source !== undefined) {
    parts.push(`e.source = ?`);
    params.push(filter.source);
  }
  if (filter.since) {
    parts.push(`e.created_at >= ?`);
    params.push(filter.since);
  }
  if (filter.until) {
    parts.push(`e.created_at <= ?`);
    params.push(filter.until);
  }
  if (filter.query !== undefined) {
    const terms = filter.query.terms;
    // No searchable words means nothing can match (rather than everything).
    if (terms.length === 0) parts.push('0');
    else {
      // The words as written: a log message is searched for what it says, not for synonyms.
      parts.push(`e.id IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?)`);
      params.push(allTermsQuery(terms, NO_SYNONYMS));
    }
  }
  return { sql: parts.length ? parts.join(' AND ') : '1', params };
}

/** One page, newest first, of events older than `beforeId` (a previous page's last id). */
export function listEvents(db: Db, filter: EventFilter, limit: number, beforeId?: number): { rows: EventRow[]; more: boolean } {
  const w = where(filter);
  const page = beforeId === undefined ? '' : ' AND e.id < ?';
  const params = beforeId === undefined ? w.params : [...w.params, beforeId];
  const rows = db.prepare(`SELECT e.* FROM events e WHERE ${w.sql}${page} ORDER BY e.id DESC LIMIT ?`).all(...params, limit + 1) as EventRow[];
  return { rows: rows.slice(0, limit), more: rows.length > limit };
}

export interface EventStats {
  total: number;
  by_severity: Record<string, number>;
  by_type: Record<string, number>;
  by_source: Record<string, number>;
  first_at: string | null;
  last_at: string | null;
}

export function eventStats(db: Db, filter: EventFilter): EventStats {
  const w = where(filter);
  const group = (column: string) =>
    Object.fromEntries(
      (db.prepare(`SELECT ${column} AS k, count(*) AS n FROM events e WHERE ${w.sql} GROUP BY ${column} ORDER BY n DESC LIMIT 20`).all(...w.params) as { k: string | null; n: number }[]).map(
        (r) => [r.k ?? 'unknown', r.n],
      ),
    );
  const totals = db.prepare(`SELECT count(*) AS total, min(created_at) AS first_at, max(created_at) AS last_at FROM events e WHERE ${w.sql}`).get(...w.params) as {
    total: number;
    first_at: string | null;
    last_at: string | null;
  };
  return { total: totals.total, by_severity: group('e.severity'), by_type: group('e.event_type'), by_source: group('e.source'), first_at: totals.first_at, last_at: totals.last_at };
}

/** Events older than the retention period go; returns how many. */
export function purgeEvents(db: Db, retentionDays: number, nowMs = Date.now()): number {
  return stmt(db, `DELETE FROM events WHERE created_at < ?`).run(toDbTime(nowMs - retentionDays * 86_400_000)).changes;
}
