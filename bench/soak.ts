// Soak: an assistant's mixed traffic (memories, notes, search, events, code execution, a cluster's
// mail and task board) back to back for minutes, first over stdio against the built server, then
// through `brain serve` with sessions that come and go. Samples the server's resident memory, open
// file descriptors and child processes (sandboxes) while idle after a warm-up and again at the end,
// and flags growth: anonymous memory (RSS less the mapped database file) beyond a share of the warm
// baseline, descriptors or children above it, sandbox processes left behind (also after the server
// exits), failed calls.
// Knobs: SOAK_MINUTES (traffic per server, default 2; --quick 0.5), SOAK_LANES (calls in flight,
// default 4), SOAK_RSS_GROWTH_PCT (default 25).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { loadConfig } from '../src/core/config.js';
import { detectHost, isProblem } from '../src/execution/host.js';
import { socketClient, waitForSocket } from './daemon.js';
import { brainEnv, CLI, freePort, ms, ROOT, summarize, table, tempDir, type BenchContext, type BenchSection } from './lib.js';
import { describeChildren, sample, stillAlive, watchDescendants, type ProcSample } from './proc-stats.js';

const CLUSTER = 'soak';
const LEAD = `${CLUSTER}/lead`;
const sleep = (msec: number) => new Promise((r) => setTimeout(r, msec));

