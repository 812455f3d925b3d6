// Messages between cluster agents on a temp database: direct, role and broadcast sends (one row per
// delivery, one transaction per send), the inbox order and its keyset paging, acknowledgement by the
// recipient only, history between two agents, retention, and bad input that changes nothing.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../src/core/db.js';
import { silentLogger } from '../src/core/logger.js';
import { createMetrics, type Metrics } from '../src/core/metrics.js';
import { createClusterService, type ClusterService } from '../src/clusters/service.js';
import { ROOT, tempDir } from './helpers/brain.js';

const example = (name: string) => fs.readFileSync(path.join(ROOT, 'blueprints', `${name}.yaml`), 'utf8');

let db: Db;
let svc: ClusterService;
let metrics: Metrics;
let clock: number;

beforeEach(() => {
  db = openDatabase(path.join(tempDir(), 'brain.db'));
  clock = Date.parse('2026-12-06T10:00:00Z');
  metrics = createMetrics();
  svc = createClusterService({
    db,
    logger: silentLogger(),
    metrics,
    recordEvent: () => {},
    ensureProject: (name) => void db.prepare("INSERT OR IGNORE INTO projects (name, created_at, updated_at) VALUES (?, datetime('now'), datetime('now'))").run(name),
    retentionDays: 30,
    messageRetentionHours: 24,
    toolNames: () => [],
    now: () => clock,
  });
  svc.blueprints.save(example('software-team'));
  svc.blueprints.save(example('marketing-department'));
  // t: lead, reviewer, tester, coder-1..3; other: a second team.
  svc.create({ blueprint: 'software-team', id: 't', target: 3 });
  svc.create({ blueprint: 'software-team', id: 'other' });
});
afterEach(() => db.close());

const mail = () => svc.messages;
const count = (sql: string, ...params: unknown[]) => (db.prepare(sql).get(...params) as { n: number }).n;
const tables = () => ['messages', 'cluster_agents', 'clusters'].map((t) => `${t}:${count(`SELECT count(*) AS n FROM ${t}`)}`).join(' ') + ` acked:${count('SELECT count(*) AS n FROM messages WHERE acknowledged_at IS NOT NULL')}`;
const plan = (sql: string, params: Record<string, unknown>) =>
  (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]).map((r) => r.detail).join('; ');
const delivered = async (audience: string) => (await metrics.registry.getSingleMetric('brain_cluster_messages_total')!.get()).values.find((v) => v.labels.audience === audience)?.value ?? 0;

