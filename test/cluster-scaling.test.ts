// Metrics and auto-scaling on a temp database with an injected clock: a backlog scales a cluster up
// step by step to max, idleness scales it down to min after the cool-down, a worker holding a task
// is drained and never retired, every applied decision is an event with its reasons, a dry run
// changes nothing, two services on one file never double-apply, snapshots and gauges carry the
// right numbers, and the scheduler does all of it by itself in embedded and daemon mode.
import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/app.js';
import { openDatabase, toDbTime, type Db } from '../src/core/db.js';
import { silentLogger } from '../src/core/logger.js';
import { createMetrics, type Metrics } from '../src/core/metrics.js';
import { MEASURE_SQL } from '../src/clusters/scaling-store.js';
import { createClusterService, type ClusterService } from '../src/clusters/service.js';
import { startDaemon, type Daemon } from '../src/daemon/serve.js';
import { call, callError, ROOT, tempDir, testConfig } from './helpers/brain.js';
import { waitFor } from './helpers/daemon.js';

const SOFTWARE_TEAM = fs.readFileSync(path.join(ROOT, 'blueprints', 'software-team.yaml'), 'utf8');
// The software team's policy: backlog_per_worker 3, sustain 120 s, idle 900 s, step 1, cool-down 300 s; workers 1..4, target 2.
const variant = (id: string, edits: Record<string, string>) =>
  Object.entries(edits).reduce((yaml, [from, to]) => yaml.replace(from, to), SOFTWARE_TEAM.replace('id: software-team', `id: ${id}`));

let file: string;
let db: Db;
let metrics: Metrics;
let svc: ClusterService;
let events: { type: string; message: string; details?: Record<string, unknown> }[];
let clock: number;

function service(onDb: Db, m = createMetrics()): ClusterService {
  return createClusterService({
    db: onDb,
    logger: silentLogger(),
    metrics: m,
    recordEvent: (type, _severity, message, details) => void events.push({ type, message, details }),
    ensureProject: (name) => void onDb.prepare("INSERT OR IGNORE INTO projects (name, created_at, updated_at) VALUES (?, datetime('now'), datetime('now'))").run(name),
    retentionDays: 30,
    messageRetentionHours: 24,
    toolNames: () => [],
    now: () => clock,
  });
}

beforeEach(() => {
  file = path.join(tempDir(), 'brain.db');
  db = openDatabase(file);
  events = [];
  clock = Date.parse('2026-12-06T10:00:00Z');
  metrics = createMetrics();
  svc = service(db, metrics);
  svc.blueprints.save(SOFTWARE_TEAM);
});
afterEach(() => db.close());

const advance = (seconds: number) => (clock += seconds * 1000);
const ago = (seconds: number) => toDbTime(clock - seconds * 1000);

interface TaskRow {
  status?: 'queued' | 'running' | 'succeeded' | 'dead';
  role?: string | null;
  claimed_by?: string | null;
  lease_expires_at?: string | null;
  claimed_at?: string | null;
  finished_at?: string | null;
}

/** Puts tasks on a cluster's board directly, with the schema's columns. */
function addTasks(cluster: string, count: number, t: TaskRow = {}): void {
  const insert = db.prepare(
    `INSERT INTO cluster_tasks (cluster_id, kind, payload, priority, role, status, posted_by, claimed_by, lease_expires_at, attempts, max_attempts, created_at, claimed_at, finished_at)
     VALUES (@cluster, 'build', '{}', 1, @role, @status, 'assistant', @claimed_by, @lease_expires_at, @attempts, 3, @created_at, @claimed_at, @finished_at)`,
  );
  for (let i = 0; i < count; i++) {
    insert.run({
      cluster,
      role: t.role ?? null,
      status: t.status ?? 'queued',
      claimed_by: t.claimed_by ?? null,
      lease_expires_at: t.lease_expires_at ?? null,
      attempts: t.status && t.status !== 'queued' ? 1 : 0,
      created_at: ago(600),
      claimed_at: t.claimed_at ?? (t.claimed_by ? ago(0) : null),
      finished_at: t.finished_at ?? null,
    });
  }
}

/** A task held by `agent` with a lease that runs for another `leaseSeconds`. */
const hold = (cluster: string, agent: string, leaseSeconds = 600) =>
  addTasks(cluster, 1, { status: 'running', claimed_by: agent, lease_expires_at: toDbTime(clock + leaseSeconds * 1000) });

