// Execution bench: latency of `execute` of print(1) over real stdio beside a bare
// `python3 -c 'print(1)'` spawned in the same run, and throughput with the pool at its maximum.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { loadConfig } from '../src/core/config.js';
import { detectHost, isProblem } from '../src/execution/host.js';
import { brainEnv, CLI, connectStdio, ms, summarize, table, tempDir, type BenchContext, type BenchSection } from './lib.js';

function bare(): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const child = spawn('/usr/bin/python3', ['-c', 'print(1)'], { stdio: ['ignore', 'pipe', 'inherit'], env: { PATH: '/usr/bin:/bin' } });
    child.stdout.resume();
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(performance.now() - t) : reject(new Error(`python3 exited ${code}`))));
  });
}

const sleep = (msec: number) => new Promise((r) => setTimeout(r, msec));

async function executeOnce(client: Awaited<ReturnType<typeof connectStdio>>['client'], code = 'print(1)'): Promise<number> {
  const t = performance.now();
  const r = await client.callTool({ name: 'execute', arguments: { code } });
  const elapsed = performance.now() - t;
  const s = r.structuredContent as { status?: string; stdout?: string } | undefined;
  if (r.isError || s?.status !== 'succeeded' || s.stdout !== '1\n') throw new Error(`execute failed during the bench: ${JSON.stringify(r.content).slice(0, 300)}`);
  return elapsed;
}

function warmShare(dbPath: string, fromId: number): { warm: number; total: number } {
  const db = new Database(dbPath, { readonly: true });
  try {
    return db.prepare('SELECT coalesce(sum(warm), 0) AS warm, count(*) AS total FROM executions WHERE id > ? AND status = ?').get(fromId, 'succeeded') as { warm: number; total: number };
  } finally {
    db.close();
  }
}

function maxId(dbPath: string): number {
  const db = new Database(dbPath, { readonly: true });
  try {
    return (db.prepare('SELECT coalesce(max(id), 0) AS id FROM executions').get() as { id: number }).id;
  } finally {
    db.close();
  }
}

async function run(ctx: BenchContext) {
  const n = ctx.quick ? 10 : 40;
  const pauseMs = 300;
  const bareSamples: number[] = [];
  for (let i = 0; i < 3; i++) await bare();
  for (let i = 0; i < n; i++) bareSamples.push(await bare());

  const dir = tempDir('brain-bench-exec-');
  const workerMax = 4;
  const env = brainEnv(dir, { BRAIN_WORKER_MIN: '1', BRAIN_WORKER_MAX: String(workerMax), BRAIN_SANDBOX_WARM: '1' });
  const peer = await connectStdio(process.execPath, [CLI], env);
  try {
    // The first call waits for the start-up self-test; then each call finds a sandbox waiting.
    await executeOnce(peer.client);
    await sleep(pauseMs);
    let from = maxId(env.BRAIN_DB_PATH);
    const paced: number[] = [];
    for (let i = 0; i < n; i++) {
      paced.push(await executeOnce(peer.client));
      // An assistant thinks between calls; this is the time a replacement sandbox has to start.
      await sleep(pauseMs);
    }
    const pacedWarm = warmShare(env.BRAIN_DB_PATH, from);

    from = maxId(env.BRAIN_DB_PATH);
    const burst: number[] = [];
    for (let i = 0; i < n; i++) burst.push(await executeOnce(peer.client));
    const burstWarm = warmShare(env.BRAIN_DB_PATH, from);

    const b = summarize(bareSamples);
    const p = summarize(paced);
    const q = summarize(burst);
    table(`execute print(1) over stdio vs bare python3 (ms, n=${n})`, ['what', 'p50', 'p95', 'mean', 'p50 / bare p50', 'warm sandboxes'], [
      ['bare python3 -c print(1)', ms(b.p50), ms(b.p95), ms(b.mean), '1.00', '-'],
      [`execute, ${pauseMs} ms between calls`, ms(p.p50), ms(p.p95), ms(p.mean), (p.p50 / b.p50).toFixed(2), `${pacedWarm.warm}/${pacedWarm.total}`],
      ['execute, back to back', ms(q.p50), ms(q.p95), ms(q.mean), (q.p50 / b.p50).toFixed(2), `${burstWarm.warm}/${burstWarm.total}`],
    ]);
    console.log(`target: p50 of paced execute <= 2x bare python3: ${p.p50 <= 2 * b.p50 ? 'met' : 'NOT met'} (${(p.p50 / b.p50).toFixed(2)}x)`);

    // Throughput: as many calls in flight as the pool has workers, for a fixed number of calls.
    const total = ctx.quick ? 16 : 60;
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: workerMax }, async () => {
        while (next < total) {
          next++;
          await executeOnce(peer.client);
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    table(`throughput with the pool at its maximum (${workerMax} workers, ${workerMax} calls in flight)`, ['executions', 'seconds', 'executions/s'], [
      [total, seconds.toFixed(2), (total / seconds).toFixed(1)],
    ]);
  } finally {
    await peer.close();
    fs.rmSync(dir, { recursive: true, force: true });
    // Sandbox workspaces may live outside the data directory (see src/execution/host.ts).
    const host = detectHost(loadConfig(env));
    if (!isProblem(host)) fs.rmSync(host.workspaceRoot, { recursive: true, force: true });
  }
}

const section: BenchSection = { name: 'execution', run };
export default section;
