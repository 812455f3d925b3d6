// Metrics and auto-scaling. A snapshot measures a cluster (agents, queue, messages, recent
// outcomes, health score); the blueprint's scaling policy turns a measurement into a decision with
// reasons a person can read; apply re-measures and scales inside the caller's IMMEDIATE
// transaction, so two processes running the scheduler on one file never both act on one reading.
//
// The policy: scale up by `step` (never above max) when the queued tasks per worker have stayed
// above `backlog_per_worker` for `sustain_seconds` at the current worker count; scale down by
// `step` (never below min) when nothing has been queued for workers while some worker was free for
// `idle_seconds`, and `cooldown_seconds` have passed since the last scaling. Idle workers retire;
// a worker holding a task is drained (workforce.ts), never retired while it holds it.
import { fromDbTime, toDbTime } from '../core/db.js';
import type { BlueprintSpec, ScalingPolicy } from './blueprint.js';
import type { ClusterContext } from './context.js';
import { assertCan } from './lifecycle.js';
import * as sql from './scaling-store.js';
import * as store from './store.js';
import type { ClusterRow } from './types.js';
import { setWorkerCount, type WorkforceChange } from './workforce.js';

export type Direction = 'up' | 'down' | 'none';

export interface ScalingDecision {
  direction: Direction;
  /** Workers (live, not draining) now, and after the decision. */
  from: number;
  to: number;
  reasons: string[];
}

/** A cluster measured at one moment: what cluster_metrics keeps and the gauges show. */
export interface ClusterSnapshot {
  cluster: string;
  at: string;
  workers: number;
  max_workers: number;
  agents: { idle: number; busy: number; retired: number };
  tasks: { queued: number; running: number; dead: number };
  /** Queued tasks a worker may claim. */
  backlog: number;
  backlog_per_worker: number;
  messages_pending: number;
  /** Tasks succeeded / dead-lettered per minute over the last `rate_window_minutes`. */
  completed_per_min: number;
  failed_per_min: number;
  rate_window_minutes: number;
  health_score: number;
}

export interface AutoscaleResult {
  decision: ScalingDecision;
  snapshot: ClusterSnapshot;
  applied: boolean;
  change?: WorkforceChange;
}

const WEIGHT = { stuck: 0.4, backlog: 0.3, dead: 0.3 };
const round = (x: number, places: number) => Math.round(x * 10 ** places) / 10 ** places;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function workerTemplates(spec: BlueprintSpec): string[] {
  return spec.agents.filter((a) => a.role === 'worker').map((a) => a.id);
}

/** Queued tasks per worker; with no workers, the whole backlog (one worker's worth). */
function perWorker(m: sql.ClusterMeasure): number {
  return m.workers ? m.backlog / m.workers : m.backlog;
}

/**
 * 1 minus penalties: the share of live agents that hold a task with an expired lease or were not
 * seen for 10 minutes (0.4); the backlog per worker above the policy, growing from nothing at the
 * threshold to the whole weight at twice it, or any backlog with no worker (0.3); the share of the
 * last hour's finished tasks that went to the dead letter (0.3).
 */
export function healthScore(m: sql.ClusterMeasure, policy: ScalingPolicy): number {
  const stuck = m.live ? m.stuck / m.live : 0;
  const threshold = policy.backlog_per_worker;
  let over = 0;
  if (m.backlog > 0) over = m.workers === 0 || threshold === 0 ? 1 : Math.min(1, Math.max(0, (perWorker(m) - threshold) / threshold));
  const dead = m.finishedHour ? m.deadHour / m.finishedHour : 0;
  return round(Math.min(1, Math.max(0, 1 - WEIGHT.stuck * stuck - WEIGHT.backlog * over - WEIGHT.dead * dead)), 3);
}

export function snapshotOf(row: Pick<ClusterRow, 'id' | 'max_workers'>, policy: ScalingPolicy, m: sql.ClusterMeasure, nowMs: number): ClusterSnapshot {
  const minutes = sql.RATE_WINDOW_MS / 60_000;
  return {
    cluster: row.id,
    at: new Date(nowMs).toISOString(),
    workers: m.workers,
    max_workers: row.max_workers,
    agents: m.agents,
    tasks: m.tasks,
    backlog: m.backlog,
    backlog_per_worker: round(perWorker(m), 3),
    messages_pending: m.messagesPending,
    completed_per_min: round(m.succeededRecent / minutes, 3),
    failed_per_min: round(m.deadRecent / minutes, 3),
    rate_window_minutes: minutes,
    health_score: healthScore(m, policy),
  };
}

function metricsRow(s: ClusterSnapshot, nowMs: number): sql.MetricsRow {
  return {
    cluster_id: s.cluster,
    at: toDbTime(nowMs),
    workers: s.workers,
    agents_idle: s.agents.idle,
    agents_busy: s.agents.busy,
    agents_retired: s.agents.retired,
    tasks_queued: s.tasks.queued,
    tasks_running: s.tasks.running,
    backlog_per_worker: s.backlog_per_worker,
    messages_pending: s.messages_pending,
    completed_per_min: s.completed_per_min,
    failed_per_min: s.failed_per_min,
    health_score: s.health_score,
  };
}