const liveWorkers = (cluster: string, on: ClusterService = svc) => on.get(cluster).cluster.workers.live;
const autoscaled = () => events.filter((e) => e.type === 'cluster.autoscaled');
const dump = () =>
  ['clusters', 'cluster_agents', 'cluster_tasks', 'cluster_metrics'].map((t) => JSON.stringify(db.prepare(`SELECT * FROM ${t} ORDER BY 1`).all())).join('\n');

async function gauges(m: Metrics): Promise<Record<string, number>> {
  const text = await m.registry.metrics();
  return Object.fromEntries([...text.matchAll(/^(brain_cluster_[a-z_]+(?:\{[^}]*\})?) (\S+)$/gm)].map((x) => [x[1], Number(x[2])]));
}

describe('auto-scaling', () => {
  it('a backlog scales the cluster up step by step to max, and never past it', () => {
    svc.create({ blueprint: 'software-team', id: 't' });
    addTasks('t', 12);

    let r = svc.autoscale('t', true);
    expect(r.decision).toEqual({
      direction: 'none',
      from: 2,
      to: 2,
      reasons: ['backlog 12 tasks for 2 workers (6.0 per worker) above 3 for 0 s', 'it scales up once that has lasted 120 s'],
    });
    advance(130);
    r = svc.autoscale('t', true);
    expect(r.decision).toEqual({
      direction: 'up',
      from: 2,
      to: 3,
      reasons: ['backlog 12 tasks for 2 workers (6.0 per worker) above 3 for 130 s', 'adding 1 worker: 2 -> 3 (max 4)'],
    });
    expect(r.change).toMatchObject({ started: ['t/coder-3'] });
    expect(liveWorkers('t')).toBe(3);
    expect(svc.get('t').cluster.workers.target).toBe(3);

    // The new worker gets a whole sustain period before the next step.
    advance(30);
    expect(svc.autoscale('t', true).decision).toEqual({
      direction: 'none',
      from: 3,
      to: 3,
      reasons: ['backlog 12 tasks for 3 workers (4.0 per worker) above 3 for 30 s since the last scaling', 'it scales up once that has lasted 120 s'],
    });
    advance(100);
    expect(svc.autoscale('t', true).decision).toMatchObject({ direction: 'up', from: 3, to: 4 });

    // At max, more work changes nothing but the reasons.
    addTasks('t', 100);
    advance(600);
    expect(svc.autoscale('t', true).decision).toEqual({
      direction: 'none',
      from: 4,
      to: 4,
      reasons: ['backlog 112 tasks for 4 workers (28.0 per worker) above 3 for 600 s since the last scaling', 'the cluster already runs its maximum of 4 workers'],
    });
    expect(liveWorkers('t')).toBe(4);

    // Each applied decision is one event carrying its reasons; looking without scaling is not an event.
    expect(autoscaled().map((e) => e.message)).toEqual([
      'cluster t: workers 2 -> 3: backlog 12 tasks for 2 workers (6.0 per worker) above 3 for 130 s; adding 1 worker: 2 -> 3 (max 4)',
      'cluster t: workers 3 -> 4: backlog 12 tasks for 3 workers (4.0 per worker) above 3 for 130 s since the last scaling; adding 1 worker: 3 -> 4 (max 4)',
    ]);
    expect(autoscaled()[1].details).toEqual({
      cluster: 't',
      direction: 'up',
      from: 3,
      to: 4,
      reasons: ['backlog 12 tasks for 3 workers (4.0 per worker) above 3 for 130 s since the last scaling', 'adding 1 worker: 3 -> 4 (max 4)'],
      started: ['t/coder-4'],
      retired: [],
      draining: [],
    });
  });

  it('tasks for other roles are not a backlog for workers; no workers and any backlog is', () => {
    svc.blueprints.save(variant('lean-team', { 'min_workers: 1': 'min_workers: 0', 'target_workers: 2': 'target_workers: 0' }));
    svc.create({ blueprint: 'lean-team', id: 'lean' });
    addTasks('lean', 20, { role: 'reviewer' });
    expect(svc.autoscale('lean', true).decision.reasons).toEqual(['nothing queued for workers and no workers']);
    addTasks('lean', 1, { role: 'coder' });
    advance(120);
    expect(svc.autoscale('lean', true).decision.reasons).toEqual(['backlog 1 task and no workers to take it, for 0 s', 'it scales up once that has lasted 120 s']);
    advance(120);
    expect(svc.autoscale('lean', true).decision).toMatchObject({ direction: 'up', from: 0, to: 1 });
  });

  it('idleness scales the cluster down one step per cool-down to min, and never below', () => {
    svc.create({ blueprint: 'software-team', id: 't' });
    svc.scale('t', 4);
    const look = () => svc.autoscale('t', true).decision;

    expect(look().reasons).toEqual(['nothing queued for workers and 4 of 4 workers free for 0 s', 'it scales down once that has lasted 900 s']);
    advance(899);
    expect(look().direction).toBe('none');
    advance(1);
    expect(look()).toEqual({
      direction: 'down',
      from: 4,
      to: 3,
      reasons: ['nothing queued for workers and 4 of 4 workers free for 900 s', 'removing 1 worker: 4 -> 3 (min 1)'],
    });
    advance(100);
    expect(look()).toEqual({
      direction: 'none',
      from: 3,
      to: 3,
      reasons: ['nothing queued for workers and 3 of 3 workers free for 1000 s', 'it last scaled 100 s ago and the cool-down is 300 s'],
    });
    advance(200);
    expect(look()).toMatchObject({ direction: 'down', from: 3, to: 2 });
    advance(300);
    expect(look()).toMatchObject({ direction: 'down', from: 2, to: 1 });
    advance(3600);
    expect(look()).toEqual({
      direction: 'none',
      from: 1,
      to: 1,
      reasons: ['nothing queued for workers and 1 of 1 worker free for 5100 s', 'the cluster already runs its minimum of 1 worker'],
    });
    expect(liveWorkers('t')).toBe(1);
    expect(autoscaled().map((e) => [e.details!.from, e.details!.to, e.details!.retired])).toEqual([
      [4, 3, ['t/coder-4']],
      [3, 2, ['t/coder-3']],
      [2, 1, ['t/coder-2']],
    ]);
  });

  it('work resets idleness, and workers that all hold a task are not idle', () => {
    svc.create({ blueprint: 'software-team', id: 't' });
    svc.scale('t', 2);
    advance(800);
    addTasks('t', 1);
    expect(svc.autoscale('t', true).decision.reasons).toEqual(['backlog 1 task for 2 workers (0.5 per worker) is within 3 per worker']);
    db.prepare("UPDATE cluster_tasks SET status = 'succeeded', finished_at = ? WHERE cluster_id = 't'").run(ago(0));
    hold('t', 't/coder-1');
    hold('t', 't/coder-2');
    advance(1000);
    expect(svc.autoscale('t', true).decision.reasons).toEqual(['nothing queued for workers and all 2 workers hold a task']);
    // Free again: the idle time counts from now, not from before the work came.
    db.prepare("UPDATE cluster_tasks SET status = 'succeeded', finished_at = ? WHERE status = 'running'").run(ago(0));
    advance(10);
    expect(svc.autoscale('t', true).decision.reasons[0]).toBe('nothing queued for workers and 2 of 2 workers free for 0 s');
  });

  it('scaling down never retires a worker that holds a task: it is drained', () => {
    svc.blueprints.save(variant('big-step', { 'step: 1': 'step: 3' }));
    svc.create({ blueprint: 'big-step', id: 'b' });
    svc.scale('b', 4);
    hold('b', 'b/coder-1');
    hold('b', 'b/coder-4');
    svc.autoscale('b', true);
    advance(900);
    const r = svc.autoscale('b', true);
    expect(r.decision).toEqual({
      direction: 'down',
      from: 4,
      to: 1,
      reasons: ['nothing queued for workers and 2 of 4 workers free for 900 s', 'removing 3 workers: 4 -> 1 (min 1)'],
    });
    expect(r.change).toEqual({ from: 4, to: 1, started: [], retired: ['b/coder-3', 'b/coder-2'], draining: ['b/coder-4'] });
    const states = Object.fromEntries(svc.agents('b').filter((a) => a.role === 'worker').map((a) => [a.id, `${a.state}${a.draining ? '+draining' : ''}`]));
    expect(states).toEqual({ 'b/coder-1': 'idle', 'b/coder-2': 'retired', 'b/coder-3': 'retired', 'b/coder-4': 'idle+draining' });
    expect(autoscaled()[0].details).toMatchObject({ direction: 'down', retired: ['b/coder-3', 'b/coder-2'], draining: ['b/coder-4'] });
  });

  it('deciding without apply changes nothing and says what apply would do', () => {
    svc.create({ blueprint: 'software-team', id: 't' });
    addTasks('t', 12);
    svc.autoscale('t', true);
    advance(130);
    const before = dump();
    const dry = svc.autoscale('t');
    expect(dry).toMatchObject({ applied: false, decision: { direction: 'up', from: 2, to: 3 } });
    expect(dump()).toBe(before);
    expect(events.filter((e) => e.type === 'cluster.autoscaled')).toEqual([]);
    const done = svc.autoscale('t', true);
    expect(done).toMatchObject({ applied: true, decision: dry.decision });
    expect(dump()).not.toBe(before);
  });

  it('two services on one file never apply one reading twice', () => {
    const db2 = openDatabase(file);
    try {
      const other = service(db2);
      svc.create({ blueprint: 'software-team', id: 't' });
      addTasks('t', 12);
      svc.autoscale('t', true);
      advance(130);
      // Both see the same backlog and would scale up...
      expect(other.autoscale('t').decision.direction).toBe('up');
      expect(svc.autoscale('t', true).decision).toMatchObject({ direction: 'up', from: 2, to: 3 });
      // ...but the second apply re-reads inside its transaction and finds the step taken.
      expect(other.autoscale('t', true).decision).toEqual({
        direction: 'none',
        from: 3,
        to: 3,
        reasons: ['backlog 12 tasks for 3 workers (4.0 per worker) above 3 for 0 s since the last scaling', 'it scales up once that has lasted 120 s'],
      });
      expect(liveWorkers('t', other)).toBe(3);

      // The same for scaling down: one step, then the cool-down holds the other process.
      db.prepare("DELETE FROM cluster_tasks WHERE cluster_id = 't'").run();
      svc.autoscale('t', true);
      advance(900);
      expect(svc.autoscale('t', true).decision).toMatchObject({ direction: 'down', from: 3, to: 2 });
      expect(other.autoscale('t', true).decision).toMatchObject({ direction: 'none', from: 2 });
      expect(autoscaled().map((e) => e.details!.direction)).toEqual(['up', 'down']);
    } finally {
      db2.close();
    }
  });

  it('refuses clusters that are not active, naming what can be done', () => {
    svc.create({ blueprint: 'software-team', id: 't' });
    svc.hibernate('t');
    expect(() => svc.autoscale('t', true)).toThrow('Cannot auto-scale cluster "t": it is hibernated; from hibernated you can: update, reactivate, destroy, export.');
    expect(() => svc.autoscale('t')).toThrow(/Cannot auto-scale cluster "t"/);
    expect(() => svc.autoscale('nope')).toThrow(/No cluster "nope"/);
  });
});

