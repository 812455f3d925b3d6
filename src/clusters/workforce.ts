// Spawning agents and moving the worker count: which template gets the next replica, which
// worker goes first, and the rule that a worker holding a task is drained, never retired.
// Callers run these inside their transaction.
import { toDbTime, type Db } from '../core/db.js';
import type { AgentSpec, BlueprintSpec } from './blueprint.js';
import { manifestOf } from './manifest.js';
import * as store from './store.js';
import type { AgentRow, ClusterRow } from './types.js';

export interface WorkforceChange {
  /** Live workers before and after (draining workers no longer count). */
  from: number;
  to: number;
  /** Agents started: new replicas or retired ones revived. */
  started: string[];
  /** Idle workers retired at once. */
  retired: string[];
  /** Workers holding a task: they take nothing new and retire when their tasks end. */
  draining: string[];
}

const fullId = (cluster: string, agent: string) => `${cluster}/${agent}`;

function reportsOf(spec: BlueprintSpec, templateId: string): string[] {
  return spec.agents.filter((a) => a.parent === templateId).map((a) => a.id);
}

function newAgentRow(cluster: ClusterRow, spec: BlueprintSpec, a: AgentSpec, replica: number | null, now: string): AgentRow {
  const agent = replica === null ? a.id : `${a.id}-${replica}`;
  const id = fullId(cluster.id, agent);
  const parentId = a.parent ? fullId(cluster.id, a.parent) : null;
  const name = replica === null ? a.name : `${a.name} ${replica}`;
  return {
    id,
    cluster_id: cluster.id,
    agent,
    template: a.id,
    role: a.role,
    parent: parentId,
    replica,
    name,
    state: 'idle',
    draining: 0,
    manifest: manifestOf({ clusterId: cluster.id, clusterName: cluster.name, project: cluster.project, agentId: id, name, parentId, reports: reportsOf(spec, a.id), spec: a, blueprint: spec }),
    created_at: now,
    last_seen_at: null,
    retired_at: null,
  };
}

/** The non-worker agents of a new cluster (supervisor, leads, specialists): one each. */
export function spawnCore(db: Db, cluster: ClusterRow, spec: BlueprintSpec, now = toDbTime()): string[] {
  const ids: string[] = [];
  for (const a of spec.agents) {
    if (a.role === 'worker') continue;
    const row = newAgentRow(cluster, spec, a, null, now);
    store.insertAgent(db, row);
    ids.push(row.id);
  }
  return ids;
}

/** Live (not retired, not draining) workers per template. */
function liveByTemplate(workers: AgentRow[]): Map<string, AgentRow[]> {
  const map = new Map<string, AgentRow[]>();
  for (const w of workers) {
    if (w.state === 'retired' || w.draining) continue;
    map.set(w.template, [...(map.get(w.template) ?? []), w]);
  }
  return map;
}

export function liveWorkerCount(db: Db, clusterId: string): number {
  return store.workerAgents(db, clusterId).filter((w) => w.state !== 'retired' && !w.draining).length;
}

/**
 * Brings the live worker count to `target`. Up: the template furthest below its weighted share gets
 * the next worker, reviving its lowest-numbered retired replica before making a new one (ids stay
 * stable across scale down and up). Down: idle workers go first, newest first, from the template
 * furthest above its share; workers holding a task are drained instead.
 * `isHolding` says whether an agent holds a running task (the task board knows).
 */
export function setWorkerCount(db: Db, cluster: ClusterRow, spec: BlueprintSpec, target: number, isHolding: (agentId: string) => boolean, now = toDbTime()): WorkforceChange {
  const templates = spec.agents.filter((a) => a.role === 'worker');
  const workers = store.workerAgents(db, cluster.id);
  const live = liveByTemplate(workers);
  const count = (t: string) => live.get(t)?.length ?? 0;
  const from = [...live.values()].reduce((n, l) => n + l.length, 0);
  const change: WorkforceChange = { from, to: from, started: [], retired: [], draining: [] };

  // Share of a template = live replicas / weight; the lowest share grows first, the highest shrinks first.
  const share = (a: AgentSpec) => count(a.id) / a.weight;
  while (change.to < target && templates.length) {
    const t = templates.reduce((best, a) => (share(a) < share(best) ? a : best));
    // Draining workers first (asking one back costs nothing), then retired ones, lowest number first.
    const retired = workers.filter((w) => w.template === t.id && (w.state === 'retired' || w.draining)).sort((a, b) => b.draining - a.draining || a.replica! - b.replica!);
    let row: AgentRow;
    if (retired.length) {
      row = retired[0];
      // A draining worker asked back simply stays; a retired one is revived.
      if (row.draining) store.setDraining(db, row.id, false);
      else store.setAgentState(db, row.id, 'idle', now);
      workers.splice(workers.indexOf(row), 1, { ...row, state: row.draining ? row.state : 'idle', draining: 0 });
    } else {
      const next = Math.max(0, ...workers.filter((w) => w.template === t.id).map((w) => w.replica!)) + 1;
      row = newAgentRow(cluster, spec, t, next, now);
      store.insertAgent(db, row);
      workers.push(row);
    }
    live.set(t.id, [...(live.get(t.id) ?? []), row]);
    change.started.push(row.id);
    change.to++;
  }
  while (change.to > target) {
    const candidates = templates.filter((a) => count(a.id) > 0);
    if (!candidates.length) break;
    const t = candidates.reduce((best, a) => (share(a) > share(best) ? a : best));
    const pool = live.get(t.id)!;
    // Idle before busy, newest replica first.
    pool.sort((a, b) => Number(isHolding(a.id)) - Number(isHolding(b.id)) || b.replica! - a.replica!);
    const w = pool.shift()!;
    if (isHolding(w.id)) {
      store.setDraining(db, w.id, true);
      change.draining.push(w.id);
    } else {
      store.setAgentState(db, w.id, 'retired', now);
      change.retired.push(w.id);
    }
    change.to--;
  }
  return change;
}
