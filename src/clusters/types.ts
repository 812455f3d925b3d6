// Row shapes of the cluster tables and the views the tools return. Times in rows are database
// time text (see core/db.ts); views carry ISO 8601.
import type { BlueprintSpec, Role } from './blueprint.js';

export const CLUSTER_STATUSES = ['planning', 'spawning', 'active', 'hibernated', 'destroyed'] as const;
export type ClusterStatus = (typeof CLUSTER_STATUSES)[number];
export type AgentState = 'idle' | 'busy' | 'retired';

export interface BlueprintRow {
  id: string;
  revision: number;
  name: string;
  version: string;
  description: string;
  cluster_type: string;
  yaml: string;
  spec: string;
  spec_hash: string;
  created_at: string;
}

export interface ClusterRow {
  id: string;
  name: string;
  description: string;
  type: string;
  blueprint_id: string;
  blueprint_revision: number;
  spec: string;
  project: string;
  status: ClusterStatus;
  min_workers: number;
  max_workers: number;
  target_workers: number;
  health_score: number;
  backlog_high_since: string | null;
  idle_since: string | null;
  last_scaled_at: string | null;
  created_at: string;
  updated_at: string;
  activated_at: string | null;
  hibernated_at: string | null;
  destroyed_at: string | null;
}

export interface AgentRow {
  id: string;
  cluster_id: string;
  agent: string;
  template: string;
  role: Role;
  parent: string | null;
  replica: number | null;
  name: string;
  state: AgentState;
  draining: number;
  manifest: string;
  created_at: string;
  last_seen_at: string | null;
  retired_at: string | null;
}

/** A cluster as the tools show it. */
export interface ClusterView {
  id: string;
  name: string;
  description: string;
  type: string;
  blueprint: string;
  blueprint_revision: number;
  project: string;
  status: ClusterStatus;
  workers: { min: number; max: number; target: number; live: number };
  agents: { idle: number; busy: number; retired: number };
  health_score: number;
  created_at: string;
  updated_at: string;
}

export interface AgentView {
  id: string;
  role: Role;
  template: string;
  name: string;
  parent: string | null;
  state: AgentState;
  draining?: boolean;
  last_seen_at: string | null;
}

/** One node of the hierarchy tree: an agent and the agents that report to it. */
export interface TreeNode extends AgentView {
  reports: TreeNode[];
}

export interface Cluster extends ClusterRow {
  specParsed: BlueprintSpec;
}
