// The cluster state machine: which action may run in which state. One table, read both to check a
// request and to tell the person what they can do instead.
import { UserError } from '../core/errors.js';
import type { ClusterRow, ClusterStatus } from './types.js';

export type ClusterAction =
  | 'spawn'
  | 'activate'
  | 'scale'
  | 'autoscale'
  | 'update'
  | 'hibernate'
  | 'reactivate'
  | 'destroy'
  | 'restore'
  | 'export'
  | 'work';

/** Actions allowed in each state. 'work' = claiming tasks; spawn/activate only happen inside create. */
const ALLOWED: Record<ClusterStatus, readonly ClusterAction[]> = {
  planning: ['spawn'],
  spawning: ['activate'],
  active: ['scale', 'autoscale', 'update', 'hibernate', 'destroy', 'export', 'work'],
  hibernated: ['update', 'reactivate', 'destroy', 'export'],
  destroyed: ['restore'],
};

/** The state an action leads to, for the actions that change it. */
export const NEXT_STATUS: Partial<Record<ClusterAction, ClusterStatus>> = {
  spawn: 'spawning',
  activate: 'active',
  hibernate: 'hibernated',
  reactivate: 'active',
  destroy: 'destroyed',
  restore: 'hibernated',
};

/** What a person can ask for in a state (the internal create steps are not listed). */
export function allowedActions(status: ClusterStatus): ClusterAction[] {
  return ALLOWED[status].filter((a) => a !== 'spawn' && a !== 'activate' && a !== 'work');
}

export function canDo(status: ClusterStatus, action: ClusterAction): boolean {
  return ALLOWED[status].includes(action);
}

const VERB: Record<ClusterAction, string> = {
  spawn: 'spawn agents for',
  activate: 'activate',
  scale: 'scale',
  autoscale: 'auto-scale',
  update: 'change',
  hibernate: 'hibernate',
  reactivate: 'reactivate',
  destroy: 'destroy',
  restore: 'restore',
  export: 'export',
  work: 'take work from',
};

/** Throws a UserError naming the state and what is allowed from it, unless the action may run. */
export function assertCan(cluster: Pick<ClusterRow, 'id' | 'status'>, action: ClusterAction): void {
  if (canDo(cluster.status, action)) return;
  const allowed = allowedActions(cluster.status);
  throw new UserError(
    `Cannot ${VERB[action]} cluster "${cluster.id}": it is ${cluster.status}; from ${cluster.status} you can: ${allowed.length ? allowed.join(', ') : 'nothing (wait for it to finish)'}.`,
  );
}
