// SQL for the task board (cluster_tasks).
import { stmt, type Db } from '../core/db.js';

/** Whether an agent holds a running task (such a worker is drained, never retired). */
export function holdsTask(db: Db, agentId: string): boolean {
  return stmt(db, "SELECT 1 FROM cluster_tasks WHERE claimed_by = ? AND status = 'running' LIMIT 1").get(agentId) !== undefined;
}

/**
 * Running tasks of a cluster go back to the queue (hibernate): the attempt they were on is not
 * counted, because nobody failed them.
 */
export function requeueRunning(db: Db, clusterId: string): number {
  return stmt(
    db,
    `UPDATE cluster_tasks SET status = 'queued', claimed_by = NULL, lease_expires_at = NULL, claimed_at = NULL,
       attempts = max(attempts - 1, 0)
     WHERE cluster_id = ? AND status = 'running'`,
  ).run(clusterId).changes;
}

export const TASK_STATUSES = ['queued', 'running', 'succeeded', 'dead'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export interface TaskRow {
  id: number;
  cluster_id: string;
  kind: string;
  payload: string;
  priority: number;
  role: string | null;
  status: TaskStatus;
  posted_by: string;
  claimed_by: string | null;
  lease_expires_at: string | null;
  attempts: number;
  max_attempts: number;
  result: string | null;
  error: string | null;
  created_at: string;
  claimed_at: string | null;
  finished_at: string | null;
}

export type NewTask = Pick<TaskRow, 'cluster_id' | 'kind' | 'payload' | 'priority' | 'role' | 'posted_by' | 'max_attempts' | 'created_at'>;

export function insertTask(db: Db, row: NewTask): number {
  return Number(
    stmt(
      db,
      `INSERT INTO cluster_tasks (cluster_id, kind, payload, priority, role, status, posted_by, attempts, max_attempts, created_at)
       VALUES (@cluster_id, @kind, @payload, @priority, @role, 'queued', @posted_by, 0, @max_attempts, @created_at)`,
    ).run(row).lastInsertRowid,
  );
}

export function getTask(db: Db, id: number): TaskRow | undefined {
  return stmt(db, 'SELECT * FROM cluster_tasks WHERE id = ?').get(id) as TaskRow | undefined;
}

/** Running tasks of a cluster whose lease ran out before `now`. */
export function expiredLeases(db: Db, clusterId: string, now: string): TaskRow[] {
  return stmt(db, "SELECT * FROM cluster_tasks WHERE cluster_id = ? AND status = 'running' AND lease_expires_at < ? ORDER BY id").all(clusterId, now) as TaskRow[];
}

/**
 * A task whose attempt ended without success (failed, or its lease ran out) goes back to the
 * queue, or to the dead letter once its attempts are used up. Returns the status it got.
 */
export function endAttempt(db: Db, task: TaskRow, error: string, now: string): 'queued' | 'dead' {
  const status = task.attempts >= task.max_attempts ? 'dead' : 'queued';
  stmt(
    db,
    `UPDATE cluster_tasks SET status = @status, error = @error, lease_expires_at = NULL,
       claimed_by = CASE WHEN @status = 'dead' THEN claimed_by END,
       finished_at = CASE WHEN @status = 'dead' THEN @now END
     WHERE id = @id AND status = 'running'`,
  ).run({ id: task.id, status, error, now });
  return status;
}

export interface Claimant {
  role: string;
  template: string;
  worker: boolean;
}

/** The best queued task an agent may take: highest priority, then oldest. */
export function nextQueued(db: Db, clusterId: string, who: Claimant): TaskRow | undefined {
  return stmt(
    db,
    `SELECT * FROM cluster_tasks
     WHERE cluster_id = @cluster AND status = 'queued'
       AND (role IS NULL AND @worker = 1 OR role = @role OR role = @template)
     ORDER BY priority DESC, id LIMIT 1`,
  ).get({ cluster: clusterId, worker: who.worker ? 1 : 0, role: who.role, template: who.template }) as TaskRow | undefined;
}

export function markClaimed(db: Db, id: number, agentId: string, leaseUntil: string, now: string): void {
  stmt(
    db,
    `UPDATE cluster_tasks SET status = 'running', claimed_by = @agent, lease_expires_at = @lease, claimed_at = @now, attempts = attempts + 1
     WHERE id = @id AND status = 'queued'`,
  ).run({ id, agent: agentId, lease: leaseUntil, now });
}

export function extendLease(db: Db, id: number, until: string): void {
  stmt(db, "UPDATE cluster_tasks SET lease_expires_at = ? WHERE id = ? AND status = 'running'").run(until, id);
}

export function markSucceeded(db: Db, id: number, result: string | null, now: string): void {
  stmt(
    db,
    "UPDATE cluster_tasks SET status = 'succeeded', result = ?, lease_expires_at = NULL, finished_at = ? WHERE id = ? AND status = 'running'",
  ).run(result, now, id);
}

/** A cluster's tasks, newest first, all or those in one status. */
export function listTasks(db: Db, clusterId: string, status: TaskStatus | undefined, limit: number): TaskRow[] {
  if (status) return stmt(db, 'SELECT * FROM cluster_tasks WHERE cluster_id = ? AND status = ? ORDER BY id DESC LIMIT ?').all(clusterId, status, limit) as TaskRow[];
  return stmt(db, 'SELECT * FROM cluster_tasks WHERE cluster_id = ? ORDER BY id DESC LIMIT ?').all(clusterId, limit) as TaskRow[];
}

export function countTasksByStatus(db: Db, clusterId: string): Record<TaskStatus, number> {
  const out: Record<TaskStatus, number> = { queued: 0, running: 0, succeeded: 0, dead: 0 };
  const rows = stmt(db, 'SELECT status, count(*) AS n FROM cluster_tasks WHERE cluster_id = ? GROUP BY status').all(clusterId) as { status: TaskStatus; n: number }[];
  for (const r of rows) out[r.status] = r.n;
  return out;
}