describe('snapshots, health and gauges', () => {
  beforeEach(() => {
    svc.create({ blueprint: 'software-team', id: 't' });
  });

  function addMessages(to: string, pending: number, acknowledged: number) {
    const insert = db.prepare(
      `INSERT INTO messages (cluster_id, send_id, from_agent, to_agent, audience, priority, subject, body, created_at, acknowledged_at)
       VALUES ('t', 0, 't/lead', ?, 'direct', 1, 'hello', '', ?, ?)`,
    );
    for (let i = 0; i < pending + acknowledged; i++) insert.run(to, ago(60), i < pending ? null : ago(30));
  }

  it('a snapshot is a cluster_metrics row and gauges with the right numbers', async () => {
    addTasks('t', 3); // any worker
    addTasks('t', 1, { role: 'coder' }); // the worker template
    addTasks('t', 1, { role: 'reviewer' }); // not workers' work
    hold('t', 't/coder-1');
    db.prepare("UPDATE cluster_agents SET state = 'busy' WHERE id = 't/coder-1'").run();
    addTasks('t', 2, { status: 'succeeded', finished_at: ago(60) });
    addTasks('t', 1, { status: 'succeeded', finished_at: ago(600) }); // outside the 5-minute rate window
    addTasks('t', 1, { status: 'dead', finished_at: ago(120) });
    addMessages('t/coder-2', 2, 1);
    addMessages('t/reviewer', 1, 0);

    const snap = svc.snapshot('t');
    // Dead share of the hour's finished tasks 1/4: 1 - 0.3 * 0.25.
    expect(snap).toEqual({
      cluster: 't',
      at: '2026-12-06T10:00:00.000Z',
      workers: 2,
      max_workers: 4,
      agents: { idle: 4, busy: 1, retired: 0 },
      tasks: { queued: 5, running: 1, dead: 1 },
      backlog: 4,
      backlog_per_worker: 2,
      messages_pending: 3,
      completed_per_min: 0.4,
      failed_per_min: 0.2,
      rate_window_minutes: 5,
      health_score: 0.925,
    });
    expect(db.prepare("SELECT * FROM cluster_metrics WHERE cluster_id = 't'").all()).toEqual([
      {
        id: 1,
        cluster_id: 't',
        at: '2026-12-06 10:00:00.000',
        workers: 2,
        agents_idle: 4,
        agents_busy: 1,
        agents_retired: 0,
        tasks_queued: 5,
        tasks_running: 1,
        backlog_per_worker: 2,
        messages_pending: 3,
        completed_per_min: 0.4,
        failed_per_min: 0.2,
        health_score: 0.925,
      },
    ]);
    expect(svc.get('t').cluster.health_score).toBe(0.925);
    expect(await gauges(metrics)).toEqual({
      'brain_cluster_agents{cluster="t",state="idle"}': 4,
      'brain_cluster_agents{cluster="t",state="busy"}': 1,
      'brain_cluster_agents{cluster="t",state="retired"}': 0,
      'brain_cluster_tasks{cluster="t",status="queued"}': 5,
      'brain_cluster_tasks{cluster="t",status="running"}': 1,
      'brain_cluster_tasks{cluster="t",status="dead"}': 1,
      'brain_cluster_workers{cluster="t"}': 2,
      'brain_cluster_max_workers{cluster="t"}': 4,
      'brain_cluster_backlog_per_worker{cluster="t"}': 2,
      'brain_cluster_messages_pending{cluster="t"}': 3,
      'brain_cluster_health_score{cluster="t"}': 0.925,
    });

    // Applied passes keep one row per the blueprint's metrics interval (60 s), and count decisions.
    svc.autoscale('t', true);
    advance(30);
    svc.autoscale('t', true);
    advance(30);
    svc.autoscale('t', true);
    expect(db.prepare("SELECT at FROM cluster_metrics WHERE cluster_id = 't' ORDER BY id").pluck().all()).toEqual(['2026-12-06 10:00:00.000', '2026-12-06 10:01:00.000']);
    expect((await gauges(metrics))['brain_cluster_scaling_decisions_total{direction="none"}']).toBe(3);
  });

  it('gauges of clusters that are no longer active do not linger', async () => {
    svc.create({ blueprint: 'software-team', id: 'u' });
    svc.create({ blueprint: 'software-team', id: 'v' });
    for (const id of ['t', 'u', 'v']) svc.autoscale(id, true);
    const clustersIn = async () => [...new Set(Object.keys(await gauges(metrics)).flatMap((k) => /cluster="([^"]+)"/.exec(k)?.[1] ?? []))].sort();
    expect(await clustersIn()).toEqual(['t', 'u', 'v']);
    svc.hibernate('t');
    expect(await clustersIn()).toEqual(['u', 'v']);
    svc.destroy('u');
    expect(await clustersIn()).toEqual(['v']);
    // Another process destroys v: this one drops its gauges at its next pass.
    const db2 = openDatabase(file);
    try {
      service(db2).destroy('v');
    } finally {
      db2.close();
    }
    expect(await clustersIn()).toEqual(['v']);
    expect(svc.autoscaleActive()).toEqual({ clusters: 0, up: 0, down: 0, failed: [] });
    expect(await clustersIn()).toEqual([]);
  });

  it('the health score drops with a backlog at max, with stuck agents and with dead tasks', () => {
    svc.scale('t', 4);
    expect(svc.snapshot('t').health_score).toBe(1);
    // 24 queued for 4 workers = 6 per worker, twice the policy's 3: the whole backlog weight.
    addTasks('t', 24);
    advance(600);
    const atMax = svc.autoscale('t', true);
    expect(atMax.decision.reasons[1]).toBe('the cluster already runs its maximum of 4 workers');
    expect(atMax.snapshot.health_score).toBe(0.7);
    // Half way to twice the threshold: half the weight.
    db.prepare("DELETE FROM cluster_tasks WHERE id IN (SELECT id FROM cluster_tasks WHERE status = 'queued' LIMIT 6)").run();
    expect(svc.snapshot('t').health_score).toBe(0.85);
    db.prepare("DELETE FROM cluster_tasks WHERE status = 'queued'").run();
    // One of 7 live agents holds a task whose lease ran out: 0.4 * 1/7.
    addTasks('t', 1, { status: 'running', claimed_by: 't/coder-1', lease_expires_at: ago(5) });
    expect(svc.snapshot('t').health_score).toBe(0.943);
    db.prepare("DELETE FROM cluster_tasks WHERE status = 'running'").run();
    // Busy but not seen for 10 minutes, with a long lease: stuck too.
    addTasks('t', 1, { status: 'running', claimed_by: 't/coder-2', lease_expires_at: toDbTime(clock + 3_600_000), claimed_at: ago(900) });
    expect(svc.snapshot('t').health_score).toBe(0.943);
    db.prepare("UPDATE cluster_agents SET last_seen_at = ? WHERE id = 't/coder-2'").run(ago(10));
    expect(svc.snapshot('t').health_score).toBe(1);
    // Three of the last hour's four finished tasks died: 0.3 * 3/4. Deaths older than an hour do not count.
    addTasks('t', 1, { status: 'succeeded', finished_at: ago(300) });
    addTasks('t', 3, { status: 'dead', finished_at: ago(1800) });
    addTasks('t', 5, { status: 'dead', finished_at: ago(7200) });
    expect(svc.snapshot('t').health_score).toBe(0.775);
    expect(svc.get('t').cluster.health_score).toBe(0.775);
  });

  it('every read behind a measurement uses an index', () => {
    const params: Record<string, string> = { cluster: 't', now: ago(0), unseen: ago(600), roles: '["worker"]', recent: ago(300), hour: ago(3600) };
    for (const [name, sql] of Object.entries(MEASURE_SQL)) {
      const used = Object.fromEntries(Object.entries(params).filter(([k]) => sql.includes(`@${k}`)));
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(used) as { detail: string }[]).map((r) => r.detail);
      const scans = plan.filter((d) => d.startsWith('SCAN ') && !d.startsWith('SCAN json_each'));
      expect(scans, `${name}: ${plan.join(' | ')}`).toEqual([]);
    }
  });
});

