// SQL for the executions table: free functions taking the db first.
import type { Db } from '../core/db.js';
import { stmt, toDbTime } from '../core/db.js';

export type ExecutionStatus =
  | 'queued' | 'running' | 'succeeded' | 'failed' | 'timeout' | 'oom' | 'output_truncated' | 'cancelled' | 'rejected';

export const FINAL_STATUSES = ['succeeded', 'failed', 'timeout', 'oom', 'output_truncated', 'cancelled', 'rejected'] as const;

export interface ExecutionRow {
  id: number;
  project: string;
  session_id: string | null;
  language: string;
  code: string;
  status: ExecutionStatus;
  exit_code: number | null;
  signal: string | null;
  error: string | null;
  stdout_head: string | null;
  stdout_tail: string | null;
  stdout_bytes: number;
  stdout_stored: number;
  stderr_head: string | null;
  stderr_tail: string | null;
  stderr_bytes: number;
  stderr_stored: number;
  files: string;
  images: number;
  timeout_ms: number;
  queue_ms: number | null;
  wall_ms: number | null;
  cpu_ms: number | null;
  max_rss_kb: number | null;
  warm: number | null;
  host_pid: number | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export interface NewExecution {
  project: string;
  sessionId: string | null;
  language: string;
  code: string;
  timeoutMs: number;
  status: 'queued' | 'rejected';
  error?: string;
}

export function insertExecution(db: Db, e: NewExecution): number {
  const now = toDbTime();
  const r = stmt(
    db,
    `INSERT INTO executions (project, session_id, language, code, status, error, timeout_ms, host_pid, created_at, finished_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(e.project, e.sessionId, e.language, e.code, e.status, e.error ?? null, e.timeoutMs, process.pid, now, e.status === 'rejected' ? now : null);
  return Number(r.lastInsertRowid);
}

export function markRunning(db: Db, id: number, queueMs: number): void {
  stmt(db, `UPDATE executions SET status = 'running', started_at = ?, queue_ms = ? WHERE id = ? AND status = 'queued'`).run(toDbTime(), queueMs, id);
}

export interface Finished {
  status: ExecutionStatus;
  exitCode?: number | null;
  signal?: string | null;
  error?: string | null;
  stdout?: { head: string; tail: string; bytes: number; stored: number };
  stderr?: { head: string; tail: string; bytes: number; stored: number };
  files?: unknown[];
  images?: number;
  wallMs?: number | null;
  cpuMs?: number | null;
  maxRssKb?: number | null;
  warm?: boolean;
}

export function finishExecution(db: Db, id: number, f: Finished): void {
  stmt(
    db,
    `UPDATE executions SET status = ?, exit_code = ?, signal = ?, error = ?,
       stdout_head = ?, stdout_tail = ?, stdout_bytes = ?, stdout_stored = ?,
       stderr_head = ?, stderr_tail = ?, stderr_bytes = ?, stderr_stored = ?,
       files = ?, images = ?, wall_ms = ?, cpu_ms = ?, max_rss_kb = ?, warm = ?, finished_at = ?
     WHERE id = ?`,
  ).run(
    f.status, f.exitCode ?? null, f.signal ?? null, f.error ?? null,
    f.stdout?.head ?? null, f.stdout?.tail ?? null, f.stdout?.bytes ?? 0, f.stdout?.stored ?? 0,
    f.stderr?.head ?? null, f.stderr?.tail ?? null, f.stderr?.bytes ?? 0, f.stderr?.stored ?? 0,
    JSON.stringify(f.files ?? []), f.images ?? 0, f.wallMs ?? null, f.cpuMs ?? null, f.maxRssKb ?? null,
    f.warm === undefined ? null : f.warm ? 1 : 0, toDbTime(), id,
  );
}

export function getExecution(db: Db, id: number): ExecutionRow | undefined {
  return stmt(db, 'SELECT * FROM executions WHERE id = ?').get(id) as ExecutionRow | undefined;
}

export interface ExecutionFilter {
  projects?: string[];
  status?: ExecutionStatus;
  since?: string;
  until?: string;
  beforeId?: number;
  limit: number;
}

/** Newest first; `beforeId` pages backwards. */
export function listExecutions(db: Db, f: ExecutionFilter): ExecutionRow[] {
  const where: string[] = [];
  const params: unknown[] = [];
  if (f.projects) {
    where.push(`project IN (${f.projects.map(() => '?').join(', ')})`);
    params.push(...f.projects);
  }
  if (f.status) {
    where.push('status = ?');
    params.push(f.status);
  }
  if (f.since) {
    where.push('created_at >= ?');
    params.push(f.since);
  }
  if (f.until) {
    where.push('created_at <= ?');
    params.push(f.until);
  }
  if (f.beforeId) {
    where.push('id < ?');
    params.push(f.beforeId);
  }
  const sql = `SELECT * FROM executions ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT ?`;
  return stmt(db, sql).all(...params, f.limit) as ExecutionRow[];
}

/** Rows a dead brain process left queued or running: they can never finish. */
export function failOrphans(db: Db, alive: (pid: number) => boolean): number {
  const rows = stmt(db, `SELECT id, host_pid FROM executions WHERE status IN ('queued', 'running')`).all() as { id: number; host_pid: number | null }[];
  let n = 0;
  for (const r of rows) {
    if (r.host_pid !== null && (r.host_pid === process.pid || alive(r.host_pid))) continue;
    stmt(db, `UPDATE executions SET status = 'failed', error = ?, finished_at = ? WHERE id = ? AND status IN ('queued', 'running')`).run(
      'brain stopped before this execution finished',
      toDbTime(),
      r.id,
    );
    n++;
  }
  return n;
}

/** Ids of executions older than the cutoff (their output files can go), then deletes the rows. */
export function purgeExecutions(db: Db, before: string): number[] {
  return db.transaction(() => {
    const ids = (stmt(db, 'SELECT id FROM executions WHERE created_at < ?').all(before) as { id: number }[]).map((r) => r.id);
    stmt(db, 'DELETE FROM executions WHERE created_at < ?').run(before);
    return ids;
  }).immediate();
}
