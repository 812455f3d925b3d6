// The cluster service on a temp database: blueprint revisions, the lifecycle and its state
// machine, scaling that keeps ids stable and never retires a worker holding a task, and the rule
// that a failed change leaves nothing behind.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, toDbTime, type Db } from '../src/core/db.js';
import { silentLogger } from '../src/core/logger.js';
import { createMetrics } from '../src/core/metrics.js';
import { createClusterService, type ClusterService } from '../src/clusters/service.js';
import { ROOT, tempDir } from './helpers/brain.js';

const example = (name: string) => fs.readFileSync(path.join(ROOT, 'blueprints', `${name}.yaml`), 'utf8');

let db: Db;
let svc: ClusterService;
let events: { type: string; message: string; details?: Record<string, unknown> }[];
let clock: number;

beforeEach(() => {
  db = openDatabase(path.join(tempDir(), 'brain.db'));
  events = [];
  clock = Date.parse('2026-12-06T10:00:00Z');
  svc = createClusterService({
    db,
    logger: silentLogger(),
    metrics: createMetrics(),
    recordEvent: (type, _severity, message, details) => void events.push({ type, message, details }),
    ensureProject: (name) => void db.prepare("INSERT OR IGNORE INTO projects (name, created_at, updated_at) VALUES (?, datetime('now'), datetime('now'))").run(name),
    retentionDays: 30,
    messageRetentionHours: 24,
    toolNames: () => [],
    now: () => clock,
  });
});
afterEach(() => db.close());

const count = (sql: string, ...params: unknown[]) => (db.prepare(sql).get(...params) as { n: number }).n;
const snapshot = () =>
  ['cluster_blueprints', 'clusters', 'cluster_agents', 'cluster_tasks', 'messages', 'projects'].map((t) => `${t}:${count(`SELECT count(*) AS n FROM ${t}`)}`).join(' ');

describe('blueprints', () => {
  it('save makes a revision only when the spec changes; get round-trips; delete is refused while used', () => {
    const first = svc.blueprints.save(example('software-team'));
    expect(first).toMatchObject({ id: 'software-team', revision: 1, changed: true });
    // Same spec, other formatting and comments: no new revision.
    expect(svc.blueprints.save('# reformatted\n' + svc.blueprints.get('software-team').canonical_yaml)).toMatchObject({ revision: 1, changed: false });
    const edited = example('software-team').replace('max_workers: 4', 'max_workers: 5');
    expect(svc.blueprints.save(edited)).toMatchObject({ revision: 2, changed: true });
    expect(svc.blueprints.get('software-team', 1).spec.cluster.max_workers).toBe(4);
    expect(svc.blueprints.get('software-team').yaml).toBe(edited);
    expect(svc.blueprints.list()).toEqual([expect.objectContaining({ id: 'software-team', revision: 2, revisions: 2 })]);
    expect(() => svc.blueprints.get('software-team', 7)).toThrow(/has no revision 7; its revisions are 1\.\.2/);
    expect(() => svc.blueprints.get('nope')).toThrow(/No blueprint "nope"\. Blueprints: software-team/);

    svc.create({ blueprint: 'software-team' });
    expect(() => svc.blueprints.delete('software-team')).toThrow(/used by cluster software-team; destroy it first/);
    svc.destroy('software-team');
    expect(svc.blueprints.delete('software-team')).toEqual({ id: 'software-team', revisions: 2 });
    // The destroyed cluster kept its own copy of the spec: it can still come back.
    expect(svc.restore('software-team').cluster.status).toBe('hibernated');
  });

  it('a bad blueprint is refused and nothing is stored', () => {
    const before = snapshot();
    expect(() => svc.blueprints.save(example('software-team').replace('parent: lead\n    name: Coder', 'parent: lead-x\n    name: Coder'))).toThrow(/agents\[3\]\.parent: unknown agent "lead-x"/);
    expect(snapshot()).toBe(before);
  });
});