function knob(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}=${raw} is not a positive number`);
  return n;
}

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

const WORDS = 'deploy window release train rollback canary postgres migration index vacuum replica latency budget alert pager runbook terraform kubernetes ingress certificate rotation backlog sprint review parser tokenizer cache eviction retry jitter queue lease heartbeat'.split(' ');

/** Calls timed per label during the measured phase, and calls answered with an error. */
class Recorder {
  readonly times = new Map<string, number[]>();
  readonly errors = new Map<string, { n: number; first: string }>();
  measuring = false;
  calls = 0;

  async call(client: Client, label: string, name: string, args: Record<string, unknown>, expectError = false): Promise<Record<string, unknown> | undefined> {
    const t = performance.now();
    const r = await client.callTool({ name, arguments: args }, undefined, { timeout: 120_000 });
    const took = performance.now() - t;
    this.calls++;
    if (this.measuring) {
      const list = this.times.get(label) ?? [];
      list.push(took);
      this.times.set(label, list);
    }
    if (r.isError && !expectError) {
      const e = this.errors.get(label) ?? { n: 0, first: JSON.stringify(r.content).slice(0, 200) };
      e.n++;
      this.errors.set(label, e);
      return undefined;
    }
    return r.structuredContent as Record<string, unknown>;
  }
}

interface Lane {
  k: number;
  rand: () => number;
  /** Titles of this lane's notes with the hash of their last write (replace needs it). */
  notes: Map<string, string>;
  i: number;
}

type Op = (rec: Recorder, client: Client, lane: Lane) => Promise<void>;

const pick = <T>(lane: Lane, xs: readonly T[]): T => xs[Math.floor(lane.rand() * xs.length)];
const phrase = (lane: Lane, n: number) => Array.from({ length: n }, () => pick(lane, WORDS)).join(' ');
/** A bounded set of keys: memories are updated far more often than new ones appear, so the data stops growing after the warm-up. */
const memoryKey = (lane: Lane) => `soak-${Math.floor(lane.rand() * 400)}`;
const worker = (lane: Lane) => `${CLUSTER}/coder-${lane.k + 1}`;

const EXECUTIONS: { code: string; language?: 'bash'; timeout_ms?: number; weight: number }[] = [
  { code: 'print(1)', weight: 6 },
  { code: 'import numpy as np\nprint(float(np.linalg.norm(np.arange(10000.0))))', weight: 4 },
  { code: 'import os\nopen(f"out-{os.getpid() % 20}.txt", "w").write("x" * 4096)\nprint(len(os.listdir(".")))', weight: 3 },
  { code: 'ls | wc -l', language: 'bash', weight: 2 },
  { code: 'raise ValueError("a failing program")', weight: 2 },
  // Killed at its time limit: the sandbox and everything in it must go.
  { code: 'import time\ntime.sleep(30)', timeout_ms: 400, weight: 1 },
];

/**
 * One hour of a busy assistant, in calls (the weights): mostly recalls and searches, a write every
 * few reads, notes read more than written, a few executions, and a cluster's mail and board.
 */
const MIX: [number, Op][] = [
  [25, (r, c, l) => r.call(c, 'recall query', 'recall', { query: phrase(l, 2), limit: 5 }).then(() => undefined)],
  [8, (r, c, l) => r.call(c, 'recall key', 'recall', { key: memoryKey(l) }, true).then(() => undefined)],
  [10, (r, c, l) => r.call(c, 'search', 'search', { query: phrase(l, 2), limit: 8 }).then(() => undefined)],
  [12, (r, c, l) => r.call(c, 'remember', 'remember', { key: memoryKey(l), content: `${phrase(l, 12)} (lane ${l.k}, call ${l.i})`, tags: [pick(l, WORDS)] }).then(() => undefined)],
  [
    8,
    async (r, c, l) => {
      if (l.notes.size === 0) return;
      await r.call(c, 'note read', 'note', { action: 'read', title: pick(l, [...l.notes.keys()]) });
    },
  ],
  [
    5,
    async (r, c, l) => {
      const title = `Soak ${l.k} ${Math.floor(l.rand() * 30)}`;
      const base = l.notes.get(title);
      const content = `# ${title}\n\n${phrase(l, 60)}\n\nSee [[Soak ${l.k} ${Math.floor(l.rand() * 30)}]].\n`;
      const out = await r.call(c, 'note write', 'note', base ? { action: 'write', title, content, mode: 'replace', base_hash: base } : { action: 'write', title, content });
      if (out) l.notes.set(title, out.hash as string);
    },
  ],
  [3, (r, c, l) => r.call(c, 'events', 'events', l.rand() < 0.5 ? { limit: 20 } : { severity: ['warning', 'error'], stats: true }).then(() => undefined)],
  [
    8,
    async (r, c, l) => {
      const total = EXECUTIONS.reduce((a, e) => a + e.weight, 0);
      let x = l.rand() * total;
      const e = EXECUTIONS.find((v) => (x -= v.weight) < 0) ?? EXECUTIONS[0];
      await r.call(c, 'execute', 'execute', { code: e.code, ...(e.language ? { language: e.language } : {}), ...(e.timeout_ms ? { timeout_ms: e.timeout_ms } : {}) });
    },
  ],
  [5, (r, c, l) => r.call(c, 'message send', 'message', { action: 'send', agent: LEAD, to: worker(l), subject: phrase(l, 4), body: phrase(l, 20), context: { pr: l.i } }).then(() => undefined)],
  [
    5,
    async (r, c, l) => {
      const inbox = await r.call(c, 'message inbox', 'message', { action: 'inbox', agent: worker(l) });
      const ids = ((inbox?.messages ?? []) as { id: number }[]).map((m) => m.id);
      if (ids.length) await r.call(c, 'message ack', 'message', { action: 'ack', agent: worker(l), ids });
    },
  ],
  [4, (r, c, l) => r.call(c, 'task post', 'task', { action: 'post', agent: LEAD, cluster: CLUSTER, kind: 'implement', payload: { file: `src/part-${l.i}.ts` } }).then(() => undefined)],
  [
    4,
    async (r, c, l) => {
      const claimed = await r.call(c, 'task claim', 'task', { action: 'claim', agent: worker(l) });
      const task = claimed?.task as { id: number } | null | undefined;
      if (task) await r.call(c, 'task complete', 'task', { action: 'complete', agent: worker(l), id: task.id, result: { tests: 'passed' } });
    },
  ],
];
const MIX_TOTAL = MIX.reduce((a, [w]) => a + w, 0);

function nextOp(lane: Lane): Op {
  let x = lane.rand() * MIX_TOTAL;
  for (const [w, op] of MIX) if ((x -= w) < 0) return op;
  return MIX[0][1];
}

/** A server under soak: its pid, and a session per lane (a lane may be handed a new session between calls). */
interface Target {
  label: string;
  pid: number;
  session(k: number, rec: Recorder): Promise<Client>;
  /** Called after each call of lane k; may close the session and open another. */
  after(k: number, rec: Recorder): Promise<void>;
  closeSessions(): Promise<void>;
  stop(): Promise<void>;
  /** A line about the sessions, printed with the figures. */
  sessions(): string;
}

/** Runs every lane until `until` (ms timestamp). */
async function traffic(target: Target, rec: Recorder, lanes: Lane[], until: number): Promise<void> {
  await Promise.all(
    lanes.map(async (lane) => {
      while (Date.now() < until) {
        lane.i++;
        await nextOp(lane)(rec, await target.session(lane.k, rec), lane);
        await target.after(lane.k, rec);
      }
    }),
  );
}

