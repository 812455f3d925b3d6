// SQL for blueprints, clusters and agents. Free functions taking the db first; the service wraps
// multi-statement changes in transactions. Messages and tasks have their own files.
import { stmt, toDbTime, type Db } from '../core/db.js';
import type { Role } from './blueprint.js';
import type { AgentRow, AgentState, BlueprintRow, ClusterRow, ClusterStatus } from './types.js';

// ---------------------------------------------------------------- blueprints

export function latestBlueprint(db: Db, id: string): BlueprintRow | undefined {
  return stmt(db, 'SELECT * FROM cluster_blueprints WHERE id = ? ORDER BY revision DESC LIMIT 1').get(id) as BlueprintRow | undefined;
}

export function getBlueprint(db: Db, id: string, revision: number): BlueprintRow | undefined {
  return stmt(db, 'SELECT * FROM cluster_blueprints WHERE id = ? AND revision = ?').get(id, revision) as BlueprintRow | undefined;
}

export function insertBlueprint(db: Db, row: Omit<BlueprintRow, 'created_at'>, now = toDbTime()): void {
  stmt(
    db,
    `INSERT INTO cluster_blueprints (id, revision, name, version, description, cluster_type, yaml, spec, spec_hash, created_at)
     VALUES (@id, @revision, @name, @version, @description, @cluster_type, @yaml, @spec, @spec_hash, @created_at)`,
  ).run({ ...row, created_at: now });
}

/** The latest revision of every blueprint, with how many revisions it has. */
export function listBlueprints(db: Db): (BlueprintRow & { revisions: number })[] {
  return stmt(
    db,
    `SELECT b.*, r.revisions FROM cluster_blueprints b
     JOIN (SELECT id, max(revision) AS latest, count(*) AS revisions FROM cluster_blueprints GROUP BY id) r
       ON r.id = b.id AND r.latest = b.revision
     ORDER BY b.id`,
  ).all() as (BlueprintRow & { revisions: number })[];
}

export function deleteBlueprint(db: Db, id: string): number {
  return stmt(db, 'DELETE FROM cluster_blueprints WHERE id = ?').run(id).changes;
}

/** Clusters (not destroyed) made from a blueprint: while there are any, it cannot be deleted. */
export function clustersUsingBlueprint(db: Db, id: string): string[] {
  return (stmt(db, "SELECT id FROM clusters WHERE blueprint_id = ? AND status != 'destroyed' ORDER BY id").all(id) as { id: string }[]).map((r) => r.id);
}

// ---------------------------------------------------------------- clusters

export function getCluster(db: Db, id: string): ClusterRow | undefined {
  return stmt(db, 'SELECT * FROM clusters WHERE id = ?').get(id) as ClusterRow | undefined;
}

export function clusterExists(db: Db, id: string): boolean {
  return stmt(db, 'SELECT 1 FROM clusters WHERE id = ?').get(id) !== undefined;
}

export function insertCluster(db: Db, row: ClusterRow): void {
  stmt(
    db,
    `INSERT INTO clusters (id, name, description, type, blueprint_id, blueprint_revision, spec, project, status,
       min_workers, max_workers, target_workers, health_score, backlog_high_since, idle_since, last_scaled_at,
       created_at, updated_at, activated_at, hibernated_at, destroyed_at)
     VALUES (@id, @name, @description, @type, @blueprint_id, @blueprint_revision, @spec, @project, @status,
       @min_workers, @max_workers, @target_workers, @health_score, @backlog_high_since, @idle_since, @last_scaled_at,
       @created_at, @updated_at, @activated_at, @hibernated_at, @destroyed_at)`,
  ).run(row);
}

export interface ClusterFilter {
  status?: ClusterStatus;
  type?: string;
  blueprint?: string;
  /** Destroyed clusters are left out unless asked for by status. */
}

export function listClusters(db: Db, filter: ClusterFilter, limit: number): ClusterRow[] {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.status) {
    where.push('status = ?');
    params.push(filter.status);
  } else where.push("status != 'destroyed'");
  if (filter.type) {
    where.push('type = ?');
    params.push(filter.type);
  }
  if (filter.blueprint) {
    where.push('blueprint_id = ?');
    params.push(filter.blueprint);
  }
  return stmt(db, `SELECT * FROM clusters WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id LIMIT ?`).all(...params, limit) as ClusterRow[];
}

/** Active clusters: what the scheduler snapshots and auto-scales. */
export function activeClusterIds(db: Db): string[] {
  return (stmt(db, "SELECT id FROM clusters WHERE status = 'active' ORDER BY id").all() as { id: string }[]).map((r) => r.id);
}

