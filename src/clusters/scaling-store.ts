// SQL for auto-scaling and cluster metrics: what a cluster looks like right now (agents, queue,
// messages, recent outcomes), its cluster_metrics rows, and the scaling memory on the clusters row.
// Every count goes through an index: the queue and lease partial indexes, cluster_tasks_status,
// cluster_tasks_finished, and the pending-messages index reached through the cluster's agents.
import { stmt, toDbTime, type Db } from '../core/db.js';

/** Finished-task rates are counted over this window (completed and dead-lettered per minute). */
export const RATE_WINDOW_MS = 5 * 60_000;
/** A busy agent not heard from for this long counts as stuck in the health score. */
const UNSEEN_MS = 10 * 60_000;
/** Dead-lettered tasks weigh on the health score for this long. */
const DEATH_WINDOW_MS = 60 * 60_000;

export interface ClusterMeasure {
  agents: { idle: number; busy: number; retired: number };
  /** Agents that are not retired. */
  live: number;
  /** Live agents holding a running task whose lease ran out, or that were not seen for UNSEEN_MS. */
  stuck: number;
  /** Workers that can take work: not retired, not draining. */
  workers: number;
  /** Of those, the ones holding no running task. */
  free: number;
  tasks: { queued: number; running: number; dead: number };
  /** Queued tasks a worker may claim (no role, role "worker", or a worker template). */
  backlog: number;
  messagesPending: number;
  /** Tasks that succeeded / went to the dead letter within RATE_WINDOW_MS. */
  succeededRecent: number;
  deadRecent: number;
  /** Tasks finished / dead-lettered within DEATH_WINDOW_MS. */
  finishedHour: number;
  deadHour: number;
}

const n = (v: number | null | undefined) => v ?? 0;

/** The reads behind a measurement (exported so a test can check each one's query plan). */
export const MEASURE_SQL = {
  agents: `SELECT sum(state = 'idle') AS idle, sum(state = 'busy') AS busy, sum(state = 'retired') AS retired,
       sum(state != 'retired') AS live,
       sum(role = 'worker' AND state != 'retired' AND draining = 0) AS workers,
       sum(role = 'worker' AND state != 'retired' AND draining = 0
           AND NOT EXISTS (SELECT 1 FROM cluster_tasks t WHERE t.claimed_by = a.id AND t.status = 'running')) AS free,
       sum(state != 'retired' AND EXISTS (SELECT 1 FROM cluster_tasks t WHERE t.claimed_by = a.id AND t.status = 'running'
           AND (t.lease_expires_at < @now OR coalesce(a.last_seen_at, t.claimed_at, a.created_at) < @unseen))) AS stuck
     FROM cluster_agents a WHERE a.cluster_id = @cluster`,
  tasks: "SELECT status, count(*) AS n FROM cluster_tasks WHERE cluster_id = @cluster AND status IN ('queued', 'running', 'dead') GROUP BY status",
  backlog: `SELECT count(*) AS n FROM cluster_tasks WHERE cluster_id = @cluster AND status = 'queued'
       AND (role IS NULL OR role IN (SELECT value FROM json_each(@roles)))`,
  finished: `SELECT sum(status = 'succeeded' AND finished_at >= @recent) AS succeeded_recent, sum(status = 'dead' AND finished_at >= @recent) AS dead_recent,
       count(*) AS finished_hour, sum(status = 'dead') AS dead_hour
     FROM cluster_tasks WHERE cluster_id = @cluster AND finished_at >= @hour`,
  // Through the agents (retired ones too: their pending messages are kept), each one a range of
  // the pending-messages index. Named, because without statistics SQLite ties it with the inbox
  // index (to_agent, id), which would read every acknowledged message an agent ever got.
  messages: `SELECT count(*) AS n FROM cluster_agents a JOIN messages m INDEXED BY messages_pending ON m.to_agent = a.id AND m.acknowledged_at IS NULL
     WHERE a.cluster_id = @cluster`,
} as const;