/** Waits until the server's descriptors and children hold still for two samples a second apart (sandboxes refill the warm pool). */
async function settle(pid: number): Promise<ProcSample> {
  let last = sample(pid);
  for (let i = 0; i < 30; i++) {
    await sleep(1000);
    const now = sample(pid);
    if (now.fds === last.fds && now.children.size === last.children.size && i >= 2) return now;
    last = now;
  }
  return last;
}

interface Row {
  when: string;
  calls: number;
  s: ProcSample;
  heapMb: number;
  /** Heap in use right after a full collection (idle samples only). */
  liveMb?: number;
  dbMb: number;
}

/** V8's heap in use, MB, from the server's metrics port (garbage not yet collected included). */
async function heapUsedMb(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('nodejs_heap_size_used_bytes '));
  return line ? Number(line.split(' ')[1]) / 1048576 : NaN;
}

/**
 * A full garbage collection in the server, through its inspector (HeapProfiler.collectGarbage),
 * so the heap in use read right after it is what is still referenced: the figure a leak grows.
 * Node 20 has a WebSocket client only behind a flag, so a short-lived node process makes the call.
 */
async function collectGarbage(inspectPort: number): Promise<void> {
  const script = `
    const [target] = await (await fetch('http://127.0.0.1:${inspectPort}/json/list')).json();
    const ws = new WebSocket(target.webSocketDebuggerUrl);
    ws.onopen = () => ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
    ws.onmessage = (m) => { if (JSON.parse(m.data).id === 1) { ws.close(); process.exit(0); } };
    setTimeout(() => process.exit(1), 30000);`;
  const child = spawn(process.execPath, ['--experimental-websocket', '--no-warnings', '--input-type=module', '-e', script], { stdio: 'inherit' });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`the full collection through the inspector on port ${inspectPort} failed (exit ${code})`);
}

/** How node runs brain here: with its inspector on a loopback port, for collectGarbage. */
const nodeArgs = (inspectPort: number) => [`--inspect=127.0.0.1:${inspectPort}`, CLI];

/** The database file and its write-ahead log, MB. */
function dbMb(dbPath: string): number {
  const size = (f: string) => (fs.existsSync(f) ? fs.statSync(f).size : 0);
  return (size(dbPath) + size(`${dbPath}-wal`)) / 1048576;
}

const anonKb = (s: ProcSample) => s.rssKb - s.rssFileKb;

