// The task board on a temp database: posting, claiming with a lease (priority, role targets),
// heartbeat, complete and fail by the holder only, retries and the dead letter, expired leases,
// agent states (busy, idle, draining -> retired), waiting claims, and two connections on one file.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../src/core/db.js';
import { silentLogger } from '../src/core/logger.js';
import { createMetrics, type Metrics } from '../src/core/metrics.js';
import { createClusterService, type ClusterService } from '../src/clusters/service.js';
import { ROOT, tempDir } from './helpers/brain.js';

const example = (name: string) => fs.readFileSync(path.join(ROOT, 'blueprints', `${name}.yaml`), 'utf8');

let file: string;
let db: Db;
let svc: ClusterService;
let metrics: Metrics;
let events: { type: string; details?: Record<string, unknown> }[];
let clock: number;
/** Tests of waiting claims let time pass for real. */
let live: boolean;

function service(database: Db): ClusterService {
  return createClusterService({
    db: database,
    logger: silentLogger(),
    metrics,
    recordEvent: (type, _severity, _message, details) => void events.push({ type, details }),
    ensureProject: (name) => void database.prepare("INSERT OR IGNORE INTO projects (name, created_at, updated_at) VALUES (?, datetime('now'), datetime('now'))").run(name),
    retentionDays: 30,
    messageRetentionHours: 24,
    toolNames: () => [],
    now: () => (live ? Date.now() : clock),
  });
}

beforeEach(() => {
  file = path.join(tempDir(), 'brain.db');
  db = openDatabase(file);
  clock = Date.parse('2026-12-06T10:00:00Z');
  live = false;
  events = [];
  metrics = createMetrics();
  svc = service(db);
  svc.blueprints.save(example('software-team'));
  // t: lead, reviewer, tester (specialists), coder-1..3 (workers).
  svc.create({ blueprint: 'software-team', id: 't', target: 3 });
  svc.create({ blueprint: 'software-team', id: 'other' });
});
afterEach(() => db.close());

const board = () => svc.tasks;
const count = (sql: string, ...params: unknown[]) => (db.prepare(sql).get(...params) as { n: number }).n;
const tables = () =>
  `tasks:${count('SELECT count(*) AS n FROM cluster_tasks')} ` +
  JSON.stringify(db.prepare('SELECT id, status, claimed_by, attempts, lease_expires_at, result, error FROM cluster_tasks ORDER BY id').all()) +
  JSON.stringify(db.prepare('SELECT id, state, draining FROM cluster_agents ORDER BY id').all());
const state = (agent: string) => {
  const a = svc.agent(agent);
  return `${a.state}${a.draining ? '+draining' : ''}`;
};
const outcomes = async () =>
  Object.fromEntries((await metrics.registry.getSingleMetric('brain_cluster_tasks_finished_total')!.get()).values.map((v) => [v.labels.outcome, v.value]));
const plan = (sql: string, params: Record<string, unknown>) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]).map((r) => r.detail).join('; ');
const post = (kind: string, extra: Partial<Parameters<ClusterService['tasks']['post']>[0]> = {}) => board().post({ cluster: 't', kind, ...extra }).id;