/** Everything the snapshot, the health score and the scaling decision need, read at `nowMs`. */
export function measure(db: Db, clusterId: string, workerTemplates: readonly string[], nowMs: number): ClusterMeasure {
  const cluster = clusterId;
  const agents = stmt(db, MEASURE_SQL.agents).get({ cluster, now: toDbTime(nowMs), unseen: toDbTime(nowMs - UNSEEN_MS) }) as Record<string, number | null>;
  const tasks = { queued: 0, running: 0, dead: 0 };
  for (const r of stmt(db, MEASURE_SQL.tasks).all({ cluster }) as { status: keyof typeof tasks; n: number }[]) tasks[r.status] = r.n;
  const backlog = tasks.queued ? (stmt(db, MEASURE_SQL.backlog).get({ cluster, roles: JSON.stringify(['worker', ...workerTemplates]) }) as { n: number }).n : 0;
  const finished = stmt(db, MEASURE_SQL.finished).get({ cluster, recent: toDbTime(nowMs - RATE_WINDOW_MS), hour: toDbTime(nowMs - DEATH_WINDOW_MS) }) as Record<string, number | null>;
  return {
    agents: { idle: n(agents.idle), busy: n(agents.busy), retired: n(agents.retired) },
    live: n(agents.live),
    stuck: n(agents.stuck),
    workers: n(agents.workers),
    free: n(agents.free),
    tasks,
    backlog,
    messagesPending: (stmt(db, MEASURE_SQL.messages).get({ cluster }) as { n: number }).n,
    succeededRecent: n(finished.succeeded_recent),
    deadRecent: n(finished.dead_recent),
    finishedHour: n(finished.finished_hour),
    deadHour: n(finished.dead_hour),
  };
}

export interface MetricsRow {
  cluster_id: string;
  at: string;
  workers: number;
  agents_idle: number;
  agents_busy: number;
  agents_retired: number;
  tasks_queued: number;
  tasks_running: number;
  backlog_per_worker: number;
  messages_pending: number;
  completed_per_min: number;
  failed_per_min: number;
  health_score: number;
}

export function insertMetrics(db: Db, row: MetricsRow): void {
  stmt(
    db,
    `INSERT INTO cluster_metrics (cluster_id, at, workers, agents_idle, agents_busy, agents_retired, tasks_queued, tasks_running,
       backlog_per_worker, messages_pending, completed_per_min, failed_per_min, health_score)
     VALUES (@cluster_id, @at, @workers, @agents_idle, @agents_busy, @agents_retired, @tasks_queued, @tasks_running,
       @backlog_per_worker, @messages_pending, @completed_per_min, @failed_per_min, @health_score)`,
  ).run(row);
}

/** Time of the cluster's newest metrics row (database time), if any. */
export function lastMetricsAt(db: Db, clusterId: string): string | undefined {
  return (stmt(db, 'SELECT max(at) AS at FROM cluster_metrics WHERE cluster_id = ?').get(clusterId) as { at: string | null }).at ?? undefined;
}

export function purgeMetrics(db: Db, before: string): number {
  return stmt(db, 'DELETE FROM cluster_metrics WHERE at < ?').run(before).changes;
}

export interface ScalingMemory {
  health_score: number;
  backlog_high_since: string | null;
  idle_since: string | null;
}

/**
 * Writes the health score and the scaling memory when they changed. Not a change of the cluster a
 * person made, so updated_at stays; an unchanged cluster costs no write at all.
 */
export function saveScalingMemory(db: Db, clusterId: string, m: ScalingMemory): boolean {
  return (
    stmt(
      db,
      `UPDATE clusters SET health_score = @health_score, backlog_high_since = @backlog_high_since, idle_since = @idle_since
       WHERE id = @id AND (health_score != @health_score OR backlog_high_since IS NOT @backlog_high_since OR idle_since IS NOT @idle_since)`,
    ).run({ ...m, id: clusterId }).changes > 0
  );
}
