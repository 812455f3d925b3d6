// The task board: work posted to a cluster, claimed by one agent at a time under a lease, finished
// by its holder. Two workers never hold one task, across any number of processes: a claim is one
// IMMEDIATE transaction (SQLite's write lock is taken before the queue is read), and heartbeat,
// complete and fail change a task only while it is running and held by the caller.
// Agents follow their tasks: busy while holding one, idle otherwise; a draining worker retires
// when its last task ends.
import { toDbTime } from '../core/db.js';
import { NotFoundError, UserError } from '../core/errors.js';
import { ROLES } from './blueprint.js';
import { iso, type ClusterContext } from './context.js';
import { assertCan } from './lifecycle.js';
import { PRIORITIES, priorityOf, type Priority } from './mailbox.js';
import * as store from './store.js';
import * as sql from './board-store.js';
import type { AgentRow, ClusterRow } from './types.js';

export const MAX_PAYLOAD_BYTES = 64 * 1024;
export const MAX_RESULT_BYTES = 64 * 1024;
export const MAX_REASON_CHARS = 2_000;
export const MAX_KIND_CHARS = 64;
export const LEASE_SECONDS = { min: 5, max: 3_600, default: 60 };
export const MAX_ATTEMPTS = { min: 1, max: 10, default: 3 };
export const MAX_WAIT_SECONDS = 30;
export const MAX_LIST = 100;
export const DEFAULT_LIST = 20;
/** How often a waiting claim looks at the queue again (a read; the write lock only when there is work). */
const POLL_MS = 100;

/** Who posted a task when no agent did. */
export const ASSISTANT = 'assistant';

export type TaskOutcome = 'succeeded' | 'failed' | 'expired' | 'dead';

export type TaskView = {
  id: number;
  cluster: string;
  kind: string;
  status: sql.TaskStatus;
  priority: Priority;
  role?: string;
  posted_by: string;
  claimed_by?: string;
  attempts: number;
  max_attempts: number;
  lease_expires_at?: string;
  error?: string;
  payload?: unknown;
  result?: unknown;
  created_at: string;
  finished_at?: string;
};

export interface PostInput {
  cluster?: string;
  /** The posting agent; the assistant when left out. */
  agent?: string;
  kind: string;
  payload?: unknown;
  priority?: Priority;
  role?: string;
  maxAttempts?: number;
}

function view(t: sql.TaskRow, full: boolean): TaskView {
  return {
    id: t.id,
    cluster: t.cluster_id,
    kind: t.kind,
    status: t.status,
    priority: PRIORITIES[t.priority],
    ...(t.role !== null ? { role: t.role } : {}),
    posted_by: t.posted_by,
    ...(t.claimed_by !== null ? { claimed_by: t.claimed_by } : {}),
    attempts: t.attempts,
    max_attempts: t.max_attempts,
    ...(t.status === 'running' && t.lease_expires_at ? { lease_expires_at: iso(t.lease_expires_at) } : {}),
    ...(t.error !== null ? { error: t.error } : {}),
    ...(full ? { payload: JSON.parse(t.payload) as unknown } : {}),
    ...(full && t.result !== null ? { result: JSON.parse(t.result) as unknown } : {}),
    created_at: iso(t.created_at),
    ...(t.finished_at !== null ? { finished_at: iso(t.finished_at) } : {}),
  };
}

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

function json(value: unknown, field: string, max: number): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw new UserError(`"${field}" is not JSON; pass an object, array, string, number or boolean.`);
  if (bytes(text) > max) throw new UserError(`"${field}" is ${bytes(text)} bytes of JSON; the limit is ${max}. Keep large data in a note or memory and pass its key.`);
  return text;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** What a change did besides its own row, reported once it has committed. */
interface Aftermath {
  outcomes: TaskOutcome[];
  /** Draining workers that retired because their last task ended. */
  retired: string[];
}