const CLUSTER_COLUMNS = new Set([
  'name',
  'description',
  'status',
  'min_workers',
  'max_workers',
  'target_workers',
  'health_score',
  'backlog_high_since',
  'idle_since',
  'last_scaled_at',
  'activated_at',
  'hibernated_at',
  'destroyed_at',
]);

/** Sets the given columns (and updated_at). Column names come from the fixed list above. */
export function updateCluster(db: Db, id: string, patch: Partial<ClusterRow>, now = toDbTime()): void {
  const cols = Object.keys(patch).filter((k) => CLUSTER_COLUMNS.has(k));
  const sets = cols.map((c) => `${c} = @${c}`).join(', ');
  stmt(db, `UPDATE clusters SET ${sets}${sets ? ', ' : ''}updated_at = @updated_at WHERE id = @id`).run({ ...pick(patch, cols), id, updated_at: now });
}

function pick(obj: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, obj[k] ?? null]));
}

/** Destroyed clusters whose retention has passed (deleting them cascades to everything they own). */
export function purgeDestroyedClusters(db: Db, before: string): number {
  return stmt(db, "DELETE FROM clusters WHERE status = 'destroyed' AND destroyed_at < ?").run(before).changes;
}

// ---------------------------------------------------------------- agents

export function getAgent(db: Db, id: string): AgentRow | undefined {
  return stmt(db, 'SELECT * FROM cluster_agents WHERE id = ?').get(id) as AgentRow | undefined;
}

export function insertAgent(db: Db, row: AgentRow): void {
  stmt(
    db,
    `INSERT INTO cluster_agents (id, cluster_id, agent, template, role, parent, replica, name, state, draining, manifest,
       created_at, last_seen_at, retired_at)
     VALUES (@id, @cluster_id, @agent, @template, @role, @parent, @replica, @name, @state, @draining, @manifest,
       @created_at, @last_seen_at, @retired_at)`,
  ).run(row);
}

/** Every agent of a cluster in hierarchy-friendly order (roles top-down, then ids). */
export function clusterAgents(db: Db, clusterId: string): AgentRow[] {
  return stmt(
    db,
    `SELECT * FROM cluster_agents WHERE cluster_id = ?
     ORDER BY CASE role WHEN 'supervisor' THEN 0 WHEN 'lead' THEN 1 WHEN 'specialist' THEN 2 ELSE 3 END, template, replica, agent`,
  ).all(clusterId) as AgentRow[];
}

/** Worker replicas of a cluster (retired ones too), in replica order per template. */
export function workerAgents(db: Db, clusterId: string): AgentRow[] {
  return stmt(db, "SELECT * FROM cluster_agents WHERE cluster_id = ? AND role = 'worker' ORDER BY template, replica").all(clusterId) as AgentRow[];
}

export function countAgentsByState(db: Db, clusterId: string): Record<AgentState, number> & { workers: number } {
  const rows = stmt(
    db,
    `SELECT state, count(*) AS n, sum(role = 'worker' AND state != 'retired') AS workers FROM cluster_agents WHERE cluster_id = ? GROUP BY state`,
  ).all(clusterId) as { state: AgentState; n: number; workers: number }[];
  const out = { idle: 0, busy: 0, retired: 0, workers: 0 };
  for (const r of rows) {
    out[r.state] = r.n;
    out.workers += r.workers ?? 0;
  }
  return out;
}

export function setAgentState(db: Db, id: string, state: AgentState, now = toDbTime()): void {
  stmt(
    db,
    `UPDATE cluster_agents SET state = @state, draining = CASE WHEN @state = 'retired' THEN 0 ELSE draining END,
       retired_at = CASE WHEN @state = 'retired' THEN @now ELSE NULL END WHERE id = @id`,
  ).run({ id, state, now });
}

export function setDraining(db: Db, id: string, draining: boolean): void {
  stmt(db, 'UPDATE cluster_agents SET draining = ? WHERE id = ?').run(draining ? 1 : 0, id);
}

/** Every agent of a cluster with the given roles goes to `state` (hibernate, destroy, restore). */
export function setStateWhere(db: Db, clusterId: string, roles: Role[], from: AgentState[], to: AgentState, now = toDbTime()): number {
  const r = stmt(
    db,
    `UPDATE cluster_agents SET state = @to, draining = 0, retired_at = CASE WHEN @to = 'retired' THEN @now ELSE NULL END
     WHERE cluster_id = @cluster AND role IN (SELECT value FROM json_each(@roles)) AND state IN (SELECT value FROM json_each(@from))`,
  ).run({ cluster: clusterId, roles: JSON.stringify(roles), from: JSON.stringify(from), to, now });
  return r.changes;
}

/** Records that an agent acted (any tool call made under its id). */
export function touchAgent(db: Db, id: string, now = toDbTime()): void {
  stmt(db, 'UPDATE cluster_agents SET last_seen_at = ? WHERE id = ?').run(now, id);
}