describe('the cluster tool', () => {
  it('autoscale returns the decision with its reasons and the snapshot; apply carries it out', async () => {
    const app = createApp(testConfig(tempDir('brain-autoscale-tool-')));
    const client = new Client({ name: 'scaling-test', version: '1' });
    try {
      const [a, b] = InMemoryTransport.createLinkedPair();
      await app.connect().server.connect(a);
      await client.connect(b);
      await call(client, 'blueprint', { action: 'save', yaml: variant('eager-team', { 'sustain_seconds: 120': 'sustain_seconds: 0' }) });
      await call(client, 'cluster', { action: 'create', blueprint: 'eager-team', id: 'e' });
      const insert = app.db.prepare(
        "INSERT INTO cluster_tasks (cluster_id, kind, payload, priority, status, posted_by, attempts, max_attempts, created_at) VALUES ('e', 'build', '{}', 1, 'queued', 'assistant', 0, 3, ?)",
      );
      for (let i = 0; i < 9; i++) insert.run(toDbTime());

      const dry = await call<{ decision: { direction: string; reasons: string[] }; snapshot: { backlog: number; workers: number }; applied: boolean }>(client, 'cluster', { action: 'autoscale', id: 'e' });
      expect(dry).toMatchObject({ applied: false, decision: { direction: 'up', from: 2, to: 3 }, snapshot: { cluster: 'e', workers: 2, backlog: 9, backlog_per_worker: 4.5 } });
      expect(dry.decision.reasons).toEqual(['backlog 9 tasks for 2 workers (4.5 per worker) above 3 for 0 s', 'adding 1 worker: 2 -> 3 (max 4)']);
      const done = await call<{ change: { started: string[] } }>(client, 'cluster', { action: 'autoscale', id: 'e', apply: true });
      expect(done).toMatchObject({ applied: true, decision: { direction: 'up', from: 2, to: 3 }, change: { started: ['e/coder-3'] } });
      expect(app.events.list({ types: ['cluster.autoscaled'] }, 10).rows.map((e) => e.message)).toEqual([
        'cluster e: workers 2 -> 3: backlog 9 tasks for 2 workers (4.5 per worker) above 3 for 0 s; adding 1 worker: 2 -> 3 (max 4)',
      ]);
      expect(await callError(client, 'cluster', { action: 'autoscale' })).toMatch(/cluster autoscale needs "id"/);
      expect(await callError(client, 'cluster', { action: 'autoscale', id: 'e', target: 3 })).toMatch(/cluster autoscale does not use "target"; remove it \(autoscale takes "id" and "apply"\)/);
      expect(await callError(client, 'cluster', { action: 'scale', id: 'e', target: 3, apply: true })).toMatch(/cluster scale does not use "apply"/);
    } finally {
      await client.close();
      app.close();
    }
  });
});

