// Slow database work goes to query_log with its timing (and a counter), so an operator can find
// what made brain slow without turning on tracing. Only work over the threshold costs a write.
import { stmt, toDbTime, type Db } from '../core/db.js';
import type { Metrics } from '../core/metrics.js';

const MAX_SQL_CHARS = 2000;

export type SlowQueryRecorder = (sql: string, elapsedMs: number) => void;

export function slowQueryRecorder(db: Db, metrics: Metrics, thresholdMs: number): SlowQueryRecorder {
  return (sql, elapsedMs) => {
    if (thresholdMs <= 0 || elapsedMs < thresholdMs || !db.open) return;
    metrics.slowQueries.inc();
    try {
      stmt(db, `INSERT INTO query_log (sql, elapsed_ms, created_at) VALUES (?, ?, ?)`).run(sql.slice(0, MAX_SQL_CHARS), elapsedMs, toDbTime());
    } catch {
      // The log is best effort: a busy or failing database must not fail the work it measured.
    }
  };
}

export interface SlowQuerySummary {
  sql: string;
  executions: number;
  avg_ms: number;
  max_ms: number;
}

export function slowQueries(db: Db, sinceMs: number, limit = 20): SlowQuerySummary[] {
  return stmt(
    db,
    `SELECT sql, count(*) AS executions, avg(elapsed_ms) AS avg_ms, max(elapsed_ms) AS max_ms FROM query_log WHERE created_at >= ? GROUP BY sql ORDER BY avg_ms DESC LIMIT ?`,
  ).all(toDbTime(sinceMs), limit) as SlowQuerySummary[];
}

export function purgeQueryLog(db: Db, retentionDays: number, nowMs = Date.now()): number {
  return stmt(db, `DELETE FROM query_log WHERE created_at < ?`).run(toDbTime(nowMs - retentionDays * 86_400_000)).changes;
}
