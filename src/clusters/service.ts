// The cluster area's API: blueprints, the cluster lifecycle, agents and the hierarchy. What the
// tools, the CLI, the scheduler and app.ts call. Every change that spans rows is one IMMEDIATE
// transaction; events are recorded after it commits, so a failed change leaves no trace at all.
import { createHash } from 'node:crypto';
import { toDbTime } from '../core/db.js';
import { ConflictError, NotFoundError, UserError } from '../core/errors.js';
import { blueprintToYaml, canonicalJson, loadBlueprint, SLUG, targetWorkers, type BlueprintSpec } from './blueprint.js';
import { createContext, iso, type ClusterContext, type ClusterDeps } from './context.js';
import { assertCan, NEXT_STATUS, type ClusterAction } from './lifecycle.js';
import { createBoard } from './board.js';
import { createMailbox } from './mailbox.js';
import { createScaler, type AutoscaleResult, type ClusterSnapshot } from './scaling.js';
import * as store from './store.js';
import { clusterTransfer } from './transfer.js';
import { holdsTask, requeueRunning } from './board-store.js';
import type { AgentRow, AgentView, BlueprintRow, ClusterRow, ClusterStatus, ClusterView, TreeNode } from './types.js';
import { liveWorkerCount, setWorkerCount, spawnCore, type WorkforceChange } from './workforce.js';

export type { ClusterDeps } from './context.js';
export type ClusterService = ReturnType<typeof createClusterService>;

/** A blueprint revision as the tools show it: the row without its texts, times in ISO 8601. */
export type BlueprintView = Omit<BlueprintRow, 'yaml' | 'spec' | 'spec_hash'> & { revisions?: number };

export interface CreateClusterInput {
  blueprint: string;
  /** A revision of the blueprint; default its latest. */
  revision?: number;
  id?: string;
  name?: string;
  description?: string;
  project?: string;
  target?: number;
}

export interface ClusterPatch {
  name?: string;
  description?: string;
  min?: number;
  max?: number;
  target?: number;
}

function blueprintView(row: BlueprintRow & { revisions?: number }): BlueprintView {
  return {
    id: row.id,
    revision: row.revision,
    name: row.name,
    version: row.version,
    description: row.description,
    cluster_type: row.cluster_type,
    created_at: iso(row.created_at),
    ...(row.revisions !== undefined ? { revisions: row.revisions } : {}),
  };
}

export function agentView(a: AgentRow): AgentView {
  return {
    id: a.id,
    role: a.role,
    template: a.template,
    name: a.name,
    parent: a.parent,
    state: a.state,
    ...(a.draining ? { draining: true } : {}),
    last_seen_at: iso(a.last_seen_at),
  };
}

/** A cluster id from a name: lower-case words joined by "-", cut to 40 characters. */
function slugOf(name: string): string {
  const s = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return s || 'cluster';
}

