// Cluster bench: what an agent of a cluster waits for on each message and task-board call over
// real stdio, beside the protocol floor (the no-op server, timed in blocks that alternate with
// brain's), with brain's own time per call from its request-duration histogram; then task-board
// throughput: workers in separate brain processes on one database file drain a queue with
// claim + complete loops, and the bench checks on the file that every task was completed once.
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import Database from 'better-sqlite3';
import {
  brainEnv,
  CLI,
  connectStdio,
  freePort,
  measuredOwnTime,
  ms,
  noopCall,
  ROOT,
  startFloor,
  summarize,
  table,
  tempDir,
  timeAlternating,
  type BenchContext,
  type BenchSection,
  type StdioPeer,
  type Summary,
} from './lib.js';

const CLUSTER = 'bench';
const LEAD = `${CLUSTER}/lead`;
const REVIEWER = `${CLUSTER}/reviewer`;
const WORKER = `${CLUSTER}/coder-1`;

/** Calls a tool and returns its structured result; a failed call stops the bench. */
async function call<T>(client: Client, name: string, args: Record<string, unknown>): Promise<T> {
  const r = await client.callTool({ name, arguments: args });
  if (r.isError) throw new Error(`${name} ${String(args.action)} failed during the bench: ${JSON.stringify(r.content).slice(0, 300)}`);
  return r.structuredContent as T;
}

interface TaskView {
  id: number;
}
interface Counts {
  counts: Record<'queued' | 'running' | 'succeeded' | 'dead', number>;
}

/** Reads the database file beside the processes (WAL: a reader never blocks them). */
function onFile<T>(dbPath: string, fn: (db: Database.Database) => T): T {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** Posts `n` tasks to a cluster with 16 calls in flight (the assistant as poster). */
async function postMany(client: Client, cluster: string, n: number, kind: string): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const i = next++;
      await call(client, 'task', { action: 'post', cluster, kind, payload: { n: i } });
    }
  };
  await Promise.all(Array.from({ length: 16 }, lane));
}

/** One of each call, `rounds` times, on agents the timed part does not use: both code paths warm. */
async function warmUp(client: Client, rounds: number): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    const sent = await call<{ id: number }>(client, 'message', { action: 'send', agent: `${CLUSTER}/tester`, to: `${CLUSTER}/coder-2`, subject: `warm-up ${i}` });
    await call(client, 'message', { action: 'inbox', agent: `${CLUSTER}/coder-2` });
    await call(client, 'message', { action: 'ack', agent: `${CLUSTER}/coder-2`, ids: [sent.id] });
    await call(client, 'task', { action: 'post', agent: LEAD, cluster: CLUSTER, kind: 'warm-up' });
    const { task } = await call<{ task: TaskView }>(client, 'task', { action: 'claim', agent: `${CLUSTER}/coder-2` });
    await call(client, 'task', { action: 'complete', agent: `${CLUSTER}/coder-2`, id: task.id });
  }
}

/**
 * A fresh brain process starts its sandbox pool in the background; one execution waits for that
 * (a host without a sandbox answers with an error, which is fine here), then a warm-up, so a drain
 * times the board and not a process starting.
 */
async function settle(client: Client): Promise<void> {
  await client.callTool({ name: 'execute', arguments: { code: 'print(1)' } }, undefined, { timeout: 120_000 }).catch(() => undefined);
  await warmUp(client, 100);
}

interface Row {
  what: string;
  brain: Summary;
  floorBeside: number[];
  ownMs: number;
}