describe('cluster lifecycle', () => {
  beforeEach(() => {
    svc.blueprints.save(example('software-team'));
    svc.blueprints.save(example('marketing-department'));
  });

  it('create goes planning -> spawning -> active with the blueprint agents and target workers', () => {
    const { cluster, agents } = svc.create({ blueprint: 'software-team', name: 'Web team' });
    expect(cluster).toMatchObject({ id: 'web-team', status: 'active', project: 'web-team', workers: { min: 1, max: 4, target: 2, live: 2 } });
    expect(agents.map((a) => a.id)).toEqual(['web-team/lead', 'web-team/reviewer', 'web-team/tester', 'web-team/coder-1', 'web-team/coder-2']);
    expect(agents.find((a) => a.id === 'web-team/coder-2')).toMatchObject({ role: 'worker', parent: 'web-team/lead', template: 'coder', state: 'idle' });
    expect(events.map((e) => e.type)).toEqual(['cluster.planning', 'cluster.spawning', 'cluster.active']);
    expect(svc.agent('web-team/coder-1').manifest).toMatch(/# Coder 1 \(web-team\/coder-1\)[\s\S]*Reports to: `web-team\/lead`[\s\S]*## Skills\n- TypeScript/);
    // A second cluster from the same blueprint without a name gets a free id.
    expect(svc.create({ blueprint: 'software-team', name: 'Web team' }).cluster.id).toBe('web-team-2');
  });

  it('the hierarchy tree follows the blueprint', () => {
    svc.create({ blueprint: 'marketing-department', id: 'mkt' });
    const tree = svc.tree('mkt');
    const shape = (n: ReturnType<typeof svc.tree>): unknown => ({ [n.id]: n.reports.map(shape) });
    expect(shape(tree)).toEqual({
      'mkt/supervisor': [
        { 'mkt/analyst': [] },
        { 'mkt/creator': [{ 'mkt/image-generator-1': [] }] },
        { 'mkt/publisher': [{ 'mkt/fb-publisher-1': [] }] },
      ],
    });
  });

  it('scale up and down keeps ids stable, respects min..max, drains a worker holding a task', () => {
    svc.create({ blueprint: 'software-team', id: 't' });
    expect(svc.scale('t', 4).change).toMatchObject({ from: 2, to: 4, started: ['t/coder-3', 't/coder-4'] });
    expect(() => svc.scale('t', 5)).toThrow(/runs 1\.\.4 workers; 5 is outside/);
    expect(() => svc.scale('t', 0)).toThrow(/runs 1\.\.4 workers; 0 is outside/);
    // coder-1 and coder-4 hold tasks; scaling to 1 retires idle coder-3 and coder-2 and drains coder-4.
    const now = toDbTime(clock);
    for (const holder of ['t/coder-1', 't/coder-4']) {
      db.prepare(
        "INSERT INTO cluster_tasks (cluster_id, kind, payload, priority, status, posted_by, claimed_by, lease_expires_at, attempts, max_attempts, created_at) VALUES ('t', 'k', '{}', 1, 'running', 'assistant', ?, ?, 1, 3, ?)",
      ).run(holder, now, now);
    }
    const down = svc.scale('t', 1).change;
    expect(down).toMatchObject({ from: 4, to: 1, retired: ['t/coder-3', 't/coder-2'], draining: ['t/coder-4'] });
    expect(svc.get('t').cluster.workers).toMatchObject({ target: 1 });
    const states = Object.fromEntries(svc.agents('t').map((a) => [a.id, `${a.state}${a.draining ? '+draining' : ''}`]));
    expect(states).toMatchObject({ 't/coder-1': 'idle', 't/coder-2': 'retired', 't/coder-3': 'retired', 't/coder-4': 'idle+draining' });
    // Up again: the draining worker is asked back first, then the lowest retired replica.
    expect(svc.scale('t', 3).change).toMatchObject({ from: 1, to: 3, started: ['t/coder-4', 't/coder-2'] });
    expect(events.filter((e) => e.type === 'cluster.scaled').map((e) => e.message)).toEqual([
      'cluster t: workers 2 -> 4 (asked for)',
      'cluster t: workers 4 -> 1 (asked for)',
      'cluster t: workers 1 -> 3 (asked for)',
    ]);
  });

  it('hibernate, reactivate, destroy, restore; illegal transitions say what is allowed', () => {
    svc.create({ blueprint: 'software-team', id: 't' });
    const now = toDbTime(clock);
    db.prepare(
      "INSERT INTO cluster_tasks (cluster_id, kind, payload, priority, status, posted_by, claimed_by, lease_expires_at, attempts, max_attempts, created_at) VALUES ('t', 'k', '{}', 1, 'running', 'assistant', 't/coder-1', ?, 1, 3, ?)",
    ).run(now, now);
    expect(svc.hibernate('t')).toMatchObject({ cluster: { status: 'hibernated', workers: { live: 0, target: 2 } }, requeued: 1 });
    expect(db.prepare('SELECT status, claimed_by, attempts FROM cluster_tasks').get()).toEqual({ status: 'queued', claimed_by: null, attempts: 0 });
    expect(() => svc.scale('t', 3)).toThrow('Cannot scale cluster "t": it is hibernated; from hibernated you can: update, reactivate, destroy, export.');
    expect(() => svc.hibernate('t')).toThrow(/Cannot hibernate cluster "t": it is hibernated/);
    expect(() => svc.update('t', { max: 3 })).toThrow(/Cannot scale cluster "t": it is hibernated/);
    expect(svc.update('t', { description: 'asleep' }).cluster.description).toBe('asleep');

    const woken = svc.reactivate('t');
    expect(woken.cluster).toMatchObject({ status: 'active', workers: { live: 2 } });
    expect(woken.agents.filter((a) => a.role === 'worker' && a.state !== 'retired').map((a) => a.id)).toEqual(['t/coder-1', 't/coder-2']);

    const gone = svc.destroy('t');
    expect(gone.cluster).toMatchObject({ status: 'destroyed', agents: { idle: 0, busy: 0 } });
    expect(gone.restorable_until).toBe('2027-01-05T10:00:00.000Z');
    expect(svc.list().map((c) => c.id)).toEqual([]);
    expect(svc.list({ status: 'destroyed' }).map((c) => c.id)).toEqual(['t']);
    expect(() => svc.reactivate('t')).toThrow('Cannot reactivate cluster "t": it is destroyed; from destroyed you can: restore.');
    expect(() => svc.tree('t')).toThrow(/restore it first/);

    const back = svc.restore('t');
    expect(back.cluster).toMatchObject({ status: 'hibernated', workers: { live: 0 } });
    expect(svc.reactivate('t').cluster.status).toBe('active');
    expect(events.map((e) => e.type)).toEqual([
      'cluster.planning',
      'cluster.spawning',
      'cluster.active',
      'cluster.hibernated',
      'cluster.updated',
      'cluster.active',
      'cluster.destroyed',
      'cluster.hibernated',
      'cluster.active',
    ]);

    // Past the retention period, the destroyed cluster and everything it owned go for good.
    svc.destroy('t');
    expect(svc.purgeDestroyed()).toBe(0);
    clock += 31 * 86_400_000;
    expect(svc.purgeDestroyed()).toBe(1);
    expect(count('SELECT count(*) AS n FROM cluster_agents')).toBe(0);
    expect(count('SELECT count(*) AS n FROM cluster_tasks')).toBe(0);
  });

  it('bad input changes nothing', () => {
    svc.create({ blueprint: 'software-team', id: 't' });
    const before = snapshot();
    const eventsBefore = events.length;
    expect(() => svc.create({ blueprint: 'nope' })).toThrow(/No blueprint "nope"/);
    expect(() => svc.create({ blueprint: 'software-team', id: 't' })).toThrow(/A cluster "t" exists already/);
    expect(() => svc.create({ blueprint: 'software-team', target: 9 })).toThrow(/"target" 9 is outside the blueprint's 1\.\.4 workers/);
    expect(() => svc.create({ blueprint: 'software-team', id: 'Bad Id' })).toThrow(/not a valid cluster id/);
    expect(() => svc.update('t', { min: 3, max: 2 })).toThrow(/"min" 3 is more than "max" 2/);
    expect(() => svc.update('t', { target: 7 })).toThrow(/"target" 7 is outside 1\.\.4/);
    expect(() => svc.get('missing')).toThrow(/No cluster "missing"\. Clusters: t\./);
    expect(() => svc.agent('t/ghost')).toThrow(/Cluster "t" has no agent "t\/ghost"\. Its agents: t\/lead/);
    expect(() => svc.agent('no-slash')).toThrow(/not an agent id/);
    expect(snapshot()).toBe(before);
    expect(events.length).toBe(eventsBefore);
  });

  it('a create that fails halfway leaves nothing behind', () => {
    const before = snapshot();
    // A project name that the projects table refuses makes the create fail after the cluster row
    // and some agents were written inside the transaction.
    db.exec("CREATE TRIGGER refuse_agents BEFORE INSERT ON cluster_agents WHEN new.agent = 'coder-2' BEGIN SELECT RAISE(ABORT, 'disk full'); END");
    expect(() => svc.create({ blueprint: 'software-team', id: 'half' })).toThrow(/disk full/);
    expect(snapshot()).toBe(before);
    expect(events).toEqual([]);
  });
});