export function createClusterService(deps: ClusterDeps) {
  const ctx: ClusterContext = createContext(deps);
  const { db } = ctx;
  const isHolding = (agentId: string) => holdsTask(db, agentId);
  const scaler = createScaler(ctx, isHolding);

  function view(row: ClusterRow): ClusterView {
    const counts = store.countAgentsByState(db, row.id);
    return {
      id: row.id,
      name: row.name,
      description: row.description,
      type: row.type,
      blueprint: row.blueprint_id,
      blueprint_revision: row.blueprint_revision,
      project: row.project,
      status: row.status,
      workers: { min: row.min_workers, max: row.max_workers, target: row.target_workers, live: counts.workers },
      agents: { idle: counts.idle, busy: counts.busy, retired: counts.retired },
      health_score: Math.round(row.health_score * 1000) / 1000,
      created_at: iso(row.created_at),
      updated_at: iso(row.updated_at),
    };
  }

  /** Runs a change in one transaction; records its events only once it has committed. */
  function change<T>(work: (events: [string, string, Record<string, unknown>][]) => T): T {
    const events: [string, string, Record<string, unknown>][] = [];
    const result = db.transaction(() => work(events)).immediate();
    for (const [type, message, details] of events) ctx.recordEvent(type, 'info', message, details);
    return result;
  }

  /** Moves a cluster to the state its action leads to, noting the event. */
  function transition(row: ClusterRow, action: ClusterAction, events: [string, string, Record<string, unknown>][], extra: Partial<ClusterRow> = {}, now = toDbTime()): ClusterRow {
    assertCan(row, action);
    const to = NEXT_STATUS[action]!;
    const stamps: Partial<ClusterRow> =
      to === 'active' ? { activated_at: now } : to === 'hibernated' ? { hibernated_at: now } : to === 'destroyed' ? { destroyed_at: now } : {};
    const patch = { status: to, ...stamps, ...extra };
    store.updateCluster(db, row.id, patch, now);
    events.push([`cluster.${to}`, `cluster ${row.id}: ${row.status} -> ${to}`, { cluster: row.id, from: row.status, to, action }]);
    return { ...row, ...patch, updated_at: now };
  }

  function workforceEvent(row: ClusterRow, c: WorkforceChange, why: string): [string, string, Record<string, unknown>] {
    return [
      'cluster.scaled',
      `cluster ${row.id}: workers ${c.from} -> ${c.to} (${why})`,
      { cluster: row.id, from: c.from, to: c.to, started: c.started, retired: c.retired, draining: c.draining, reason: why },
    ];
  }

  const blueprints = {
    /** Checks a blueprint without saving it. */
    validate(yamlText: string): BlueprintSpec {
      return loadBlueprint(yamlText);
    },

    /** Saves a blueprint: a new revision when its spec differs from the latest, else nothing. */
    save(yamlText: string): BlueprintView & { changed: boolean } {
      const spec = loadBlueprint(yamlText);
      const json = canonicalJson(spec);
      const hash = createHash('sha256').update(json).digest('hex').slice(0, 16);
      return db
        .transaction(() => {
          const latest = store.latestBlueprint(db, spec.metadata.id);
          if (latest && latest.spec_hash === hash) return { ...blueprintView(latest), changed: false };
          const row = {
            id: spec.metadata.id,
            revision: (latest?.revision ?? 0) + 1,
            name: spec.metadata.name,
            version: spec.metadata.version,
            description: spec.metadata.description ?? '',
            cluster_type: spec.cluster.type,
            yaml: yamlText,
            spec: json,
            spec_hash: hash,
          };
          const now = toDbTime(ctx.now());
          store.insertBlueprint(db, row, now);
          return { ...blueprintView({ ...row, created_at: now }), changed: true };
        })
        .immediate();
    },

    /** A blueprint revision (default the latest) with its YAML as saved and its spec as canonical YAML. */
    get(id: string, revision?: number): BlueprintView & { yaml: string; canonical_yaml: string; spec: BlueprintSpec } {
      const row = revision === undefined ? store.latestBlueprint(db, id) : store.getBlueprint(db, id, revision);
      if (!row) {
        const latest = store.latestBlueprint(db, id);
        if (latest) throw new NotFoundError(`Blueprint "${id}" has no revision ${revision}; its revisions are 1..${latest.revision}.`);
        const known = store.listBlueprints(db).map((b) => b.id);
        throw new NotFoundError(`No blueprint "${id}".${known.length ? ` Blueprints: ${known.join(', ')}.` : ''} Save one with blueprint {action: "save", yaml}.`);
      }
      const spec = JSON.parse(row.spec) as BlueprintSpec;
      return { ...blueprintView(row), yaml: row.yaml, canonical_yaml: blueprintToYaml(spec), spec };
    },

    list(): BlueprintView[] {
      return store.listBlueprints(db).map(blueprintView);
    },

    /** Deletes every revision; refused while a cluster that is not destroyed was made from it. */
    delete(id: string): { id: string; revisions: number } {
      return db
        .transaction(() => {
          blueprints.get(id);
          const users = store.clustersUsingBlueprint(db, id);
          if (users.length) throw new ConflictError(`Blueprint "${id}" is used by cluster${users.length > 1 ? 's' : ''} ${users.join(', ')}; destroy ${users.length > 1 ? 'them' : 'it'} first.`);
          return { id, revisions: store.deleteBlueprint(db, id) };
        })
        .immediate();
    },
  };

  /**
   * What the cluster's scaling policy decides now, with its reasons and the measurement behind it.
   * `apply`: in one IMMEDIATE transaction that re-reads everything, keep the measurement and the
   * scaling memory and carry the decision out (an event `cluster.autoscaled` when it scaled).
   */
  function autoscale(id: string, apply = false): AutoscaleResult {
    if (!apply) return scaler.decide(id);
    const result = change((events) => scaler.apply(id, events));
    scaler.applied(result);
    return result;
  }

  function freeId(base: string): string {
    if (!store.clusterExists(db, base)) return base;
    for (let n = 2; ; n++) {
      const id = `${base.slice(0, 40 - String(n).length - 1)}-${n}`;
      if (!store.clusterExists(db, id)) return id;
    }
  }

  const messages = createMailbox(ctx);
  const board = createBoard(ctx);

  return {
    ctx,
    blueprints,
    view,
    /** Agent messages (mailbox.ts). */
    messages,
    /** The task board (board.ts). */
    tasks: board,
    /** Acknowledged messages older than messageRetentionHours go; pending ones stay (the scheduler calls this). */
    purgeMessages: (): number => messages.purge(),
    /** Blueprints, clusters, agents, tasks and messages in the full export (brain export / import). */
    transfer: clusterTransfer(db),

    /** Makes a cluster from a blueprint: planning -> spawning -> active in one transaction. */
    create(input: CreateClusterInput): { cluster: ClusterView; agents: AgentView[] } {
      const bp = blueprints.get(input.blueprint, input.revision);
      const spec = bp.spec;
      if (input.id !== undefined && !SLUG.test(input.id)) throw new UserError(`"${input.id}" is not a valid cluster id: use 1-40 lower-case letters, digits and "-", starting and ending with a letter or digit.`);
      const target = input.target ?? targetWorkers(spec);
      const { min_workers: min, max_workers: max } = spec.cluster;
      if (target < min || target > max) throw new UserError(`"target" ${target} is outside the blueprint's ${min}..${max} workers; choose a number in that range.`);
      return change((events) => {
        let id = input.id;
        if (id !== undefined && store.clusterExists(db, id)) throw new ConflictError(`A cluster "${id}" exists already; choose another id (or leave it out for one made from the name).`);
        id ??= freeId(slugOf(input.name ?? spec.metadata.id));
        const project = input.project ?? id;
        ctx.ensureProject(project);
        const now = toDbTime(ctx.now());
        let row: ClusterRow = {
          id,
          name: input.name ?? spec.metadata.name,
          description: input.description ?? spec.metadata.description ?? '',
          type: spec.cluster.type,
          blueprint_id: bp.id,
          blueprint_revision: bp.revision,
          spec: canonicalJson(spec),
          project,
          status: 'planning',
          min_workers: min,
          max_workers: max,
          target_workers: target,
          health_score: 1,
          backlog_high_since: null,
          idle_since: null,
          last_scaled_at: null,
          created_at: now,
          updated_at: now,
          activated_at: null,
          hibernated_at: null,
          destroyed_at: null,
        };
        store.insertCluster(db, row);
        events.push(['cluster.planning', `cluster ${id} planned from blueprint ${bp.id} revision ${bp.revision}`, { cluster: id, blueprint: bp.id, revision: bp.revision, to: 'planning' }]);
        row = transition(row, 'spawn', events, {}, now);
        const core = spawnCore(db, row, spec, now);
        const workers = setWorkerCount(db, row, spec, target, isHolding, now);
        row = transition(row, 'activate', events, { idle_since: now }, now);
        events[events.length - 1][2].agents = [...core, ...workers.started];
        return { cluster: view(row), agents: store.clusterAgents(db, id).map(agentView) };
      });
    },

    get(id: string): { cluster: ClusterView; agents: AgentView[] } {
      const row = ctx.cluster(id);
      return { cluster: view(row), agents: store.clusterAgents(db, row.id).map(agentView) };
    },

    list(filter: store.ClusterFilter = {}, limit = 50): ClusterView[] {
      return store.listClusters(db, filter, limit).map(view);
    },

    /** The hierarchy: the root agent with the agents that report to it, retired agents left out. */
    tree(id: string): TreeNode {
      const row = ctx.cluster(id);
      const agents = store.clusterAgents(db, row.id).filter((a) => a.state !== 'retired');
      const nodes = new Map(agents.map((a) => [a.id, { ...agentView(a), reports: [] as TreeNode[] }]));
      let root: TreeNode | undefined;
      for (const a of agents) {
        const node = nodes.get(a.id)!;
        const parent = a.parent ? nodes.get(a.parent) : undefined;
        if (parent) parent.reports.push(node);
        else if (!a.parent) root = node;
      }
      if (!root) throw new UserError(`Cluster "${row.id}" is ${row.status} and has no live agents; ${row.status === 'destroyed' ? 'restore it first' : 'reactivate it first'}.`);
      return root;
    },

    /** Name, description, and worker bounds (bounds only while active). */
    update(id: string, patch: ClusterPatch): { cluster: ClusterView; change?: WorkforceChange } {
      return change((events) => {
        const row = ctx.cluster(id);
        assertCan(row, 'update');
        const bounds = patch.min !== undefined || patch.max !== undefined || patch.target !== undefined;
        if (bounds) assertCan(row, 'scale');
        const min = patch.min ?? row.min_workers;
        const max = patch.max ?? row.max_workers;
        const spec = ctx.spec(row);
        if (max > 0 && !spec.agents.some((a) => a.role === 'worker')) throw new UserError(`Cluster "${row.id}" has no worker agents in its blueprint; max must stay 0.`);
        if (min > max) throw new UserError(`"min" ${min} is more than "max" ${max}; give min <= max.`);
        const target = patch.target ?? Math.min(Math.max(row.target_workers, min), max);
        if (target < min || target > max) throw new UserError(`"target" ${target} is outside ${min}..${max}; choose a number in that range.`);
        const now = toDbTime(ctx.now());
        const fields: Partial<ClusterRow> = {};
        if (patch.name !== undefined) fields.name = patch.name;
        if (patch.description !== undefined) fields.description = patch.description;
        if (bounds) Object.assign(fields, { min_workers: min, max_workers: max, target_workers: target });
        store.updateCluster(db, row.id, fields, now);
        const updated = { ...row, ...fields };
        events.push(['cluster.updated', `cluster ${row.id} updated: ${Object.keys(patch).join(', ')}`, { cluster: row.id, ...patch }]);
        let moved: WorkforceChange | undefined;
        if (bounds && target !== liveWorkerCount(db, row.id)) {
          moved = setWorkerCount(db, updated, spec, target, isHolding, now);
          store.updateCluster(db, row.id, { last_scaled_at: now }, now);
          events.push(workforceEvent(row, moved, 'bounds changed'));
        }
        return { cluster: view(ctx.cluster(row.id)), ...(moved ? { change: moved } : {}) };
      });
    },

    /** Sets the worker count (within min..max) now. */
    scale(id: string, workers: number, reason = 'asked for'): { cluster: ClusterView; change: WorkforceChange } {
      return change((events) => {
        const row = ctx.cluster(id);
        assertCan(row, 'scale');
        if (workers < row.min_workers || workers > row.max_workers) {
          throw new UserError(`Cluster "${row.id}" runs ${row.min_workers}..${row.max_workers} workers; ${workers} is outside. Change the bounds with cluster {action: "update", min, max} first.`);
        }
        const now = toDbTime(ctx.now());
        const moved = setWorkerCount(db, row, ctx.spec(row), workers, isHolding, now);
        store.updateCluster(db, row.id, { target_workers: workers, last_scaled_at: now }, now);
        events.push(workforceEvent(row, moved, reason));
        return { cluster: view(ctx.cluster(row.id)), change: moved };
      });
    },

    /** Workers retired; running tasks back to the queue; messages, queued tasks and the other agents kept. */
    hibernate(id: string): { cluster: ClusterView; requeued: number } {
      const result = change((events) => {
        const row = ctx.cluster(id);
        const now = toDbTime(ctx.now());
        assertCan(row, 'hibernate');
        const requeued = requeueRunning(db, row.id);
        store.setStateWhere(db, row.id, ['worker'], ['idle', 'busy'], 'retired', now);
        store.setStateWhere(db, row.id, ['supervisor', 'lead', 'specialist'], ['busy'], 'idle', now);
        transition(row, 'hibernate', events, { backlog_high_since: null, idle_since: null }, now);
        events[events.length - 1][2].requeued = requeued;
        return { cluster: view(ctx.cluster(row.id)), requeued };
      });
      scaler.forget(result.cluster.id);
      return result;
    },

    /** Back to active with its target number of workers. */
    reactivate(id: string): { cluster: ClusterView; agents: AgentView[] } {
      return change((events) => {
        const row = ctx.cluster(id);
        const now = toDbTime(ctx.now());
        const active = transition(row, 'reactivate', events, { idle_since: now, backlog_high_since: null }, now);
        const moved = setWorkerCount(db, active, ctx.spec(row), row.target_workers, isHolding, now);
        events[events.length - 1][2].started = moved.started;
        return { cluster: view(ctx.cluster(row.id)), agents: store.clusterAgents(db, row.id).map(agentView) };
      });
    },

    /** Archived: every agent retired, everything kept and restorable for the retention period. */
    destroy(id: string): { cluster: ClusterView; restorable_until: string } {
      const result = change((events) => {
        const row = ctx.cluster(id);
        const now = toDbTime(ctx.now());
        assertCan(row, 'destroy');
        requeueRunning(db, row.id);
        store.setStateWhere(db, row.id, ['supervisor', 'lead', 'specialist', 'worker'], ['idle', 'busy'], 'retired', now);
        transition(row, 'destroy', events, { backlog_high_since: null, idle_since: null }, now);
        return { cluster: view(ctx.cluster(row.id)), restorable_until: new Date(ctx.now() + deps.retentionDays * 86_400_000).toISOString() };
      });
      scaler.forget(result.cluster.id);
      return result;
    },

    /** A destroyed cluster comes back hibernated (its non-worker agents idle); reactivate starts workers. */
    restore(id: string): { cluster: ClusterView } {
      return change((events) => {
        const row = ctx.cluster(id);
        const now = toDbTime(ctx.now());
        transition(row, 'restore', events, {}, now);
        store.setStateWhere(db, row.id, ['supervisor', 'lead', 'specialist'], ['retired'], 'idle', now);
        return { cluster: view(ctx.cluster(row.id)) };
      });
    },

    /** Destroyed clusters past the retention period go for good (with their agents, messages, tasks, metrics). */
    purgeDestroyed(): number {
      return store.purgeDestroyedClusters(db, toDbTime(ctx.now() - deps.retentionDays * 86_400_000));
    },

    /** cluster_metrics rows older than the retention period. */
    purgeMetrics(): number {
      return scaler.purgeMetrics(toDbTime(ctx.now() - deps.retentionDays * 86_400_000));
    },

    /** Measures a cluster now and keeps the measurement (a cluster_metrics row, its health score). */
    snapshot(id: string): ClusterSnapshot {
      return scaler.snapshot(id);
    },

    autoscale,

    /** One auto-scaling pass over every active cluster (the scheduler's); gauges of the others go. */
    autoscaleActive(): { clusters: number; up: number; down: number; failed: string[] } {
      const ids = store.activeClusterIds(db);
      const out = { clusters: ids.length, up: 0, down: 0, failed: [] as string[] };
      for (const id of ids) {
        try {
          // Leases of workers that vanished (a killed process) run out with nobody left to claim:
          // the pass returns them to the queue, so the backlog it measures is the real one.
          board.reclaimExpired(id);
          const { decision } = autoscale(id, true);
          if (decision.direction !== 'none') out[decision.direction]++;
        } catch (err) {
          // Hibernated or destroyed by another process since the list was read: nothing to do.
          if (err instanceof UserError) continue;
          deps.logger.error('auto-scaling failed', { cluster: id, error: (err as Error).stack ?? String(err) });
          out.failed.push(id);
        }
      }
      scaler.prune(store.activeClusterIds(db));
      return out;
    },

    agents(id: string): AgentView[] {
      return store.clusterAgents(db, ctx.cluster(id).id).map(agentView);
    },

    /** An agent with its manifest. */
    agent(id: string): AgentView & { manifest: string; cluster: string } {
      const agent = ctx.findAgent(id);
      return { ...agentView(agent), manifest: agent.manifest, cluster: agent.cluster_id };
    },

    statusOf(id: string): ClusterStatus {
      return ctx.cluster(id).status;
    },
  };
}