export function createBoard(ctx: ClusterContext) {
  const { db } = ctx;

  function report(after: Aftermath) {
    for (const outcome of after.outcomes) ctx.metrics.clusterTasksFinished.inc({ outcome });
    for (const id of after.retired) {
      const cluster = id.slice(0, id.indexOf('/'));
      ctx.recordEvent('cluster.drained', 'info', `cluster ${cluster}: draining worker ${id} retired after its last task`, { cluster, agent: id });
    }
  }

  /** Runs a board change in one IMMEDIATE transaction and reports what it did after the commit. */
  function change<T>(work: (after: Aftermath) => T): T {
    const after: Aftermath = { outcomes: [], retired: [] };
    const result = db.transaction(() => work(after)).immediate();
    report(after);
    return result;
  }

  /** After a task of `agentId` ended: idle when it holds nothing more, retired if it was draining. */
  function settle(agentId: string, now: string, after: Aftermath) {
    if (sql.holdsTask(db, agentId)) return;
    const agent = store.getAgent(db, agentId);
    if (!agent || agent.state === 'retired') return;
    if (agent.draining) {
      store.setAgentState(db, agent.id, 'retired', now);
      after.retired.push(agent.id);
    } else if (agent.state === 'busy') store.setAgentState(db, agent.id, 'idle', now);
  }

  /** Expired leases of a cluster: back to the queue, or dead when their attempts are used up. */
  function reclaim(clusterId: string, now: string, after: Aftermath): number {
    const expired = sql.expiredLeases(db, clusterId, now);
    for (const t of expired) {
      const status = sql.endAttempt(db, t, `lease expired while ${t.claimed_by} held it (attempt ${t.attempts} of ${t.max_attempts})`, now);
      after.outcomes.push(status === 'dead' ? 'dead' : 'expired');
      settle(t.claimed_by!, now, after);
    }
    return expired.length;
  }

  /** The agent acting on a task, checked to hold it (running and claimed by it, lease run out or not). */
  function held(agentId: string, id: number, verb: string): { agent: AgentRow; task: sql.TaskRow } {
    const { agent } = ctx.actingAgent(agentId, { retiredOk: true });
    const task = sql.getTask(db, id);
    if (!task) throw new NotFoundError(`No task ${id}; task {action: "list", cluster} shows the cluster's tasks.`);
    if (task.status !== 'running' || task.claimed_by !== agent.id) {
      const now = task.status === 'running' ? `running for ${task.claimed_by}` : task.status;
      const hint = task.status === 'queued' && task.error?.startsWith('lease expired') ? ' Your lease ran out and the task went back to the queue: claim work again.' : '';
      throw new UserError(`${agent.id} does not hold task ${id} (it is ${now}); only the agent that claimed a task can ${verb} it.${hint}`);
    }
    return { agent, task };
  }

  function leaseOf(seconds: number | undefined): number {
    const s = seconds ?? LEASE_SECONDS.default;
    if (!Number.isInteger(s) || s < LEASE_SECONDS.min || s > LEASE_SECONDS.max) {
      throw new UserError(`"lease_seconds" must be a whole number from ${LEASE_SECONDS.min} to ${LEASE_SECONDS.max}; heartbeat before it runs out for longer work.`);
    }
    return s;
  }

  /** Role targets a cluster knows: the four roles and its blueprint agent ids. */
  function checkRole(cluster: ClusterRow, role: string | undefined) {
    const spec = ctx.spec(cluster);
    if (role === undefined) {
      if (!spec.agents.some((a) => a.role === 'worker')) throw new UserError(`Cluster "${cluster.id}" has no workers; give "role" (a role or blueprint agent that takes the task).`);
      return;
    }
    const templates = spec.agents.map((a) => a.id);
    if (!(ROLES as readonly string[]).includes(role) && !templates.includes(role)) {
      throw new UserError(`"role" "${role}" is neither a role (${ROLES.join(', ')}) nor a blueprint agent of cluster "${cluster.id}" (${templates.join(', ')}).`);
    }
  }

  /** One claim attempt: a task, or null when none is there for this agent. */
  function claimOnce(agentId: string, leaseSeconds: number): TaskView | null {
    return change((after) => {
      const found = ctx.findAgent(agentId);
      const cluster = ctx.cluster(found.cluster_id);
      const { agent } = ctx.actingAgent(agentId);
      if (agent.draining) throw new UserError(`Agent ${agent.id} is being retired (its cluster scaled down) and takes no new work; complete or fail the tasks it holds.`);
      assertCan(cluster, 'work');
      const now = ctx.now();
      const nowText = toDbTime(now);
      reclaim(cluster.id, nowText, after);
      const next = sql.nextQueued(db, cluster.id, { role: agent.role, template: agent.template, worker: agent.role === 'worker' });
      if (!next) return null;
      sql.markClaimed(db, next.id, agent.id, toDbTime(now + leaseSeconds * 1000), nowText);
      if (agent.state !== 'busy') store.setAgentState(db, agent.id, 'busy', nowText);
      return view(sql.getTask(db, next.id)!, true);
    });
  }

  /** Whether a claim could find something now: a task for this agent, or a lease to reclaim. */
  function worthClaiming(agentId: string): boolean {
    const agent = store.getAgent(db, agentId);
    if (!agent || agent.state === 'retired' || agent.draining) return true; // let the claim say why not
    if (sql.expiredLeases(db, agent.cluster_id, toDbTime(ctx.now())).length) return true;
    return sql.nextQueued(db, agent.cluster_id, { role: agent.role, template: agent.template, worker: agent.role === 'worker' }) !== undefined;
  }

  return {
    post(input: PostInput): TaskView {
      const kind = input.kind.trim();
      if (!kind || kind.length > MAX_KIND_CHARS) throw new UserError(`"kind" is a short label of 1-${MAX_KIND_CHARS} characters, e.g. "review" or "implement".`);
      const payload = json(input.payload ?? null, 'payload', MAX_PAYLOAD_BYTES);
      const maxAttempts = input.maxAttempts ?? MAX_ATTEMPTS.default;
      if (!Number.isInteger(maxAttempts) || maxAttempts < MAX_ATTEMPTS.min || maxAttempts > MAX_ATTEMPTS.max) {
        throw new UserError(`"max_attempts" must be a whole number from ${MAX_ATTEMPTS.min} to ${MAX_ATTEMPTS.max}.`);
      }
      return change(() => {
        let cluster: ClusterRow;
        let postedBy = ASSISTANT;
        if (input.agent !== undefined) {
          const poster = ctx.findAgent(input.agent);
          cluster = ctx.cluster(poster.cluster_id);
          if (input.cluster !== undefined && input.cluster !== cluster.id) {
            throw new UserError(`Agent ${poster.id} belongs to cluster "${cluster.id}", not "${input.cluster}"; agents post to their own cluster (leave "cluster" out).`);
          }
          if (cluster.status !== 'destroyed') postedBy = ctx.actingAgent(poster.id).agent.id;
        } else if (input.cluster === undefined) {
          throw new UserError('post needs "cluster" (or "agent", to post as that agent of its cluster).');
        } else cluster = ctx.cluster(input.cluster);
        if (cluster.status === 'destroyed') throw new UserError(`Cluster "${cluster.id}" is destroyed; restore it (cluster {action: "restore"}) before posting work to it.`);
        checkRole(cluster, input.role);
        const id = sql.insertTask(db, {
          cluster_id: cluster.id,
          kind,
          payload,
          priority: priorityOf(input.priority),
          role: input.role ?? null,
          posted_by: postedBy,
          max_attempts: maxAttempts,
          created_at: toDbTime(ctx.now()),
        });
        return view(sql.getTask(db, id)!, false);
      });
    },

    /** One attempt, now: the best task this agent may take, or null. */
    claim(agentId: string, opts: { leaseSeconds?: number } = {}): TaskView | null {
      return claimOnce(agentId, leaseOf(opts.leaseSeconds));
    },

    /**
     * Claims, waiting up to `waitSeconds` for work (looking every POLL_MS with a read, taking the
     * write lock only when there is something to take). Stops early when `signal` aborts.
     */
    async claimWait(agentId: string, opts: { leaseSeconds?: number; waitSeconds?: number; signal?: AbortSignal } = {}): Promise<TaskView | null> {
      const lease = leaseOf(opts.leaseSeconds);
      const wait = opts.waitSeconds ?? 0;
      if (!(wait >= 0 && wait <= MAX_WAIT_SECONDS)) throw new UserError(`"wait_seconds" is 0 to ${MAX_WAIT_SECONDS}; call claim again to wait longer.`);
      const deadline = ctx.now() + wait * 1000;
      let task = claimOnce(agentId, lease);
      while (!task && ctx.now() < deadline && !opts.signal?.aborted) {
        await sleep(Math.min(POLL_MS, deadline - ctx.now()), opts.signal);
        if (opts.signal?.aborted) break;
        if (worthClaiming(agentId)) task = claimOnce(agentId, lease);
      }
      return task;
    },

    /** Extends the holder's lease to now + lease_seconds. */
    heartbeat(agentId: string, id: number, leaseSeconds?: number): TaskView {
      const lease = leaseOf(leaseSeconds);
      return change(() => {
        held(agentId, id, 'heartbeat');
        sql.extendLease(db, id, toDbTime(ctx.now() + lease * 1000));
        return view(sql.getTask(db, id)!, false);
      });
    },

    complete(agentId: string, id: number, result?: unknown): TaskView {
      const text = result === undefined ? null : json(result, 'result', MAX_RESULT_BYTES);
      return change((after) => {
        const { agent } = held(agentId, id, 'complete');
        const now = toDbTime(ctx.now());
        sql.markSucceeded(db, id, text, now);
        after.outcomes.push('succeeded');
        settle(agent.id, now, after);
        return view(sql.getTask(db, id)!, false);
      });
    },

    /** Ends the holder's attempt: back to the queue while attempts remain, else the dead letter. */
    fail(agentId: string, id: number, reason: string): TaskView {
      const why = reason.trim();
      if (!why || why.length > MAX_REASON_CHARS) throw new UserError(`"reason" says why the task failed in 1-${MAX_REASON_CHARS} characters.`);
      return change((after) => {
        const { agent, task } = held(agentId, id, 'fail');
        const now = toDbTime(ctx.now());
        const status = sql.endAttempt(db, task, why, now);
        after.outcomes.push(status === 'dead' ? 'dead' : 'failed');
        settle(agent.id, now, after);
        return view(sql.getTask(db, id)!, false);
      });
    },

    /** A task with its payload and result. */
    get(id: number, agentId?: string): TaskView {
      if (agentId !== undefined) ctx.actingAgent(agentId, { retiredOk: true });
      const task = sql.getTask(db, id);
      if (!task) throw new NotFoundError(`No task ${id}; task {action: "list", cluster} shows the cluster's tasks.`);
      return view(task, true);
    },

    /** A cluster's tasks, newest first, with counts by status. */
    list(opts: { cluster?: string; agent?: string; status?: sql.TaskStatus; limit?: number }): { tasks: TaskView[]; counts: Record<sql.TaskStatus, number> } {
      let clusterId = opts.cluster;
      if (opts.agent !== undefined) {
        const { agent } = ctx.actingAgent(opts.agent, { retiredOk: true });
        if (clusterId !== undefined && clusterId !== agent.cluster_id) throw new UserError(`Agent ${agent.id} belongs to cluster "${agent.cluster_id}", not "${clusterId}"; leave "cluster" out.`);
        clusterId = agent.cluster_id;
      }
      if (clusterId === undefined) throw new UserError('list needs "cluster" (or "agent").');
      const cluster = ctx.cluster(clusterId);
      const limit = Math.min(Math.max(opts.limit ?? DEFAULT_LIST, 1), MAX_LIST);
      return db.transaction(() => ({
        tasks: sql.listTasks(db, cluster.id, opts.status, limit).map((t) => view(t, false)),
        counts: sql.countTasksByStatus(db, cluster.id),
      }))();
    },

    /** Expired leases of a cluster back to the queue now (claims do it too); for the scheduler. */
    reclaimExpired(clusterId: string): number {
      return change((after) => reclaim(ctx.cluster(clusterId).id, toDbTime(ctx.now()), after));
    },
  };
}

export type Board = ReturnType<typeof createBoard>;