async function soak(target: Target, env: Record<string, string>, minutes: number, lanesN: number, growthPct: number): Promise<string[]> {
  const rec = new Recorder();
  const port = Number(env.BRAIN_METRICS_PORT);
  const row = async (when: string, s: ProcSample): Promise<Row> => ({ when, calls: rec.calls, s, heapMb: await heapUsedMb(port), dbMb: dbMb(env.BRAIN_DB_PATH) });
  /**
   * An idle sample: fds and children once they hold still, the heap in use; then, after a full
   * collection, the heap's live size and RSS (so garbage not yet collected does not count as growth).
   */
  const idleRow = async (when: string): Promise<Row> => {
    const s = await settle(target.pid);
    const heapMb = await heapUsedMb(port);
    await collectGarbage(Number(env.SOAK_INSPECT_PORT));
    const collected = sample(target.pid);
    return { when, calls: rec.calls, s: { ...s, rssKb: collected.rssKb, rssFileKb: collected.rssFileKb }, heapMb, liveMb: await heapUsedMb(port), dbMb: dbMb(env.BRAIN_DB_PATH) };
  };
  const lanes: Lane[] = Array.from({ length: lanesN }, (_, k) => ({ k, rand: rng(1000 + k), notes: new Map(), i: 0 }));
  const watch = watchDescendants(target.pid);
  const rows: Row[] = [await row('after start', sample(target.pid))];
  const total = minutes * 60_000;
  const warm = Math.max(10_000, total * 0.2);

  await traffic(target, rec, lanes, Date.now() + warm);
  await target.closeSessions();
  const baseRow = await idleRow('idle after warm-up (baseline)');
  const base = baseRow.s;
  rows.push(baseRow);

  rec.measuring = true;
  const measured = total - warm;
  const started = performance.now();
  const callsBefore = rec.calls;
  const samples = 4;
  for (let n = 1; n <= samples; n++) {
    await traffic(target, rec, lanes, Date.now() + measured / samples);
    if (n < samples) rows.push(await row(`busy, ${((warm + (measured * n) / samples) / 60_000).toFixed(1)} min`, sample(target.pid)));
  }
  const seconds = (performance.now() - started) / 1000;
  const measuredCalls = rec.calls - callsBefore;
  await target.closeSessions();
  const endRow = await idleRow('idle at the end');
  const end = endRow.s;
  rows.push(endRow);
  const orphans = stillAlive(watch.seen.values()).filter((p) => !end.children.has(p.pid));

  await target.stop();
  await sleep(1000);
  watch.stop();
  const afterExit = stillAlive(watch.seen.values());

  table(
    `${target.label}: the server process (pid ${target.pid}) over ${minutes} min, ${lanesN} calls in flight`,
    ['when', 'calls so far', 'RSS MB', 'of it file', 'anon', 'V8 heap', 'live heap', 'db file MB', 'open fds', 'children'],
    rows.map((r) => [
      r.when,
      r.calls,
      (r.s.rssKb / 1024).toFixed(1),
      (r.s.rssFileKb / 1024).toFixed(1),
      (anonKb(r.s) / 1024).toFixed(1),
      r.heapMb.toFixed(1),
      r.liveMb === undefined ? '' : r.liveMb.toFixed(1),
      r.dbMb.toFixed(1),
      r.s.fds,
      `${r.s.children.size} (${describeChildren(r.s.children)})`,
    ]),
  );
  const stats = [...rec.times].sort(([, a], [, b]) => b.length - a.length);
  table(
    `${target.label}: per call, measured after the warm-up (${measuredCalls} calls in ${seconds.toFixed(0)} s = ${(measuredCalls / seconds).toFixed(0)} calls/s)`,
    ['call', 'n', 'calls/s', 'p50 ms', 'p95 ms', 'errors'],
    stats.map(([label, t]) => {
      const s = summarize(t);
      return [label, s.n, (s.n / seconds).toFixed(1), ms(s.p50), ms(s.p95), rec.errors.get(label)?.n ?? 0];
    }),
  );
  console.log(target.sessions());
  console.log(`sandbox processes seen below the server: ${watch.seen.size}; still running at the end outside its tree: ${orphans.length}; still running after it exited: ${afterExit.length}`);

  const flags: string[] = [];
  // File pages are the mapped database (mmap_size 256 MB): they follow the file's size and the
  // kernel drops them under pressure, so the limit applies to the rest, anonymous memory, both
  // read after a full collection.
  const growth = ((anonKb(end) - anonKb(base)) / anonKb(base)) * 100;
  const mb = (kb: number) => (kb / 1024).toFixed(1);
  console.log(
    `RSS idle after warm-up ${mb(base.rssKb)} MB (anon ${mb(anonKb(base))}) -> idle at the end ${mb(end.rssKb)} MB (anon ${mb(anonKb(end))}): anon ${growth >= 0 ? '+' : ''}${growth.toFixed(1)} %, limit +${growthPct} %`,
  );
  if (growth > growthPct) flags.push(`${target.label}: anonymous RSS grew ${growth.toFixed(1)} % after the warm-up (limit ${growthPct} %)`);
  const live = ((endRow.liveMb! - baseRow.liveMb!) / baseRow.liveMb!) * 100;
  console.log(`live heap after a full collection ${baseRow.liveMb!.toFixed(1)} MB -> ${endRow.liveMb!.toFixed(1)} MB: ${live >= 0 ? '+' : ''}${live.toFixed(1)} %, limit +${growthPct} %`);
  if (live > growthPct) flags.push(`${target.label}: the live heap grew ${live.toFixed(1)} % after the warm-up (limit ${growthPct} %)`);
  if (end.fds > base.fds) flags.push(`${target.label}: ${end.fds} open fds at the end, ${base.fds} after the warm-up`);
  if (end.children.size > base.children.size) flags.push(`${target.label}: ${end.children.size} child processes at the end (${describeChildren(end.children)}), ${base.children.size} after the warm-up`);
  if (orphans.length) flags.push(`${target.label}: left outside its tree: ${orphans.map((p) => `${p.comm} ${p.pid}`).join(', ')}`);
  if (afterExit.length) flags.push(`${target.label}: still running after the server exited: ${afterExit.map((p) => `${p.comm} ${p.pid}`).join(', ')}`);
  for (const [label, e] of rec.errors) flags.push(`${target.label}: ${e.n} ${label} calls failed, e.g. ${e.first}`);
  return flags;
}

/** The cluster the mail and board traffic runs in: four coders, one per lane (more lanes share them). */
async function setUpCluster(client: Client, lanes: number): Promise<void> {
  const rec = new Recorder();
  await rec.call(client, 'blueprint', 'blueprint', { action: 'save', yaml: fs.readFileSync(path.join(ROOT, 'blueprints', 'software-team.yaml'), 'utf8') });
  const created = await rec.call(client, 'cluster', 'cluster', { action: 'create', blueprint: 'software-team', id: CLUSTER, target: Math.min(4, lanes) });
  if (!created) throw new Error(`cannot create the soak cluster: ${JSON.stringify([...rec.errors])}`);
}