describe('post', () => {
  it('by the assistant or by an agent, queued with its payload, priority and role target', () => {
    const byAssistant = board().post({ cluster: 't', kind: 'implement', payload: { file: 'src/a.ts' }, priority: 'high' });
    expect(byAssistant).toMatchObject({ cluster: 't', kind: 'implement', status: 'queued', priority: 'high', posted_by: 'assistant', attempts: 0, max_attempts: 3 });
    expect(byAssistant).not.toHaveProperty('payload');
    const byLead = board().post({ agent: 't/lead', kind: 'review', payload: 'PR 7', role: 'reviewer', maxAttempts: 1 });
    expect(byLead).toMatchObject({ cluster: 't', posted_by: 't/lead', role: 'reviewer', max_attempts: 1, priority: 'normal' });
    expect(board().get(byLead.id)).toMatchObject({ payload: 'PR 7', status: 'queued' });
    // A hibernated cluster keeps taking work for when it wakes up.
    svc.hibernate('t');
    expect(board().post({ cluster: 't', kind: 'later' }).status).toBe('queued');
  });

  it('bad posts are refused with what to change, and store nothing', () => {
    const before = tables();
    const bad: [Parameters<ClusterService['tasks']['post']>[0], RegExp | string][] = [
      [{ kind: 'x' }, 'post needs "cluster" (or "agent", to post as that agent of its cluster).'],
      [{ cluster: 'nope', kind: 'x' }, /No cluster "nope"\. Clusters: /],
      [{ cluster: 't', kind: '  ' }, /"kind" is a short label of 1-64 characters/],
      [{ cluster: 't', kind: 'k'.repeat(65) }, /"kind" is a short label/],
      [{ cluster: 't', kind: 'x', payload: { blob: 'x'.repeat(65_536) } }, /"payload" is 65547 bytes of JSON; the limit is 65536/],
      [{ cluster: 't', kind: 'x', maxAttempts: 0 }, /"max_attempts" must be a whole number from 1 to 10/],
      [{ cluster: 't', kind: 'x', maxAttempts: 11 }, /"max_attempts"/],
      [{ cluster: 't', kind: 'x', role: 'designer' }, '"role" "designer" is neither a role (supervisor, lead, specialist, worker) nor a blueprint agent of cluster "t" (lead, reviewer, tester, coder).'],
      [{ cluster: 'other', agent: 't/lead', kind: 'x' }, 'Agent t/lead belongs to cluster "t", not "other"; agents post to their own cluster (leave "cluster" out).'],
      [{ agent: 't/ghost', kind: 'x' }, /Cluster "t" has no agent "t\/ghost"/],
    ];
    for (const [input, error] of bad) expect(() => board().post(input)).toThrow(error);
    svc.scale('t', 1);
    expect(() => board().post({ agent: 't/coder-3', kind: 'x' })).toThrow(/Agent "t\/coder-3" is retired/);
    const afterScale = tables();
    svc.destroy('t');
    const destroyed = tables();
    expect(() => board().post({ cluster: 't', kind: 'x' })).toThrow('Cluster "t" is destroyed; restore it (cluster {action: "restore"}) before posting work to it.');
    expect(() => board().post({ agent: 't/lead', kind: 'x' })).toThrow(/Cluster "t" is destroyed/);
    expect(tables()).toBe(destroyed);
    expect(afterScale).not.toBe(before);
    expect(before).toMatch(/^tasks:0 /);
  });
});

