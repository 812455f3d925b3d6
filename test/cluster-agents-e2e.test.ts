// Agents of one cluster working through two real brain processes over stdio on one database file:
// messages sent in one process are read and acknowledged (once) in the other, a broadcast reaches
// every agent, history is complete; what one agent remembers and writes as a note, following its
// exported subagent instructions, another agent in the other process recalls and finds; then 4
// workers in 2 processes drain 500 tasks while one of the processes is killed with SIGKILL holding
// a lease, and every task is done exactly once.
import fs from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { openDatabase } from '../src/core/db.js';
import { silentLogger } from '../src/core/logger.js';
import { createMetrics } from '../src/core/metrics.js';
import { createClusterService } from '../src/clusters/service.js';
import { brainEnv, call, callError, ROOT, startBrain, tempDir, type Connected } from './helpers/brain.js';

let env: Record<string, string>;
let brains: Connected[] = [];

/** The software team as cluster "web" with 4 coders, made on the file before the processes start. */
function makeCluster(dbPath: string) {
  const db = openDatabase(dbPath);
  try {
    const svc = createClusterService({
      db,
      logger: silentLogger(),
      metrics: createMetrics(),
      recordEvent: () => {},
      ensureProject: (name) => void db.prepare("INSERT OR IGNORE INTO projects (name, created_at, updated_at) VALUES (?, datetime('now'), datetime('now'))").run(name),
      retentionDays: 30,
      messageRetentionHours: 24,
      toolNames: () => [],
    });
    svc.blueprints.save(fs.readFileSync(path.join(ROOT, 'blueprints', 'software-team.yaml'), 'utf8'));
    svc.create({ blueprint: 'software-team', id: 'web', target: 4 });
  } finally {
    db.close();
  }
}

beforeEach(async () => {
  env = brainEnv(tempDir());
  makeCluster(env.BRAIN_DB_PATH);
  brains = [await startBrain(env), await startBrain(env)];
});
afterEach(async () => {
  for (const b of brains) await b.close().catch(() => {});
  brains = [];
});

interface Msg {
  id: number;
  from: string;
  to?: string;
  subject: string;
  audience?: string;
  priority: string;
  context?: unknown;
  acknowledged_at?: string;
}
interface Inbox {
  messages: Msg[];
  pending: number;
  next_cursor?: string;
}
interface Task {
  id: number;
  status: string;
  attempts: number;
  claimed_by?: string;
  payload?: { n: number };
  result?: { by: string; n: number };
}
const message = <T = Record<string, unknown>>(c: Client, args: Record<string, unknown>) => call<T>(c, 'message', args);
const task = <T = Record<string, unknown>>(c: Client, args: Record<string, unknown>) => call<T>(c, 'task', args);

