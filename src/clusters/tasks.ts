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