describe('claim, heartbeat, complete, fail', () => {
  it('the best task the agent may take: priority, then age; role targets; untargeted work is for workers', () => {
    const normal = post('n');
    const high1 = post('h1', { priority: 'high' });
    const low = post('l', { priority: 'low' });
    const high2 = post('h2', { priority: 'high' });
    const critical = post('c', { priority: 'critical' });
    const forTester = post('test', { role: 'tester', priority: 'critical' });
    const forSpecialists = post('spec', { role: 'specialist' });
    const forCoders = post('code', { role: 'coder', priority: 'low' });
    const forLead = post('plan', { role: 'lead' });

    expect(board().claim('t/lead')?.id).toBe(forLead);
    expect(board().claim('t/lead')).toBeNull();
    expect(board().claim('t/tester')?.id).toBe(forTester);
    expect(board().claim('t/tester')?.id).toBe(forSpecialists);
    expect(board().claim('t/reviewer')).toBeNull();
    const order = [];
    for (let task = board().claim('t/coder-1'); task; task = board().claim('t/coder-1')) order.push(task.id);
    expect(order).toEqual([critical, high1, high2, normal, low, forCoders]);
    expect(board().list({ cluster: 't' }).counts).toEqual({ queued: 0, running: 9, succeeded: 0, dead: 0 });
    const sql = `SELECT * FROM cluster_tasks WHERE cluster_id = @cluster AND status = 'queued' AND (role IS NULL AND @worker = 1 OR role = @role OR role = @template) ORDER BY priority DESC, id LIMIT 1`;
    expect(plan(sql, { cluster: 't', worker: 1, role: 'worker', template: 'coder' })).toMatch(/USING INDEX cluster_tasks_queue/);
    expect(plan(sql, { cluster: 't', worker: 1, role: 'worker', template: 'coder' })).not.toMatch(/TEMP B-TREE/);
  });

  it('a claim makes the agent busy under a lease; the holder completes it with a result and is idle again', async () => {
    const id = post('implement', { payload: { n: 1 } });
    const task = board().claim('t/coder-2', { leaseSeconds: 120 })!;
    expect(task).toMatchObject({ id, status: 'running', claimed_by: 't/coder-2', attempts: 1, lease_expires_at: '2026-12-06T10:02:00.000Z', payload: { n: 1 } });
    expect(state('t/coder-2')).toBe('busy');
    clock += 30_000;
    expect(board().heartbeat('t/coder-2', id, 300).lease_expires_at).toBe('2026-12-06T10:05:30.000Z');
    const done = board().complete('t/coder-2', id, { files: ['a.ts'], tests: 'pass' });
    expect(done).toMatchObject({ status: 'succeeded', claimed_by: 't/coder-2', finished_at: '2026-12-06T10:00:30.000Z' });
    expect(done).not.toHaveProperty('lease_expires_at');
    expect(board().get(id)).toMatchObject({ result: { files: ['a.ts'], tests: 'pass' }, payload: { n: 1 } });
    expect(state('t/coder-2')).toBe('idle');
    expect(await outcomes()).toEqual({ succeeded: 1 });
  });

  it('only the holder heartbeats, completes or fails; a refused call changes nothing', () => {
    const id = post('implement');
    board().claim('t/coder-1');
    const queued = post('other');
    const before = tables();
    expect(() => board().complete('t/coder-2', id, 'mine')).toThrow(`t/coder-2 does not hold task ${id} (it is running for t/coder-1); only the agent that claimed a task can complete it.`);
    expect(() => board().heartbeat('t/coder-2', id)).toThrow(/does not hold task .* can heartbeat it/);
    expect(() => board().fail('t/lead', id, 'no')).toThrow(/t\/lead does not hold task/);
    expect(() => board().complete('t/coder-1', queued)).toThrow(`t/coder-1 does not hold task ${queued} (it is queued); only the agent that claimed a task can complete it.`);
    expect(() => board().complete('t/coder-1', 999)).toThrow('No task 999; task {action: "list", cluster} shows the cluster\'s tasks.');
    expect(() => board().complete('t/coder-1', id, { blob: 'x'.repeat(70_000) })).toThrow(/"result" is 70011 bytes of JSON; the limit is 65536/);
    expect(() => board().fail('t/coder-1', id, '  ')).toThrow(/"reason" says why the task failed/);
    expect(() => board().heartbeat('t/coder-1', id, 4)).toThrow('"lease_seconds" must be a whole number from 5 to 3600; heartbeat before it runs out for longer work.');
    expect(() => board().claim('t/coder-2', { leaseSeconds: 3601 })).toThrow(/"lease_seconds"/);
    expect(() => board().claim('t/nobody')).toThrow(/has no agent "t\/nobody"/);
    expect(tables()).toBe(before);
    board().complete('t/coder-1', id);
    expect(() => board().complete('t/coder-1', id)).toThrow(`t/coder-1 does not hold task ${id} (it is succeeded)`);
  });

  it('fail goes back to the queue while attempts remain, then to the dead letter', async () => {
    const id = post('flaky', { maxAttempts: 2 });
    board().claim('t/coder-1');
    expect(board().fail('t/coder-1', id, 'tests time out')).toMatchObject({ status: 'queued', attempts: 1, error: 'tests time out' });
    expect(board().get(id)).not.toHaveProperty('claimed_by');
    expect(state('t/coder-1')).toBe('idle');
    expect(board().claim('t/coder-2')).toMatchObject({ id, attempts: 2 });
    expect(board().fail('t/coder-2', id, 'still times out')).toMatchObject({ status: 'dead', attempts: 2, claimed_by: 't/coder-2', error: 'still times out', finished_at: expect.any(String) });
    expect(board().claim('t/coder-3')).toBeNull();
    expect(board().list({ cluster: 't', status: 'dead' }).tasks.map((t) => t.id)).toEqual([id]);
    expect(await outcomes()).toEqual({ failed: 1, dead: 1 });
  });

  it('an expired lease comes back on the next claim in its cluster; its late holder is told; used-up attempts go dead', async () => {
    const id = post('slow');
    const dies = post('doomed', { maxAttempts: 1, priority: 'low' });
    board().claim('t/coder-1', { leaseSeconds: 5 });
    board().claim('t/coder-2', { leaseSeconds: 5 });
    expect([state('t/coder-1'), state('t/coder-2')]).toEqual(['busy', 'busy']);
    clock += 5_000;
    // Not expired yet at exactly its end; the reviewer takes no worker tasks and reclaims nothing.
    expect(board().claim('t/reviewer')).toBeNull();
    expect(board().list({ cluster: 't' }).counts.running).toBe(2);
    clock += 1;
    // A claim in another cluster does not touch this one's leases.
    expect(board().claim('other/coder-1')).toBeNull();
    expect(board().list({ cluster: 't' }).counts.running).toBe(2);
    expect(board().claim('t/reviewer')).toBeNull();
    expect(board().get(id)).toMatchObject({ status: 'queued', attempts: 1, error: 'lease expired while t/coder-1 held it (attempt 1 of 3)' });
    expect(board().get(dies)).toMatchObject({ status: 'dead', attempts: 1, claimed_by: 't/coder-2', error: 'lease expired while t/coder-2 held it (attempt 1 of 1)' });
    expect([state('t/coder-1'), state('t/coder-2')]).toEqual(['idle', 'idle']);
    expect(() => board().complete('t/coder-1', id, 'late')).toThrow(
      `t/coder-1 does not hold task ${id} (it is queued); only the agent that claimed a task can complete it. Your lease ran out and the task went back to the queue: claim work again.`,
    );
    expect(board().claim('t/coder-3')).toMatchObject({ id, attempts: 2, claimed_by: 't/coder-3' });
    expect(() => board().heartbeat('t/coder-1', id)).toThrow(/it is running for t\/coder-3/);
    expect(await outcomes()).toEqual({ expired: 1, dead: 1 });
    const expiredSql = "SELECT * FROM cluster_tasks WHERE cluster_id = @c AND status = 'running' AND lease_expires_at < @now ORDER BY id";
    expect(plan(expiredSql, { c: 't', now: '2027' })).toMatch(/USING INDEX cluster_tasks_leases/);
  });

  it('a holder whose lease ran out may still finish while nobody reclaimed it', () => {
    const id = post('slow');
    board().claim('t/coder-1', { leaseSeconds: 5 });
    clock += 60_000;
    expect(board().heartbeat('t/coder-1', id, 60).lease_expires_at).toBe('2026-12-06T10:02:00.000Z');
    clock += 600_000;
    expect(board().complete('t/coder-1', id, 'done late')).toMatchObject({ status: 'succeeded', attempts: 1 });
  });

  it('a draining worker takes nothing new and retires when its last task ends', () => {
    const [a, b, c] = [post('a'), post('b'), post('c')];
    post('d');
    for (const w of ['t/coder-1', 't/coder-2', 't/coder-3']) board().claim(w);
    const down = svc.scale('t', 1).change;
    expect(down).toMatchObject({ draining: ['t/coder-3', 't/coder-2'], retired: [] });
    expect([state('t/coder-2'), state('t/coder-3')]).toEqual(['busy+draining', 'busy+draining']);
    const before = tables();
    expect(() => board().claim('t/coder-3')).toThrow('Agent t/coder-3 is being retired (its cluster scaled down) and takes no new work; complete or fail the tasks it holds.');
    expect(tables()).toBe(before);
    board().complete('t/coder-3', c);
    expect(state('t/coder-3')).toBe('retired');
    board().fail('t/coder-2', b, 'handing back');
    expect(state('t/coder-2')).toBe('retired');
    expect(events.filter((e) => e.type === 'cluster.drained').map((e) => e.details)).toEqual([
      { cluster: 't', agent: 't/coder-3' },
      { cluster: 't', agent: 't/coder-2' },
    ]);
    expect(() => board().claim('t/coder-3')).toThrow(/Agent "t\/coder-3" is retired/);
    // The remaining worker keeps its task and is still busy; b went back to the queue for it.
    expect(state('t/coder-1')).toBe('busy');
    board().complete('t/coder-1', a);
    expect(board().claim('t/coder-1')?.id).toBe(b);
  });

  it('clusters that are not active hand out nothing; hibernate takes running tasks back', () => {
    const id = post('x');
    board().claim('t/coder-1');
    svc.hibernate('t');
    expect(board().get(id)).toMatchObject({ status: 'queued', attempts: 0 });
    expect(() => board().claim('t/lead')).toThrow('Cannot take work from cluster "t": it is hibernated; from hibernated you can: update, reactivate, destroy, export.');
    expect(() => board().complete('t/coder-1', id)).toThrow(/does not hold task/);
    svc.reactivate('t');
    expect(board().claim('t/coder-1')).toMatchObject({ id, attempts: 1 });
  });

  it('get and list: any reader; list filters by status, newest first, with counts', () => {
    const ids = Array.from({ length: 5 }, (_, i) => post(`k${i}`, { payload: { i } }));
    board().claim('t/coder-1');
    board().complete('t/coder-1', ids[0], { ok: true });
    expect(board().list({ cluster: 't', limit: 2 })).toEqual({
      tasks: [expect.objectContaining({ id: ids[4], status: 'queued' }), expect.objectContaining({ id: ids[3] })],
      counts: { queued: 4, running: 0, succeeded: 1, dead: 0 },
    });
    expect(board().list({ agent: 't/lead', status: 'succeeded' }).tasks).toEqual([expect.not.objectContaining({ result: expect.anything() })]);
    expect(board().get(ids[0], 't/lead')).toMatchObject({ result: { ok: true }, payload: { i: 0 } });
    expect(() => board().list({})).toThrow('list needs "cluster" (or "agent").');
    expect(() => board().list({ agent: 't/lead', cluster: 'other' })).toThrow(/belongs to cluster "t", not "other"/);
  });
});