/**
 * The decision for a measurement, and the scaling memory to keep (since when the backlog has been
 * high, since when the cluster has been idle). Pure: the same row, measurement and time give the
 * same answer in every process.
 */
export function evaluate(
  row: Pick<ClusterRow, 'min_workers' | 'max_workers' | 'backlog_high_since' | 'idle_since' | 'last_scaled_at'>,
  policy: ScalingPolicy,
  m: sql.ClusterMeasure,
  nowMs: number,
): { decision: ScalingDecision; memory: Pick<sql.ScalingMemory, 'backlog_high_since' | 'idle_since'> } {
  const now = toDbTime(nowMs);
  const secondsSince = (t: string) => Math.max(0, Math.floor((nowMs - fromDbTime(t)) / 1000));
  const { min_workers: min, max_workers: max } = row;
  const from = m.workers;
  const high = m.backlog > 0 && (m.workers === 0 || perWorker(m) > policy.backlog_per_worker);
  const quiet = m.backlog === 0 && m.free > 0;
  const memory = { backlog_high_since: high ? (row.backlog_high_since ?? now) : null, idle_since: quiet ? (row.idle_since ?? now) : null };
  const reasons: string[] = [];
  const decided = (direction: Direction, to: number) => ({ decision: { direction, from, to, reasons }, memory });
  const backlog = `backlog ${plural(m.backlog, 'task')} for ${plural(m.workers, 'worker')} (${perWorker(m).toFixed(1)} per worker)`;

  if (high) {
    // The backlog must have lasted at this worker count: new workers get a full sustain period to
    // make a difference before the next step, whoever scaled last.
    const scaledSince = row.last_scaled_at !== null && row.last_scaled_at > memory.backlog_high_since! ? row.last_scaled_at : null;
    const held = secondsSince(scaledSince ?? memory.backlog_high_since!);
    const what = m.workers ? `${backlog} above ${policy.backlog_per_worker}` : `backlog ${plural(m.backlog, 'task')} and no workers to take it,`;
    reasons.push(`${what} for ${held} s${scaledSince ? ' since the last scaling' : ''}`);
    if (from >= max) {
      reasons.push(`the cluster already runs its maximum of ${plural(max, 'worker')}`);
      return decided('none', from);
    }
    if (held < policy.sustain_seconds) {
      reasons.push(`it scales up once that has lasted ${policy.sustain_seconds} s`);
      return decided('none', from);
    }
    const to = Math.min(max, from + policy.step);
    reasons.push(`adding ${plural(to - from, 'worker')}: ${from} -> ${to} (max ${max})`);
    return decided('up', to);
  }

  if (quiet) {
    const held = secondsSince(memory.idle_since!);
    reasons.push(`nothing queued for workers and ${m.free} of ${plural(m.workers, 'worker')} free for ${held} s`);
    if (from <= min) {
      reasons.push(`the cluster already runs its minimum of ${plural(min, 'worker')}`);
      return decided('none', from);
    }
    if (held < policy.idle_seconds) {
      reasons.push(`it scales down once that has lasted ${policy.idle_seconds} s`);
      return decided('none', from);
    }
    const sinceScaled = row.last_scaled_at === null ? Infinity : secondsSince(row.last_scaled_at);
    if (sinceScaled < policy.cooldown_seconds) {
      reasons.push(`it last scaled ${sinceScaled} s ago and the cool-down is ${policy.cooldown_seconds} s`);
      return decided('none', from);
    }
    const to = Math.max(min, from - policy.step);
    reasons.push(`removing ${plural(from - to, 'worker')}: ${from} -> ${to} (min ${min})`);
    return decided('down', to);
  }

  if (m.backlog > 0) reasons.push(`${backlog} is within ${policy.backlog_per_worker} per worker`);
  else if (m.workers === 0) reasons.push('nothing queued for workers and no workers');
  else reasons.push(`nothing queued for workers and all ${plural(m.workers, 'worker')} hold a task`);
  return decided('none', from);
}

/** Slack on the blueprint's metrics interval, so a 60 s interval seen by 30 s passes writes every 60 s, not 90. */
const METRICS_SLACK_MS = 1_000;

/**
 * The area's scaler. Gauges are this process's view: set by each measurement of an active
 * cluster, and removed (`forget`, `prune`) as soon as the cluster is no longer active here.
 */
