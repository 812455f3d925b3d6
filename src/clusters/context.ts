// What every part of the cluster area shares: its dependencies, and the lookups each tool call
// starts with (the cluster, the acting agent) with the errors a person can act on.
import { fromDbTime, toDbTime, type Db } from '../core/db.js';
import { NotFoundError, UserError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import { SLUG, type BlueprintSpec } from './blueprint.js';
import * as store from './store.js';
import type { AgentRow, ClusterRow } from './types.js';

/** How a cluster event is recorded (the events area's `record`, passed in by app.ts). */
export type RecordEvent = (type: string, severity: 'info' | 'warning' | 'error', message: string, details?: Record<string, unknown>) => void;

export interface ClusterDeps {
  db: Db;
  logger: Logger;
  metrics: Metrics;
  recordEvent: RecordEvent;
  /** Makes sure the cluster's project exists (the projects area), inside the create transaction. */
  ensureProject(name: string): void;
  /** How long destroyed clusters stay restorable. */
  retentionDays: number;
  /** How long acknowledged messages are kept. */
  messageRetentionHours: number;
  /** Names of every tool the server lists (the export names only tools that exist). */
  toolNames(): string[];
  /** Test hook: the current time in ms. */
  now?: () => number;
}

export interface ClusterContext extends ClusterDeps {
  now(): number;
  /** The cluster, or a NotFoundError that lists the known ones. */
  cluster(id: string): ClusterRow;
  spec(cluster: ClusterRow): BlueprintSpec;
  /** An agent, or a NotFoundError listing the cluster's live agents. Reading it marks nothing. */
  findAgent(id: string): AgentRow;
  /**
   * The agent acting in a call, checked: it exists, and unless `retiredOk`, it is not retired.
   * Marks it as seen (written at most every few seconds per agent).
   */
  actingAgent(id: string, opts?: { retiredOk?: boolean }): { agent: AgentRow; cluster: ClusterRow };
}

/** `web-team/coder-2`: a cluster id and an agent id, both slugs. */
export const AGENT_ID = /^([a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?)\/([a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?)$/;

export function splitAgentId(id: string): { cluster: string; agent: string } {
  const m = AGENT_ID.exec(id);
  if (!m) throw new UserError(`"${id}" is not an agent id; agent ids look like "<cluster>/<agent>", e.g. "web-team/coder-1" (cluster get lists them).`);
  return { cluster: m[1], agent: m[2] };
}

/** Last-seen times are hints: written at most this often per agent, so reads stay free of writes. */
const SEEN_WRITE_MS = 5_000;

export function createContext(deps: ClusterDeps): ClusterContext {
  const { db } = deps;
  const now = deps.now ?? Date.now;
  const specs = new Map<string, { text: string; spec: BlueprintSpec }>();
  const seenWritten = new Map<string, number>();

  function cluster(id: string): ClusterRow {
    const row = SLUG.test(id) ? store.getCluster(db, id) : undefined;
    if (!row) {
      const known = store.listClusters(db, {}, 20).map((c) => c.id);
      throw new NotFoundError(`No cluster "${id}".${known.length ? ` Clusters: ${known.join(', ')}.` : ' Create one with cluster {action: "create", blueprint}.'}`);
    }
    return row;
  }

  function spec(row: ClusterRow): BlueprintSpec {
    const cached = specs.get(row.id);
    if (cached && cached.text === row.spec) return cached.spec;
    const parsed = JSON.parse(row.spec) as BlueprintSpec;
    specs.set(row.id, { text: row.spec, spec: parsed });
    return parsed;
  }

  function findAgent(id: string): AgentRow {
    const { cluster: clusterId } = splitAgentId(id);
    const agent = store.getAgent(db, id);
    if (agent) return agent;
    const row = cluster(clusterId);
    const live = store.clusterAgents(db, row.id).filter((a) => a.state !== 'retired').map((a) => a.id);
    throw new NotFoundError(`Cluster "${row.id}" has no agent "${id}". Its agents: ${live.join(', ') || 'none (it is not active)'}.`);
  }

  function actingAgent(id: string, opts: { retiredOk?: boolean } = {}) {
    const agent = findAgent(id);
    if (agent.state === 'retired' && !opts.retiredOk) {
      throw new UserError(`Agent "${id}" is retired (the cluster scaled down, hibernated or was destroyed); act as a live agent of the cluster (cluster get lists them).`);
    }
    const t = now();
    if (t - (seenWritten.get(id) ?? 0) >= SEEN_WRITE_MS) {
      seenWritten.set(id, t);
      store.touchAgent(db, id, toDbTime(t));
    }
    return { agent, cluster: cluster(agent.cluster_id) };
  }

  return { ...deps, now, cluster, spec, findAgent, actingAgent };
}

/** ISO 8601 from database time. */
export function iso(text: string): string;
export function iso(text: string | null): string | null;
export function iso(text: string | null): string | null {
  return text === null ? null : new Date(fromDbTime(text)).toISOString();
}