describe('send', () => {
  it('direct: one delivery the recipient sees, with its priority, context and send id', async () => {
    const sent = mail().send({ from: 't/lead', to: 't/coder-1', subject: 'Start on #12', body: 'Tests first.', context: { issue: 12, files: ['a.ts'] }, priority: 'high' });
    expect(sent).toEqual({ id: expect.any(Number), to: ['t/coder-1'], audience: 'direct' });
    const inbox = mail().inbox('t/coder-1');
    expect(inbox).toEqual({
      pending: 1,
      messages: [{ id: sent.id, from: 't/lead', priority: 'high', subject: 'Start on #12', body: 'Tests first.', context: { issue: 12, files: ['a.ts'] }, created_at: '2026-12-06T10:00:00.000Z' }],
    });
    expect(mail().inbox('t/coder-2')).toEqual({ pending: 0, messages: [] });
    expect(db.prepare('SELECT send_id, audience FROM messages').get()).toEqual({ send_id: sent.id, audience: 'direct' });
    expect(await delivered('direct')).toBe(1);
    // The sender was seen acting.
    expect(svc.agent('t/lead').last_seen_at).toBe('2026-12-06T10:00:00.000Z');
  });

  it('to a role or a blueprint agent: every live match but the sender', async () => {
    const workers = mail().send({ from: 't/lead', toRole: 'worker', subject: 'Standup' });
    expect(workers).toMatchObject({ to: ['t/coder-1', 't/coder-2', 't/coder-3'], audience: 'role:worker' });
    const coders = mail().send({ from: 't/coder-2', toRole: 'coder', subject: 'Who has the parser?' });
    expect(coders.to).toEqual(['t/coder-1', 't/coder-3']);
    const specialists = mail().send({ from: 't/coder-2', toRole: 'specialist', subject: 'Review please' });
    expect(specialists.to).toEqual(['t/reviewer', 't/tester']);
    // Scaled-down workers are retired and get nothing.
    svc.scale('t', 1);
    expect(mail().send({ from: 't/lead', toRole: 'coder', subject: 'Only one now' }).to).toEqual(['t/coder-1']);
    const rows = db.prepare("SELECT send_id, to_agent FROM messages WHERE audience = 'role:worker' ORDER BY id").all() as { send_id: number; to_agent: string }[];
    expect(new Set(rows.map((r) => r.send_id))).toEqual(new Set([workers.id]));
    expect(await delivered('role')).toBe(3 + 2 + 2 + 1);
  });

  it('broadcast: one delivery to every live agent of the cluster but the sender', async () => {
    svc.scale('t', 2);
    const sent = mail().send({ from: 't/tester', broadcast: true, subject: 'Suite is red', priority: 'critical' });
    expect(sent.to).toEqual(['t/coder-1', 't/coder-2', 't/lead', 't/reviewer']);
    for (const agent of sent.to) expect(mail().inbox(agent).messages).toEqual([expect.objectContaining({ from: 't/tester', audience: 'broadcast', priority: 'critical' })]);
    expect(mail().inbox('t/tester').pending).toBe(0);
    expect(mail().inbox('t/coder-3').pending).toBe(0);
    expect(count("SELECT count(*) AS n FROM messages WHERE to_agent LIKE 'other/%'")).toBe(0);
    expect(await delivered('broadcast')).toBe(4);
  });

  it('a hibernated cluster still carries messages between its remaining agents; a destroyed one refuses', () => {
    svc.hibernate('t');
    expect(mail().send({ from: 't/lead', broadcast: true, subject: 'Paused' }).to).toEqual(['t/reviewer', 't/tester']);
    expect(() => mail().send({ from: 't/lead', to: 't/coder-1', subject: 'x' })).toThrow('Agent t/coder-1 is retired and reads no messages; live agents: t/reviewer, t/tester.');
    expect(() => mail().send({ from: 't/coder-1', to: 't/lead', subject: 'x' })).toThrow(/Agent "t\/coder-1" is retired/);
    svc.destroy('t');
    const before = tables();
    expect(() => mail().send({ from: 't/lead', to: 't/reviewer', subject: 'x' })).toThrow('Cluster "t" is destroyed; restore it (cluster {action: "restore"}) before its agents message each other.');
    expect(tables()).toBe(before);
    // Pending messages survive destroy and restore.
    svc.restore('t');
    expect(mail().inbox('t/reviewer').pending).toBe(1);
  });

  it('bad sends are refused with what to change, and store nothing', () => {
    const before = tables();
    const bad: [Parameters<ClusterService['messages']['send']>[0], RegExp | string][] = [
      [{ from: 't/ghost', to: 't/lead', subject: 'x' }, /Cluster "t" has no agent "t\/ghost"\. Its agents: t\/lead/],
      [{ from: 'nobody', to: 't/lead', subject: 'x' }, /"nobody" is not an agent id/],
      [{ from: 't/lead', to: 'other/coder-1', subject: 'x' }, '"to" other/coder-1 is in cluster "other", not "t": agents message their own team only.'],
      [{ from: 't/lead', to: 't/lead', subject: 'x' }, /"to" is you/],
      [{ from: 't/lead', subject: 'x' }, 'Give exactly one of "to" (an agent id), "to_role" (a role or blueprint agent) or "broadcast": true.'],
      [{ from: 't/lead', to: 't/tester', broadcast: true, subject: 'x' }, /exactly one of/],
      [{ from: 't/lead', toRole: 'designer', subject: 'x' }, '"to_role" "designer" is neither a role (supervisor, lead, specialist, worker) nor a blueprint agent of cluster "t" (lead, reviewer, tester, coder).'],
      [{ from: 't/lead', toRole: 'supervisor', subject: 'x' }, /No live agent of cluster "t" besides you matches "to_role" "supervisor"/],
      [{ from: 't/lead', toRole: 'lead', subject: 'x' }, /matches "to_role" "lead"/],
      [{ from: 't/lead', to: 't/tester', subject: '   ' }, /"subject" is empty/],
      [{ from: 't/lead', to: 't/tester', subject: 's'.repeat(201) }, /"subject" has 201 characters; keep it to 200/],
      [{ from: 't/lead', to: 't/tester', subject: 'x', body: 'é'.repeat(8193) }, /"body" is 16386 bytes; the limit is 16384/],
      [{ from: 't/lead', to: 't/tester', subject: 'x', context: { blob: 'x'.repeat(16_400) } }, /"context" is 16411 bytes of JSON; the limit is 16384/],
    ];
    for (const [input, error] of bad) expect(() => mail().send(input)).toThrow(error);
    expect(tables()).toBe(before);
  });

  it('a send is one transaction: a failure on a later delivery leaves none', () => {
    db.exec("CREATE TRIGGER refuse BEFORE INSERT ON messages WHEN new.to_agent = 't/coder-2' BEGIN SELECT RAISE(ABORT, 'disk full'); END");
    expect(() => mail().send({ from: 't/lead', broadcast: true, subject: 'x' })).toThrow(/disk full/);
    expect(count('SELECT count(*) AS n FROM messages')).toBe(0);
  });
});