describe('the scheduler', () => {
  const DAY = 86_400_000;
  let app: App | undefined;
  let daemon: Daemon | undefined;
  afterEach(async () => {
    app?.close();
    app = undefined;
    await daemon?.stop('test over');
    daemon = undefined;
  });

  for (const mode of ['embedded', 'daemon'] as const) {
    it(`${mode}: registers clusters.autoscale and purge.clusters; a backlog scales an active cluster up by itself; old clusters and metrics go`, async () => {
      const dir = tempDir('brain-scaling-');
      const config = testConfig(dir, { BRAIN_SOCKET_PATH: path.join(dir, 'brain.sock'), BRAIN_METRICS_PORT: '0', BRAIN_CLUSTER_SCALE_INTERVAL_SEC: '1' });
      // Seeded by a one-shot brain (which runs nothing by itself): a cluster destroyed 40 days ago,
      // an active one with a 40-day-old and a fresh metrics row.
      const seed = createApp(config);
      try {
        seed.clusters.blueprints.save(variant('eager-team', { 'sustain_seconds: 120': 'sustain_seconds: 0' }));
        seed.clusters.create({ blueprint: 'eager-team', id: 'old' });
        seed.clusters.destroy('old');
        seed.db.prepare("UPDATE clusters SET destroyed_at = ? WHERE id = 'old'").run(toDbTime(Date.now() - 40 * DAY));
        seed.clusters.create({ blueprint: 'eager-team', id: 'live' });
        seed.clusters.snapshot('live');
        seed.db.prepare("UPDATE cluster_metrics SET at = ? WHERE cluster_id = 'live'").run(toDbTime(Date.now() - 40 * DAY));
        seed.clusters.snapshot('live');
        expect(seed.maintenance.scheduled).toEqual([]);
      } finally {
        seed.close();
      }

      if (mode === 'embedded') app = createApp(config, { logger: silentLogger(), metrics: createMetrics(), mode });
      else daemon = await startDaemon(config, { logger: silentLogger(), metrics: createMetrics() });
      const running = (app ?? daemon!.app)!;
      expect(running.maintenance.scheduled).toEqual(expect.arrayContaining(['clusters.autoscale', 'purge.clusters']));
      expect(running.maintenance.tasks.find((t) => t.name === 'clusters.autoscale')!.intervalMs).toBe(1000);

      await waitFor('the start-up purge', () => running.db.prepare("SELECT count(*) FROM clusters WHERE id = 'old'").pluck().get() === 0, 10_000);
      await waitFor('the old metrics row to go', () => running.db.prepare('SELECT count(*) FROM cluster_metrics').pluck().get() === 1, 10_000);

      // 40 tasks for 2 workers; with sustain 0, each pass adds a worker until the blueprint's max of 4.
      const insert = running.db.prepare(
        "INSERT INTO cluster_tasks (cluster_id, kind, payload, priority, status, posted_by, attempts, max_attempts, created_at) VALUES ('live', 'build', '{}', 1, 'queued', 'assistant', 0, 3, ?)",
      );
      for (let i = 0; i < 40; i++) insert.run(toDbTime());
      await waitFor('the cluster to reach max', () => running.clusters.get('live').cluster.workers.live === 4, 15_000);
      const recorded = running.events.list({ types: ['cluster.autoscaled'] }, 10).rows.map((e) => e.message).sort();
      expect(recorded).toEqual([
        expect.stringMatching(/^cluster live: workers 2 -> 3: backlog 40 tasks for 2 workers \(20\.0 per worker\) above 3 for \d+ s; adding 1 worker: 2 -> 3 \(max 4\)$/),
        expect.stringMatching(/^cluster live: workers 3 -> 4: backlog 40 tasks for 3 workers \(13\.3 per worker\) above 3 for \d+ s( since the last scaling)?; adding 1 worker: 3 -> 4 \(max 4\)$/),
      ]);
    }, 40_000);
  }
});