export function createScaler(ctx: ClusterContext, isHolding: (agentId: string) => boolean) {
  const { db, metrics } = ctx;
  const published = new Set<string>();

  function measureRow(row: ClusterRow, nowMs: number): { m: sql.ClusterMeasure; snapshot: ClusterSnapshot; spec: BlueprintSpec } {
    const spec = ctx.spec(row);
    const m = sql.measure(db, row.id, workerTemplates(spec), nowMs);
    return { m, spec, snapshot: snapshotOf(row, spec.scaling, m, nowMs) };
  }

  function publish(s: ClusterSnapshot): void {
    const cluster = s.cluster;
    for (const [state, value] of Object.entries(s.agents)) metrics.clusterAgents.set({ cluster, state }, value);
    for (const [status, value] of Object.entries(s.tasks)) metrics.clusterTasks.set({ cluster, status }, value);
    metrics.clusterWorkers.set({ cluster }, s.workers);
    metrics.clusterMaxWorkers.set({ cluster }, s.max_workers);
    metrics.clusterBacklogPerWorker.set({ cluster }, s.backlog_per_worker);
    metrics.clusterMessagesPending.set({ cluster }, s.messages_pending);
    metrics.clusterHealthScore.set({ cluster }, s.health_score);
    published.add(cluster);
  }

  function forget(cluster: string): void {
    if (!published.delete(cluster)) return;
    for (const state of ['idle', 'busy', 'retired']) metrics.clusterAgents.remove({ cluster, state });
    for (const status of ['queued', 'running', 'dead']) metrics.clusterTasks.remove({ cluster, status });
    for (const gauge of [metrics.clusterWorkers, metrics.clusterMaxWorkers, metrics.clusterBacklogPerWorker, metrics.clusterMessagesPending, metrics.clusterHealthScore]) gauge.remove({ cluster });
  }

  return {
    /** Measures a cluster and keeps it: a cluster_metrics row and its health score. */
    snapshot(id: string): ClusterSnapshot {
      const nowMs = ctx.now();
      const { snapshot, status } = db
        .transaction(() => {
          const row = ctx.cluster(id);
          const { snapshot } = measureRow(row, nowMs);
          sql.insertMetrics(db, metricsRow(snapshot, nowMs));
          sql.saveScalingMemory(db, row.id, { health_score: snapshot.health_score, backlog_high_since: row.backlog_high_since, idle_since: row.idle_since });
          return { snapshot, status: row.status };
        })
        .immediate();
      if (status === 'active') publish(snapshot);
      else forget(snapshot.cluster);
      return snapshot;
    },

    /** What the policy would do now, changing nothing (the gauges get the fresh numbers). */
    decide(id: string): AutoscaleResult {
      const nowMs = ctx.now();
      // One read transaction: every count comes from the same moment of the file.
      const result = db.transaction(() => {
        const row = ctx.cluster(id);
        assertCan(row, 'autoscale');
        const { m, snapshot, spec } = measureRow(row, nowMs);
        return { decision: evaluate(row, spec.scaling, m, nowMs).decision, snapshot, applied: false };
      })();
      publish(result.snapshot);
      return result;
    },

    /**
     * Re-reads the cluster, measures, keeps a metrics row when the blueprint's interval has passed,
     * saves the health score and scaling memory, and scales. Runs inside the caller's IMMEDIATE
     * transaction; an applied scaling is pushed onto `events` for the caller to record after commit.
     */
    apply(id: string, events: [string, string, Record<string, unknown>][]): AutoscaleResult {
      const nowMs = ctx.now();
      const now = toDbTime(nowMs);
      const row = ctx.cluster(id);
      assertCan(row, 'autoscale');
      const { m, snapshot, spec } = measureRow(row, nowMs);
      const last = sql.lastMetricsAt(db, row.id);
      if (last === undefined || nowMs - fromDbTime(last) >= spec.monitoring.metrics_interval_seconds * 1000 - METRICS_SLACK_MS) sql.insertMetrics(db, metricsRow(snapshot, nowMs));
      const { decision, memory } = evaluate(row, spec.scaling, m, nowMs);
      sql.saveScalingMemory(db, row.id, { health_score: snapshot.health_score, ...memory });
      if (decision.direction === 'none') return { decision, snapshot, applied: true };
      const change = setWorkerCount(db, row, spec, decision.to, isHolding, now);
      store.updateCluster(db, row.id, { target_workers: decision.to, last_scaled_at: now }, now);
      events.push([
        'cluster.autoscaled',
        `cluster ${row.id}: workers ${decision.from} -> ${decision.to}: ${decision.reasons.join('; ')}`,
        { cluster: row.id, direction: decision.direction, from: decision.from, to: decision.to, reasons: decision.reasons, started: change.started, retired: change.retired, draining: change.draining },
      ]);
      return { decision, snapshot, applied: true, change };
    },

    /** After an applied decision committed: counted, and the gauges show the cluster as it is now. */
    applied(result: AutoscaleResult): void {
      metrics.clusterScalingDecisions.inc({ direction: result.decision.direction });
      if (!result.change) return publish(result.snapshot);
      const row = store.getCluster(db, result.snapshot.cluster);
      if (row?.status === 'active') publish(measureRow(row, ctx.now()).snapshot);
    },

    forget,

    /** Drops the gauges of every cluster not in `active` (hibernated, destroyed or purged elsewhere). */
    prune(active: readonly string[]): void {
      const keep = new Set(active);
      for (const cluster of [...published]) if (!keep.has(cluster)) forget(cluster);
    },

    /** cluster_metrics rows older than `before` (database time). */
    purgeMetrics(before: string): number {
      return sql.purgeMetrics(db, before);
    },
  };
}