describe('inbox', () => {
  /** Sends from the lead to coder-1 with these priorities, one second apart; returns their ids. */
  function sendAll(priorities: ('low' | 'normal' | 'high' | 'critical')[]): number[] {
    return priorities.map((priority, i) => {
      clock += 1000;
      return mail().send({ from: 't/lead', to: 't/coder-1', subject: `m${i}`, priority }).id;
    });
  }
  /** Every page of a listing, following next_cursor. */
  function pages(opts: { include?: 'pending' | 'all'; limit: number }, between?: (page: number) => void): number[][] {
    const out: number[][] = [];
    let cursor: string | undefined;
    do {
      const page = mail().inbox('t/coder-1', { ...opts, cursor });
      out.push(page.messages.map((m) => m.id));
      between?.(out.length);
      cursor = page.next_cursor;
    } while (cursor && out.length < 100);
    return out;
  }

  it('pending first by priority, then oldest first; pages never repeat or skip', () => {
    const [a, b, c, d, e, f] = sendAll(['normal', 'high', 'low', 'high', 'critical', 'normal']);
    expect(mail().inbox('t/coder-1').messages.map((m) => m.id)).toEqual([e, b, d, a, f, c]);
    expect(pages({ limit: 2 })).toEqual([[e, b], [d, a], [f, c]]);
    expect(pages({ limit: 4 })).toEqual([[e, b, d, a], [f, c]]);
    // Pages of exactly the remaining size end without a cursor.
    expect(pages({ limit: 6 })).toEqual([[e, b, d, a, f, c]]);
  });

  it('acknowledging and new messages while paging neither repeat nor skip', () => {
    const [a, b, c, d, e, f] = sendAll(['normal', 'high', 'low', 'high', 'critical', 'normal']);
    let late: number[] = [];
    const seen = pages({ limit: 2 }, (page) => {
      if (page === 1) {
        // The agent handles the first page, and two more messages arrive: one that sorts before the
        // cursor (shown on the next fresh read) and one after it (shown on a later page).
        mail().ack('t/coder-1', [e, b]);
        late = sendAll(['critical', 'low']);
      }
    });
    expect(seen).toEqual([[e, b], [d, a], [f, c], [late[1]]]);
    expect(mail().inbox('t/coder-1', { limit: 1 }).messages[0].id).toBe(late[0]);
  });

  it('include "all": pending first, then acknowledged newest first; acknowledging while paging lists nothing twice', () => {
    const [a, b, c, d] = sendAll(['normal', 'normal', 'normal', 'normal']);
    clock += 1000;
    mail().ack('t/coder-1', [a, b]);
    clock += 5000;
    expect(pages({ include: 'all', limit: 10 })).toEqual([[c, d, b, a]]);
    const seen = pages({ include: 'all', limit: 1 }, (page) => {
      clock += 100;
      if (page === 1) mail().ack('t/coder-1', [c]);
    });
    expect(seen.flat()).toEqual([c, d, b, a]);
    // Once the listing's margin has passed, c counts among the acknowledged ones.
    clock += 2000;
    const listed = mail().inbox('t/coder-1', { include: 'all' }).messages;
    expect(listed.map((m) => [m.id, m.acknowledged_at !== undefined])).toEqual([[d, false], [c, true], [b, true], [a, true]]);
    expect(pages({ include: 'all', limit: 2 })).toEqual([[d, c], [b, a]]);
    expect(pages({ include: 'all', limit: 3 })).toEqual([[d, c, b], [a]]);
  });

  it('cursors: refused across modes or when mangled; limit 1..50', () => {
    sendAll(['normal', 'normal', 'normal']);
    const pendingCursor = mail().inbox('t/coder-1', { limit: 1 }).next_cursor!;
    const allCursor = mail().inbox('t/coder-1', { limit: 1, include: 'all' }).next_cursor!;
    expect(() => mail().inbox('t/coder-1', { cursor: pendingCursor, include: 'all' })).toThrow(/"cursor" is not valid for this inbox/);
    expect(() => mail().inbox('t/coder-1', { cursor: allCursor })).toThrow(/"cursor" is not valid for this inbox/);
    expect(() => mail().inbox('t/coder-1', { cursor: 'garbage!' })).toThrow(/"cursor" is not valid/);
    expect(() => mail().history('t/coder-1', 't/lead', { cursor: pendingCursor })).toThrow(/"cursor" is not valid for this history/);
    sendAll(Array(60).fill('low'));
    expect(mail().inbox('t/coder-1', { limit: 500 }).messages).toHaveLength(50);
    expect(mail().inbox('t/coder-1').messages).toHaveLength(10);
  });

  it('uses the pending index; a retired agent can still read and acknowledge what it was sent', () => {
    const [a] = sendAll(['normal']);
    const sql = `SELECT * FROM messages WHERE to_agent = @agent AND acknowledged_at IS NULL AND (@p IS NULL OR priority < @p OR (priority = @p AND id > @id)) ORDER BY priority DESC, id LIMIT 5`;
    expect(plan(sql, { agent: 't/coder-1', p: null, id: 0 })).toMatch(/USING (COVERING )?INDEX messages_pending/);
    expect(plan(sql, { agent: 't/coder-1', p: null, id: 0 })).not.toMatch(/TEMP B-TREE/);
    mail().send({ from: 't/lead', to: 't/coder-2', subject: 'before retiring' });
    svc.scale('t', 1);
    expect(svc.agent('t/coder-2').state).toBe('retired');
    expect(mail().inbox('t/coder-2').pending).toBe(1);
    expect(mail().ack('t/coder-2', [mail().inbox('t/coder-2').messages[0].id]).acknowledged).toHaveLength(1);
    expect(mail().inbox('t/coder-1').messages.map((m) => m.id)).toEqual([a]);
  });
});

