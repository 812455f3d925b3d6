// Daemon mode: tool-call latency through brain serve's Unix socket (directly, and through the
// `brain connect` bridge Claude would use) beside embedded stdio, on the same data; then many
// sessions at once through the daemon.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SocketTransport } from '../src/core/socket-transport.js';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/core/config.js';
import { brainEnv, CLI, connectStdio, ms, summarize, table, tempDir, timeCalls, type BenchContext, type BenchSection } from './lib.js';

export async function waitForSocket(file: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error('brain serve exited during start-up');
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(file);
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('brain serve did not open its socket');
}

export async function socketClient(file: string): Promise<Client> {
  const sock = net.connect(file);
  await new Promise<void>((resolve, reject) => (sock.once('connect', resolve), sock.once('error', reject)));
  const client = new Client({ name: 'brain-bench', version: '1.0.0' });
  await client.connect(new SocketTransport(sock));
  return client;
}

interface Row {
  path: string;
  remember: number[];
  recallKey: number[];
  search: number[];
}

/**
 * Both modes start the sandbox pool in the background; one execution waits for it, so the timings
 * below measure memory calls, not calls competing with sandbox start-up. A host without a sandbox
 * answers with an error, which is fine here.
 */
async function settle(client: Client, label: string): Promise<void> {
  await client.callTool({ name: 'init', arguments: {} });
  await client.callTool({ name: 'execute', arguments: { code: 'print(1)' } }, undefined, { timeout: 120_000 }).catch(() => undefined);
  for (let i = 0; i < 20; i++) await client.callTool({ name: 'recall', arguments: { query: `warm up ${label} ${i}` } });
}

async function measure(label: string, client: Client, n: number, offset: number): Promise<Row> {
  await settle(client, label);
  const remember = await timeCalls(client, 'remember', (i) => ({ key: `bench-${label}-${i}`, content: `daemon bench note ${offset + i} about deploy windows and release trains` }), n);
  const recallKey = await timeCalls(client, 'recall', (i) => ({ key: `bench-${label}-${i}` }), n);
  const search = await timeCalls(client, 'recall', (i) => ({ query: `release trains ${i % 10}`, limit: 5 }), n);
  return { path: label, remember, recallKey, search };
}

async function run(ctx: BenchContext): Promise<void> {
  const n = ctx.quick ? 100 : 500;
  const dir = tempDir('brain-bench-daemon-');
  const env = brainEnv(dir, { BRAIN_SOCKET_PATH: path.join(dir, 'brain.sock') });
  const rows: Row[] = [];
  let daemon: ChildProcess | undefined;
  try {
    // Embedded first, with no daemon around: what a plain `brain` in Claude's config does.
    const embedded = await connectStdio(process.execPath, [CLI], env);
    rows.push(await measure('embedded stdio', embedded.client, n, 0));
    await embedded.close();

    daemon = spawn(process.execPath, [CLI, 'serve'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    await waitForSocket(env.BRAIN_SOCKET_PATH, daemon);
    const direct = await socketClient(env.BRAIN_SOCKET_PATH);
    rows.push(await measure('daemon socket', direct, n, n));
    await direct.close();

    const bridged = await connectStdio(process.execPath, [CLI, 'connect'], env);
    rows.push(await measure('brain connect -> daemon', bridged.client, n, 2 * n));
    await bridged.close();

    table(
      `Round-trip latency per tool call, ms (${n} calls each; same machine, same database file)`,
      ['path', 'remember p50', 'p95', 'p99', 'recall key p50', 'p95', 'search p50', 'p95', 'p99'],
      rows.map((r) => {
        const a = summarize(r.remember);
        const b = summarize(r.recallKey);
        const c = summarize(r.search);
        return [r.path, ms(a.p50), ms(a.p95), ms(a.p99), ms(b.p50), ms(b.p95), ms(c.p50), ms(c.p95), ms(c.p99)];
      }),
    );

    // Many sessions at once: what one daemon sustains for a team of assistants.
    const clientsN = 20;
    const perClient = ctx.quick ? 25 : 100;
    const clients = await Promise.all(Array.from({ length: clientsN }, () => socketClient(env.BRAIN_SOCKET_PATH)));
    const started = performance.now();
    const lat = await Promise.all(
      clients.map((c, k) =>
        timeCalls(c, 'remember', (i) => ({ key: `many-${k}-${i}`, content: `client ${k} write ${i}` }), perClient).then(async (w) =>
          w.concat(await timeCalls(c, 'recall', (i) => ({ query: `client ${k} write ${i}`, limit: 3 }), perClient)),
        ),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    const all = summarize(lat.flat());
    table(
      `${clientsN} concurrent socket sessions, ${perClient} remember + ${perClient} recall each`,
      ['calls', 'calls/s', 'p50 ms', 'p95 ms', 'p99 ms'],
      [[all.n, (all.n / seconds).toFixed(0), ms(all.p50), ms(all.p95), ms(all.p99)]],
    );
    await Promise.all(clients.map((c) => c.close()));

    // What the slow-query log adds to every tool call when nothing is slow: two clock reads and
    // one comparison, beside a remember's own cost.
    const app = createApp(loadConfig({ ...env, BRAIN_DB_PATH: path.join(dir, 'hook.db') }));
    try {
      const loops = 1_000_000;
      let t = performance.now();
      for (let i = 0; i < loops; i++) {
        const s0 = performance.now();
        app.slowQuery('tool remember', performance.now() - s0);
      }
      const hookNs = ((performance.now() - t) / loops) * 1e6;
      const k = ctx.quick ? 500 : 2000;
      t = performance.now();
      for (let i = 0; i < k; i++) app.memories.remember({ project: '', key: `hook-${i}`, content: `hook cost note ${i}`, type: 'general', tags: [], importance: 0.5 });
      const rememberNs = ((performance.now() - t) / k) * 1e6;
      table('Slow-query hook on the hot path (in process, nothing over the threshold)', ['hook ns/call', 'remember ns/call', 'share'], [
        [hookNs.toFixed(0), rememberNs.toFixed(0), `${((hookNs / rememberNs) * 100).toFixed(2)} %`],
      ]);
    } finally {
      app.close();
    }
  } finally {
    if (daemon && daemon.exitCode === null) {
      daemon.kill('SIGTERM');
      await new Promise((r) => daemon!.once('exit', r));
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export const daemonBench: BenchSection = { name: 'daemon', run };
