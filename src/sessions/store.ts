// Sessions: one row per assistant conversation that called init (or used a tool).
import { randomUUID } from 'node:crypto';
import { stmt, toDbTime, type Db } from '../core/db.js';

export interface SessionRow {
  id: string;
  client: string | null;
  project: string;
  started_at: string;
  last_seen_at: string;
  expires_at: string;
  ended_at: string | null;
}

export function createSession(db: Db, client: string | null, project: string, ttlMs: number, nowMs = Date.now()): SessionRow {
  const row: SessionRow = {
    id: randomUUID(),
    client,
    project,
    started_at: toDbTime(nowMs),
    last_seen_at: toDbTime(nowMs),
    expires_at: toDbTime(nowMs + ttlMs),
    ended_at: null,
  };
  stmt(db, `INSERT INTO sessions (id, client, project, started_at, last_seen_at, expires_at) VALUES (@id, @client, @project, @started_at, @last_seen_at, @expires_at)`).run(row);
  return row;
}

export function getLiveSession(db: Db, id: string, nowMs = Date.now()): SessionRow | undefined {
  return stmt(db, `SELECT * FROM sessions WHERE id = ? AND ended_at IS NULL AND expires_at > ?`).get(id, toDbTime(nowMs)) as SessionRow | undefined;
}

export function touchSession(db: Db, id: string, project: string, ttlMs: number, nowMs = Date.now()): void {
  stmt(db, `UPDATE sessions SET last_seen_at = ?, expires_at = ?, project = ? WHERE id = ?`).run(toDbTime(nowMs), toDbTime(nowMs + ttlMs), project, id);
}

export function endSession(db: Db, id: string, nowMs = Date.now()): void {
  stmt(db, `UPDATE sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL`).run(toDbTime(nowMs), id);
}

/** Expired and ended sessions older than the retention period go; returns how many. */
export function purgeSessions(db: Db, retentionDays: number, nowMs = Date.now()): number {
  const cutoff = toDbTime(nowMs - retentionDays * 86_400_000);
  return stmt(db, `DELETE FROM sessions WHERE expires_at < ? OR (ended_at IS NOT NULL AND ended_at < ?)`).run(toDbTime(nowMs), cutoff).changes;
}