describe('ack', () => {
  it('only the recipient; idempotent, keeping the first time; all or nothing', () => {
    const one = mail().send({ from: 't/lead', to: 't/coder-1', subject: 'one' }).id;
    const two = mail().send({ from: 't/lead', to: 't/coder-1', subject: 'two' }).id;
    const theirs = mail().send({ from: 't/lead', to: 't/coder-2', subject: 'theirs' }).id;
    const before = tables();
    expect(() => mail().ack('t/coder-1', [one, theirs])).toThrow(`Message ${theirs} was sent to t/coder-2, not to t/coder-1: only its recipient can acknowledge it.`);
    expect(() => mail().ack('t/coder-1', [one, 9999])).toThrow('No message 9999 (acknowledged messages are removed after 24 h); pass ids from t/coder-1\'s inbox.');
    expect(() => mail().ack('t/coder-1', [])).toThrow(/"ids" is empty/);
    expect(() => mail().ack('t/coder-1', Array.from({ length: 101 }, (_, i) => i + 1))).toThrow(/at most 100 per call/);
    expect(() => mail().ack('t/nobody', [one])).toThrow(/has no agent "t\/nobody"/);
    expect(tables()).toBe(before);

    expect(mail().ack('t/coder-1', [one])).toEqual({ acknowledged: [one], already: [] });
    const at = (db.prepare('SELECT acknowledged_at FROM messages WHERE id = ?').get(one) as { acknowledged_at: string }).acknowledged_at;
    clock += 60_000;
    expect(mail().ack('t/coder-1', [one, two, one])).toEqual({ acknowledged: [two], already: [one] });
    expect((db.prepare('SELECT acknowledged_at FROM messages WHERE id = ?').get(one) as { acknowledged_at: string }).acknowledged_at).toBe(at);
    expect(mail().inbox('t/coder-1')).toEqual({ pending: 0, messages: [] });
    // A broadcast is acknowledged per recipient.
    const b = mail().send({ from: 't/lead', broadcast: true, subject: 'all' });
    const coder1 = mail().inbox('t/coder-1').messages[0].id;
    mail().ack('t/coder-1', [coder1]);
    expect(mail().inbox('t/coder-2').messages.map((m) => m.subject)).toEqual(['theirs', 'all']);
    expect(b.to).toHaveLength(5);
  });
});