describe('waiting claims', () => {
  it('wait_seconds: a task posted during the wait is taken; an abort ends the wait with nothing', async () => {
    live = true;
    setTimeout(() => post('arrives later'), 200);
    const task = await board().claimWait('t/coder-1', { waitSeconds: 10 });
    expect(task).toMatchObject({ kind: 'arrives later', claimed_by: 't/coder-1' });

    const abort = new AbortController();
    setTimeout(() => abort.abort(), 100);
    expect(await board().claimWait('t/coder-2', { waitSeconds: 30, signal: abort.signal })).toBeNull();
    await expect(board().claimWait('t/coder-2', { waitSeconds: 31 })).rejects.toThrow('"wait_seconds" is 0 to 30; call claim again to wait longer.');
  });

  it('a waiting claim picks up a lease that expires during the wait', async () => {
    live = true;
    const id = post('held');
    board().claim('t/coder-1', { leaseSeconds: 5 });
    // Move the lease to just ahead of now instead of waiting five seconds.
    db.prepare("UPDATE cluster_tasks SET lease_expires_at = strftime('%Y-%m-%d %H:%M:%f', 'now', '+0.3 seconds') WHERE id = ?").run(id);
    expect(await board().claimWait('t/coder-2', { waitSeconds: 10 })).toMatchObject({ id, attempts: 2, claimed_by: 't/coder-2' });
  });
});

describe('two connections on one file', () => {
  it("a claim cannot run while another connection's claim holds the write lock, and never takes that task", () => {
    const a = openDatabase(file, { busyTimeoutMs: 50 });
    const b = openDatabase(file, { busyTimeoutMs: 50 });
    try {
      const svcA = service(a);
      const svcB = service(b);
      const first = post('first', { priority: 'high' });
      const second = post('second');
      b.exec('BEGIN IMMEDIATE');
      expect(svcB.tasks.claim('t/coder-1')?.id).toBe(first);
      // B's claim is not committed: A may neither see the task as free nor wait forever.
      expect(() => svcA.tasks.claim('t/coder-2')).toThrow(/locked|busy/i);
      b.exec('COMMIT');
      expect(svcA.tasks.claim('t/coder-2')?.id).toBe(second);
      expect(db.prepare('SELECT id, claimed_by FROM cluster_tasks ORDER BY id').all()).toEqual([
        { id: first, claimed_by: 't/coder-1' },
        { id: second, claimed_by: 't/coder-2' },
      ]);
    } finally {
      a.close();
      b.close();
    }
  });
});