/** The six calls, each timed `n` times in blocks alternating with the floor. */
async function latency(brain: Client, floor: Client, port: number, dbPath: string, n: number): Promise<Row[]> {
  const rows: Row[] = [];
  const timed = async (what: string, tool: string, args: (i: number) => Record<string, unknown>) => {
    let parts: number[][] = [];
    const ownMs = await measuredOwnTime(port, tool, async () => {
      parts = await timeAlternating([{ client: brain, name: tool, args }, noopCall(floor)], n);
    });
    rows.push({ what, brain: summarize(parts[0]), floorBeside: parts[1], ownMs });
  };
  const context = { pr: 42, files: ['src/parse.ts', 'test/parse.test.ts'] };
  await timed('message send (to one agent, with context)', 'message', (i) => ({
    action: 'send',
    agent: LEAD,
    to: REVIEWER,
    subject: `Review change ${i}`,
    body: 'Branch parser-fix: two files, one new test.',
    context,
  }));
  await timed(`message inbox (first 10 of ${n} pending)`, 'message', () => ({ action: 'inbox', agent: REVIEWER }));
  const messageIds = onFile(dbPath, (db) => db.prepare('SELECT id FROM messages WHERE to_agent = ? AND acknowledged_at IS NULL ORDER BY id').pluck().all(REVIEWER) as number[]);
  if (messageIds.length !== n) throw new Error(`expected ${n} pending messages for ${REVIEWER}, found ${messageIds.length}`);
  await timed('message ack (one id)', 'message', (i) => ({ action: 'ack', agent: REVIEWER, ids: [messageIds[i]] }));
  const left = await call<{ pending: number }>(brain, 'message', { action: 'inbox', agent: REVIEWER });
  if (left.pending !== 0) throw new Error(`${left.pending} messages still pending after acknowledging all ${n}`);

  await timed('task post (JSON payload)', 'task', (i) => ({ action: 'post', agent: LEAD, cluster: CLUSTER, kind: 'implement', payload: { file: `src/part-${i}.ts`, n: i } }));
  await timed(`task claim (from ${n} queued)`, 'task', () => ({ action: 'claim', agent: WORKER }));
  const held = onFile(dbPath, (db) => db.prepare("SELECT id FROM cluster_tasks WHERE claimed_by = ? AND status = 'running' ORDER BY id").pluck().all(WORKER) as number[]);
  if (held.length !== n) throw new Error(`expected ${WORKER} to hold ${n} tasks, it holds ${held.length}`);
  await timed('task complete (with a result)', 'task', (i) => ({ action: 'complete', agent: WORKER, id: held[i], result: { files: [`src/part-${i}.ts`], tests: 'passed' } }));
  const { counts } = await call<Counts>(brain, 'task', { action: 'list', cluster: CLUSTER, status: 'succeeded', limit: 1 });
  if (counts.queued + counts.running !== 0) throw new Error(`tasks left on the board after the timed run: ${JSON.stringify(counts)}`);
  return rows;
}

/**
 * A worker: claim, complete, until nothing is queued or running on the cluster. Returns the ids it
 * completed and how long each claim + complete took.
 */
async function worker(client: Client, cluster: string, agent: string): Promise<{ done: number[]; took: number[] }> {
  const done: number[] = [];
  const took: number[] = [];
  for (;;) {
    const t = performance.now();
    const { task } = await call<{ task: TaskView | null }>(client, 'task', { action: 'claim', agent });
    if (task) {
      await call(client, 'task', { action: 'complete', agent, id: task.id, result: { by: agent } });
      took.push(performance.now() - t);
      done.push(task.id);
      continue;
    }
    const { counts } = await call<Counts>(client, 'task', { action: 'list', cluster, limit: 1 });
    if (counts.queued + counts.running === 0) return { done, took };
  }
}

interface Drain {
  label: string;
  tasks: number;
  seconds: number;
  /** Each claim + complete pair, ms. */
  pair: Summary;
}

/**
 * `processes` brain processes with `perProcess` workers each drain `n` tasks of a fresh cluster.
 * Throws unless every task was completed exactly once: each id once among the workers'
 * completions, and on the file every task succeeded on its first attempt by the worker that
 * says it did it.
 */