async function stdioTarget(env: Record<string, string>, lanes: number): Promise<Target> {
  const transport = new StdioClientTransport({ command: process.execPath, args: nodeArgs(Number(env.SOAK_INSPECT_PORT)), env, stderr: 'inherit' });
  const client = new McpClient({ name: 'brain-soak', version: '1.0.0' });
  await client.connect(transport);
  await setUpCluster(client, lanes);
  const pid = transport.pid!;
  return {
    label: 'embedded stdio',
    pid,
    session: async () => client,
    after: async () => undefined,
    closeSessions: async () => undefined,
    sessions: () => 'one stdio session throughout',
    async stop() {
      await client.close();
      // Closing stdin asks brain to exit; wait until it has, so the leftover check sees its end.
      for (let i = 0; i < 100 && fs.existsSync(`/proc/${pid}`); i++) await sleep(100);
    },
  };
}

/** `brain serve`; each lane is a socket session that closes after 50 to 150 calls and opens anew (an assistant's conversations). */
async function daemonTarget(env: Record<string, string>, lanes: number): Promise<Target> {
  const daemon: ChildProcess = spawn(process.execPath, [...nodeArgs(Number(env.SOAK_INSPECT_PORT)), 'serve'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  await waitForSocket(env.BRAIN_SOCKET_PATH, daemon);
  const setup = await socketClient(env.BRAIN_SOCKET_PATH);
  await setUpCluster(setup, lanes);
  await setup.close();
  const open = new Map<number, { client: Client; left: number }>();
  const rand = rng(99);
  let sessions = 0;
  const target: Target = {
    label: 'brain serve (socket sessions)',
    sessions: () => `socket sessions opened and closed: ${sessions}`,
    pid: daemon.pid!,
    async session(k, rec) {
      let s = open.get(k);
      if (!s) {
        const client = await socketClient(env.BRAIN_SOCKET_PATH);
        sessions++;
        await rec.call(client, 'init', 'init', {});
        s = { client, left: 50 + Math.floor(rand() * 100) };
        open.set(k, s);
      }
      return s.client;
    },
    async after(k) {
      const s = open.get(k);
      if (s && --s.left <= 0) {
        open.delete(k);
        await s.client.close();
      }
    },
    async closeSessions() {
      for (const [k, s] of open) {
        open.delete(k);
        await s.client.close();
      }
    },
    async stop() {
      await target.closeSessions();
      if (daemon.exitCode === null) {
        daemon.kill('SIGTERM');
        await new Promise((r) => daemon.once('exit', r));
      }
    },
  };
  return target;
}

async function run(ctx: BenchContext): Promise<void> {
  if (process.platform !== 'linux') {
    console.log('soak: skipped (it reads /proc, which this system does not have)');
    return;
  }
  const minutes = knob('SOAK_MINUTES', ctx.quick ? 0.5 : 2);
  const lanes = Math.round(knob('SOAK_LANES', 4));
  const growthPct = knob('SOAK_RSS_GROWTH_PCT', 25);
  const flags: string[] = [];
  for (const make of [stdioTarget, daemonTarget]) {
    const dir = tempDir('brain-bench-soak-');
    // The auto-scaler is off so that the coders the lanes act as stay.
    const env = brainEnv(dir, { BRAIN_SOCKET_PATH: path.join(dir, 'brain.sock'), BRAIN_CLUSTER_SCALE_INTERVAL_SEC: '0', BRAIN_METRICS_PORT: String(await freePort()),
      // Not brain's: the bench's own note of where the server's inspector listens.
      SOAK_INSPECT_PORT: String(await freePort()),
    });
    try {
      const target = await make(env, lanes);
      flags.push(...(await soak(target, env, minutes, lanes, growthPct)));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      // Sandbox workspaces may live outside the data directory (see src/execution/host.ts).
      const host = detectHost(loadConfig(env));
      if (!isProblem(host)) fs.rmSync(host.workspaceRoot, { recursive: true, force: true });
    }
  }
  if (flags.length) {
    console.log(`\nsoak: GROWTH OR FAILURES FOUND\n${flags.map((f) => `  - ${f}`).join('\n')}`);
    process.exitCode = 1;
  } else console.log('\nsoak: no growth: memory within the limit, descriptors and child processes back to their baseline, no sandbox process left behind');
}

const section: BenchSection = { name: 'soak', onRequest: true, run };
export default section;