describe('cluster agents in two processes', () => {
  it('messages: sent in one process, read and acknowledged once in the other; broadcast reaches everyone; history', async () => {
    const [one, two] = brains.map((b) => b.client);
    const sent = await message<{ id: number; to: string[] }>(one, {
      action: 'send',
      agent: 'web/lead',
      to: 'web/reviewer',
      subject: 'Review the parser change',
      body: 'Branch parser-fix, two files.',
      context: { pr: 42, files: ['src/parse.ts', 'test/parse.test.ts'] },
      priority: 'high',
    });
    expect(sent.to).toEqual(['web/reviewer']);
    const inbox = await message<Inbox>(two, { action: 'inbox', agent: 'web/reviewer' });
    expect(inbox.pending).toBe(1);
    expect(inbox.messages).toEqual([
      expect.objectContaining({ id: sent.id, from: 'web/lead', subject: 'Review the parser change', priority: 'high', context: { pr: 42, files: ['src/parse.ts', 'test/parse.test.ts'] } }),
    ]);
    // Only the recipient acknowledges; the refused call changes nothing.
    expect(await callError(one, 'message', { action: 'ack', agent: 'web/coder-1', ids: [sent.id] })).toBe(
      `Message ${sent.id} was sent to web/reviewer, not to web/coder-1: only its recipient can acknowledge it.`,
    );
    // Both processes acknowledge at the same moment: exactly one of them does it.
    const acks = await Promise.all([one, two].map((c) => message<{ acknowledged: number[]; already: number[] }>(c, { action: 'ack', agent: 'web/reviewer', ids: [sent.id] })));
    expect(acks.map((a) => a.acknowledged.length).sort()).toEqual([0, 1]);
    expect(acks.flatMap((a) => a.already)).toEqual([sent.id]);
    for (const c of [one, two]) expect(await message<Inbox>(c, { action: 'inbox', agent: 'web/reviewer' })).toEqual({ messages: [], pending: 0 });
    const all = await message<Inbox>(one, { action: 'inbox', agent: 'web/reviewer', include: 'all' });
    expect(all.messages).toEqual([expect.objectContaining({ id: sent.id, acknowledged_at: expect.any(String) })]);

    const reply = await message<{ id: number }>(two, { action: 'send', agent: 'web/reviewer', to: 'web/lead', subject: 'Approved with one nit' });
    expect((await message<Inbox>(one, { action: 'inbox', agent: 'web/lead' })).messages.map((m) => m.id)).toEqual([reply.id]);

    // A broadcast: one delivery per live agent but the sender, each acknowledged on its own.
    const everyone = ['web/coder-1', 'web/coder-2', 'web/coder-3', 'web/coder-4', 'web/lead', 'web/reviewer'];
    const broadcast = await message<{ id: number; to: string[] }>(two, { action: 'send', agent: 'web/tester', broadcast: true, subject: 'Suite is green', priority: 'low' });
    expect(broadcast.to).toEqual(everyone);
    for (const [i, agent] of everyone.entries()) {
      const reader = i % 2 ? one : two;
      const box = await message<Inbox>(reader, { action: 'inbox', agent });
      const got = box.messages.filter((m) => m.audience === 'broadcast');
      expect(got, agent).toEqual([expect.objectContaining({ from: 'web/tester', subject: 'Suite is green', priority: 'low' })]);
      expect(await message(reader, { action: 'ack', agent, ids: [got[0].id] })).toEqual({ acknowledged: [got[0].id], already: [] });
      expect(await message(i % 2 ? two : one, { action: 'ack', agent, ids: [got[0].id] })).toEqual({ acknowledged: [], already: [got[0].id] });
    }
    expect((await message<Inbox>(one, { action: 'inbox', agent: 'web/tester' })).pending).toBe(0);

    // A role target: every coder replica.
    expect((await message<{ to: string[] }>(one, { action: 'send', agent: 'web/lead', to_role: 'coder', subject: 'Standup in 5' })).to).toEqual(everyone.slice(0, 4));

    // History between lead and reviewer, seen from either side and either process.
    for (const [c, agent, other] of [
      [one, 'web/lead', 'web/reviewer'],
      [two, 'web/reviewer', 'web/lead'],
    ] as const) {
      const history = await message<{ messages: Msg[] }>(c, { action: 'history', agent, with: other });
      expect(history.messages.map((m) => [m.from, m.to, m.subject])).toEqual([
        ['web/lead', 'web/reviewer', 'Review the parser change'],
        ['web/reviewer', 'web/lead', 'Approved with one nit'],
      ]);
    }
    // Errors that say what to change.
    expect(await callError(one, 'message', { action: 'send', agent: 'web/lead', subject: 'x' })).toMatch(/Give exactly one of "to"/);
    expect(await callError(one, 'message', { action: 'inbox', agent: 'web/lead', ids: [1] })).toBe('message inbox does not use "ids"; remove it (inbox takes "include", "cursor", "limit", "agent").');
    expect(await callError(one, 'message', { action: 'history', agent: 'web/lead' })).toBe('message history needs "with" (history takes "with", "cursor", "limit", "agent").');
    expect(await callError(two, 'task', { action: 'claim', agent: 'web/coder-1', kind: 'x' })).toMatch(/task claim does not use "kind"/);
    expect(await callError(two, 'task', { action: 'get', id: 1.5 })).toBe('"id" must be a whole number of at least 1.');
    expect(await callError(two, 'task', { action: 'list', cluster: 'web', limit: 500 })).toBe('"limit" must be a whole number from 1 to 100.');
    expect(await callError(two, 'message', { action: 'send', agent: 'web/lead', to_role: 'x'.repeat(300), subject: 'x' })).toBe(
      '"to_role" is 300 characters; ids, roles, labels and cursors are at most 200.',
    );
  });

  it('scope: what one agent remembers and notes in the project its subagent file names, an agent in the other process recalls and finds', async () => {
    const [one, two] = brains.map((b) => b.client);
    const out = path.join(tempDir(), 'agents');
    await call(one, 'cluster', { action: 'export', id: 'web', dir: out });

    /** What an agent's exported file tells it: its agent id, the project to pass, and the tools that take it. */
    function instructions(agent: string) {
      const text = fs.readFileSync(path.join(out, `web-${agent}.md`), 'utf8');
      const [, front, body] = /^---\n([\s\S]*?)\n---\n([\s\S]*)$/.exec(text)!;
      const tools = (yaml.load(front, { schema: yaml.CORE_SCHEMA }) as { tools: string }).tools.split(', ');
      const shared = body.split('\n').find((l) => l.startsWith('- Shared memory and notes:'))!;
      expect(shared, `web-${agent}.md says where shared memories and notes go`).toBeDefined();
      const scoped = [...shared.matchAll(/mcp__brain__(\w+)/g)].map((m) => m[1]);
      // Every tool the line names is one the agent has.
      for (const t of scoped) expect(tools).toContain(`mcp__brain__${t}`);
      return { id: /"agent": "([^"]+)"/.exec(body)![1], project: /"project": "([^"]+)"/.exec(shared)![1], scoped };
    }

    // The coder, in process one, stores a convention as a memory and a design as a note.
    const coder = instructions('coder-1');
    expect(coder).toMatchObject({ id: 'web/coder-1', project: 'web' });
    expect(coder.scoped).toEqual(expect.arrayContaining(['remember', 'note']));
    const remembered = await call<{ project: string }>(one, 'remember', {
      key: 'convention-user-errors',
      content: 'Errors shown to users are UserError with one sentence saying what to change; never a bare Error.',
      type: 'decision',
      project: coder.project,
    });
    expect(remembered.project).toBe('web');
    const noted = await call<{ project: string; path: string }>(one, 'note', { action: 'write', 
      title: 'Parser design',
      content: 'The parser reads tokens lazily from a cursor and backtracks at most one token.',
      project: coder.project,
    });
    expect(noted.project).toBe('web');
    expect(fs.existsSync(path.join(env.BRAIN_NOTES_PATH, 'web', noted.path))).toBe(true);

    // The reviewer, in process two, reads the same project from its own file and finds both.
    const reviewer = instructions('reviewer');
    expect(reviewer).toMatchObject({ id: 'web/reviewer', project: coder.project });
    expect(reviewer.scoped).toEqual(expect.arrayContaining(['recall', 'search']));
    const recalled = await call<{ results: { key: string; project: string }[] }>(two, 'recall', { query: 'user errors sentence', project: reviewer.project });
    expect(recalled.results.map((r) => [r.key, r.project])).toEqual([['convention-user-errors', 'web']]);
    const byKey = await call<{ results: { content: string }[] }>(two, 'recall', { key: 'convention-user-errors', project: reviewer.project });
    expect(byKey.results[0].content).toMatch(/^Errors shown to users are UserError/);
    const found = await call<{ results: { kind: string; title: string; project: string }[] }>(two, 'search', { query: 'parser tokens lazily', project: reviewer.project });
    expect(found.results.map((r) => [r.kind, r.title, r.project])).toEqual([['note', 'Parser design', 'web']]);
    const both = await call<{ results: { kind: string; title: string }[] }>(two, 'search', { query: 'UserError parser', project: reviewer.project });
    expect(both.results.map((r) => r.kind).sort()).toEqual(['memory', 'note']);

    // The project is what shares them: a search outside it (the session's own project) finds neither.
    expect((await call<{ results: unknown[] }>(two, 'search', { query: 'parser tokens lazily UserError' })).results).toEqual([]);
    expect((await call<{ results: unknown[] }>(two, 'recall', { query: 'user errors sentence' })).results).toEqual([]);
  });

  // About 9 s alone: 5 of them wait for the killed worker's lease to run out.
  it('4 workers in 2 processes drain 500 tasks, one process killed holding a lease: each task done once, none lost', { timeout: 90_000 }, async () => {
    const [one, two] = brains.map((b) => b.client);
    const TASKS = 500;
    for (let start = 0; start < TASKS; start += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, i) => task(i % 2 ? one : two, { action: 'post', cluster: 'web', kind: 'job', payload: { n: start + i } })));
    }
    expect((await task<{ counts: Record<string, number> }>(one, { action: 'list', cluster: 'web', limit: 1 })).counts).toEqual({ queued: TASKS, running: 0, succeeded: 0, dead: 0 });

    const completed: { id: number; by: string }[] = [];
    let held: { id: number; by: string } | undefined;
    let killed!: () => void;
    const victimHolds = new Promise<void>((resolve) => (killed = resolve));

    /** A worker: claim, complete, until nothing is queued or running. The victim stops holding a task. */
    async function worker(c: Client, agent: string, lease: number, holdAfter?: number) {
      for (;;) {
        const { task: t } = await task<{ task: Task | null }>(c, { action: 'claim', agent, lease_seconds: lease, wait_seconds: 1 });
        if (!t) {
          const { counts } = await task<{ counts: Record<string, number> }>(c, { action: 'list', cluster: 'web', limit: 1 });
          if (counts.queued + counts.running === 0) return;
          continue;
        }
        expect(t.claimed_by).toBe(agent);
        if (holdAfter !== undefined && completed.filter((d) => d.by === agent).length >= holdAfter) {
          held = { id: t.id, by: agent };
          killed();
          return;
        }
        const done = await task<{ task: Task }>(c, { action: 'complete', agent, id: t.id, result: { by: agent, n: t.payload!.n } });
        expect(done.task.status).toBe('succeeded');
        completed.push({ id: t.id, by: agent });
      }
    }

    // Process two's workers take 5-second leases, so what they held when it died comes back soon.
    const survivors = [worker(one, 'web/coder-1', 60), worker(one, 'web/coder-2', 60)];
    const doomed = [worker(two, 'web/coder-3', 5).catch(() => 'died'), worker(two, 'web/coder-4', 5, 20)];
    await victimHolds;
    process.kill(brains[1].transport.pid!, 'SIGKILL');
    await Promise.all([...survivors, ...doomed]);
    expect(held).toBeDefined();

    // Checked on the file itself, from a third connection.
    const db = openDatabase(env.BRAIN_DB_PATH);
    try {
      const rows = db.prepare('SELECT id, status, claimed_by, attempts, payload, result FROM cluster_tasks ORDER BY id').all() as {
        id: number;
        status: string;
        claimed_by: string;
        attempts: number;
        payload: string;
        result: string;
      }[];
      expect(rows).toHaveLength(TASKS);
      expect(rows.filter((r) => r.status !== 'succeeded')).toEqual([]);
      for (const r of rows) {
        const result = JSON.parse(r.result) as { by: string; n: number };
        expect(result).toEqual({ by: r.claimed_by, n: (JSON.parse(r.payload) as { n: number }).n });
      }
      // No task was completed twice: every successful complete names a different task.
      const ids = completed.map((d) => d.id);
      expect(new Set(ids).size).toBe(ids.length);
      // Only a complete in flight when process two died may have committed unseen.
      expect(ids.length).toBeGreaterThanOrEqual(TASKS - 1);
      // The task the killed worker held came back when its lease ran out and a survivor finished it.
      const orphan = rows.find((r) => r.id === held!.id)!;
      expect(orphan.attempts).toBe(2);
      expect(['web/coder-1', 'web/coder-2']).toContain(orphan.claimed_by);
      expect(completed.find((d) => d.id === held!.id)?.by).toBe(orphan.claimed_by);
      const perWorker = Object.fromEntries(['web/coder-1', 'web/coder-2', 'web/coder-3', 'web/coder-4'].map((w) => [w, completed.filter((d) => d.by === w).length]));
      expect(perWorker['web/coder-4']).toBe(20);
      expect(perWorker['web/coder-1'] + perWorker['web/coder-2']).toBeGreaterThan(0);
      // Every worker is idle again, the killed ones included.
      expect(db.prepare("SELECT id, state FROM cluster_agents WHERE role = 'worker' ORDER BY id").all()).toEqual(
        ['web/coder-1', 'web/coder-2', 'web/coder-3', 'web/coder-4'].map((id) => ({ id, state: 'idle' })),
      );
    } finally {
      db.close();
    }
  });
});