describe('history', () => {
  it('both directions, oldest first, paged; other clusters and yourself refused', () => {
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) {
      clock += 1000;
      ids.push(mail().send({ from: i % 2 ? 't/reviewer' : 't/lead', to: i % 2 ? 't/lead' : 't/reviewer', subject: `turn ${i}` }).id);
    }
    mail().send({ from: 't/lead', to: 't/tester', subject: 'not in this pair' });
    ids.push(mail().send({ from: 't/reviewer', broadcast: true, subject: 'to everyone' }).id);
    const first = mail().history('t/lead', 't/reviewer', { limit: 4 });
    expect(first.messages.map((m) => [m.from, m.to, m.subject])).toEqual([
      ['t/lead', 't/reviewer', 'turn 0'],
      ['t/reviewer', 't/lead', 'turn 1'],
      ['t/lead', 't/reviewer', 'turn 2'],
      ['t/reviewer', 't/lead', 'turn 3'],
    ]);
    const rest = mail().history('t/lead', 't/reviewer', { limit: 4, cursor: first.next_cursor });
    expect(rest.messages.map((m) => m.subject)).toEqual(['turn 4', 'to everyone']);
    expect(rest.next_cursor).toBeUndefined();
    // The same conversation seen from the other side.
    expect(mail().history('t/reviewer', 't/lead', { limit: 50 }).messages.map((m) => m.id)).toEqual([...first.messages, ...rest.messages].map((m) => m.id));
    expect(() => mail().history('t/lead', 'other/lead')).toThrow('"with" other/lead is in cluster "other", not "t": history is between agents of one cluster.');
    expect(() => mail().history('t/lead', 't/lead')).toThrow(/"with" is you/);
    const sql = 'SELECT * FROM messages WHERE from_agent = @a AND to_agent = @b AND id > @after UNION ALL SELECT * FROM messages WHERE from_agent = @b AND to_agent = @a AND id > @after ORDER BY id LIMIT 5';
    expect(plan(sql, { a: 't/lead', b: 't/reviewer', after: 0 })).toMatch(/INDEX messages_pair/);
  });
});

describe('retention', () => {
  it('acknowledged messages older than the retention go; pending ones never do', () => {
    const old = mail().send({ from: 't/lead', to: 't/coder-1', subject: 'old, handled' }).id;
    const forgotten = mail().send({ from: 't/lead', to: 't/coder-1', subject: 'old, never read' }).id;
    mail().ack('t/coder-1', [old]);
    clock += 23 * 3_600_000;
    expect(svc.purgeMessages()).toBe(0);
    const recent = mail().send({ from: 't/lead', to: 't/coder-1', subject: 'recent' }).id;
    mail().ack('t/coder-1', [recent]);
    clock += 2 * 3_600_000;
    expect(svc.purgeMessages()).toBe(1);
    clock += 365 * 86_400_000;
    expect(svc.purgeMessages()).toBe(1);
    expect((db.prepare('SELECT id FROM messages').all() as { id: number }[]).map((r) => r.id)).toEqual([forgotten]);
    expect(plan('DELETE FROM messages WHERE acknowledged_at IS NOT NULL AND acknowledged_at < @before', { before: '2027' })).toMatch(/INDEX messages_acknowledged/);
  });
});