async function drain(env: Record<string, string>, setup: Client, id: string, processes: number, perProcess: number, n: number): Promise<Drain> {
  await call(setup, 'cluster', { action: 'create', blueprint: 'software-team', id, target: processes * perProcess });
  await postMany(setup, id, n, 'drain');
  const peers: StdioPeer[] = [];
  try {
    for (let p = 0; p < processes; p++) {
      const peer = await connectStdio(process.execPath, [CLI], env);
      peers.push(peer);
      await settle(peer.client);
    }
    const started = performance.now();
    const workers = await Promise.all(peers.flatMap((peer, p) => Array.from({ length: perProcess }, (_, w) => worker(peer.client, id, `${id}/coder-${p * perProcess + w + 1}`))));
    const seconds = (performance.now() - started) / 1000;
    const done = workers.map((w) => w.done);
    const ids = done.flat();
    if (ids.length !== n || new Set(ids).size !== n) throw new Error(`${id}: ${ids.length} completions of ${new Set(ids).size} distinct tasks; expected ${n} of ${n}`);
    const rows = onFile(env.BRAIN_DB_PATH, (db) => db.prepare('SELECT id, status, attempts, claimed_by, result FROM cluster_tasks WHERE cluster_id = ?').all(id)) as {
      id: number;
      status: string;
      attempts: number;
      claimed_by: string;
      result: string;
    }[];
    const doneBy = new Map(done.flatMap((list, k) => list.map((t) => [t, `${id}/coder-${k + 1}`] as const)));
    const wrong = rows.filter((r) => r.status !== 'succeeded' || r.attempts !== 1 || r.claimed_by !== doneBy.get(r.id) || (JSON.parse(r.result) as { by: string }).by !== r.claimed_by);
    if (rows.length !== n || wrong.length) throw new Error(`${id}: ${rows.length} tasks on the file, ${wrong.length} not completed once by their worker, e.g. ${JSON.stringify(wrong[0])}`);
    const workerCount = processes * perProcess;
    const label = processes === 1 ? `${workerCount} worker${workerCount > 1 ? 's' : ''} in 1 process` : `${workerCount} workers in ${processes} processes (${perProcess} each)`;
    return { label, tasks: n, seconds, pair: summarize(workers.flatMap((w) => w.took)) };
  } finally {
    for (const peer of peers) await peer.close();
  }
}

async function run(ctx: BenchContext): Promise<void> {
  const n = ctx.quick ? 200 : 1_000;
  const drainN = ctx.quick ? 500 : 2_000;
  const dir = tempDir('brain-bench-clusters-');
  // The auto-scaler is off so that a pass of it does not land inside the timed calls.
  const env = brainEnv(dir, { BRAIN_CLUSTER_SCALE_INTERVAL_SEC: '0' });
  try {
    const port = await freePort();
    const floor = await startFloor();
    const brain = await connectStdio(process.execPath, [CLI], { ...env, BRAIN_METRICS_PORT: String(port) });
    let rows: Row[];
    const drains: Drain[] = [];
    try {
      await call(brain.client, 'blueprint', { action: 'save', yaml: fs.readFileSync(path.join(ROOT, 'blueprints', 'software-team.yaml'), 'utf8') });
      await call(brain.client, 'cluster', { action: 'create', blueprint: 'software-team', id: CLUSTER, target: 2 });
      await settle(brain.client);
      await warmUp(brain.client, ctx.quick ? 100 : 300);
      rows = await latency(brain.client, floor.peer.client, port, env.BRAIN_DB_PATH, n);
      drains.push(await drain(env, brain.client, 'drain-1x1', 1, 1, drainN));
      // 4 workers in one process beside 4 in 2 and 4 processes: what the processes' write lock costs.
      drains.push(await drain(env, brain.client, 'drain-1x4', 1, 4, drainN));
      drains.push(await drain(env, brain.client, 'drain-2x2', 2, 2, drainN));
      drains.push(await drain(env, brain.client, 'drain-4x1', 4, 1, drainN));
    } finally {
      await brain.close();
      await floor.peer.close();
    }
    const floorAll = summarize(rows.flatMap((r) => r.floorBeside));
    table(
      `Cluster calls over real stdio, ms (client round trip; ${n} calls each, in blocks of 100 alternating with the floor)`,
      ['what', 'p50', 'p95', 'p99', 'floor p50 beside', 'p50 / floor', "brain's own (mean)"],
      [
        ['no-op MCP tool (protocol floor)', ms(floorAll.p50), ms(floorAll.p95), ms(floorAll.p99), '', '', ''],
        ...rows.map((r) => {
          const beside = summarize(r.floorBeside).p50;
          return [r.what, ms(r.brain.p50), ms(r.brain.p95), ms(r.brain.p99), ms(beside), `${(r.brain.p50 / beside).toFixed(2)}x`, ms(r.ownMs)];
        }),
      ],
    );
    table(
      `Task board throughput: claim + complete loops over stdio on one database file, ${drainN} tasks per run`,
      ['workers', 'tasks', 'seconds', 'tasks/s', 'claim+complete p50 ms', 'p95', 'p99'],
      drains.map((d) => [d.label, d.tasks, d.seconds.toFixed(2), (d.tasks / d.seconds).toFixed(0), ms(d.pair.p50), ms(d.pair.p95), ms(d.pair.p99)]),
    );
    console.log('checked on the file: every task completed exactly once, on its first attempt, by the worker that reported it');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const section: BenchSection = { name: 'clusters', run };
export default section;
