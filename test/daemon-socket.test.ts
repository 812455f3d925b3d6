// brain serve over its Unix socket: many sessions at once, rude clients, the socket's owner and
// permissions, maintenance mode, brain connect and scripts/start-mcp.sh.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { call, CLI, ROOT, startBrain, tempDir } from './helpers/brain.js';
import { connectable, daemonEnv, socketClient, startServe, waitFor, type RunningDaemon } from './helpers/daemon.js';

let dir: string;
let env: Record<string, string>;
let daemon: RunningDaemon | undefined;
const clients: Client[] = [];

beforeEach(async () => {
  dir = tempDir('brain-daemon-');
  env = await daemonEnv(dir);
});
afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close()));
  await daemon?.stop();
  daemon = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

function cli(args: string[], extra: Record<string, string> = {}) {
  return spawnSync(process.execPath, [CLI, ...args], { env: { ...env, ...extra }, encoding: 'utf8', timeout: 60_000 });
}

/** A raw JSON-RPC peer that initializes, fires one call and vanishes without waiting for the reply. */
async function rudeClient(socket: string, i: number, halfLine: boolean): Promise<void> {
  const sock = net.connect(socket);
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  sock.on('error', () => {});
  const send = (m: object) => sock.write(JSON.stringify(m) + '\n');
  send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'rude', version: '1' } } });
  send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'recall', arguments: { query: `client ${i} note` } } });
  if (halfLine) sock.write('{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"remember","argu');
  sock.destroy();
}

describe('brain serve (Unix socket)', () => {
  it('20 concurrent clients doing memory work: every write present, no error; rude disconnects disturb nobody', async () => {
    daemon = await startServe(env);
    const N = 20;
    for (let i = 0; i < N; i++) clients.push(await socketClient(daemon.socket, `worker-${i}`));
    const written: string[][] = clients.map(() => []);
    const errors: string[] = [];
    const until = Date.now() + 5000;

    const work = clients.map(async (c, i) => {
      await call(c, 'init', { client: `worker-${i}` });
      for (let n = 0; Date.now() < until; n++) {
        const key = `c${i}-n${n}`;
        try {
          const r = await call<{ key: string; created: boolean }>(c, 'remember', { key, content: `client ${i} note ${n}: the deploy window is ${n % 7} pm`, tags: [`c${i}`] });
          expect(r).toMatchObject({ key, created: true });
          written[i].push(key);
          if (n % 3 === 0) {
            const got = await call<{ results: { content: string }[] }>(c, 'recall', { key });
            expect(got.results[0].content).toContain(`client ${i} note ${n}`);
          }
          if (n % 5 === 0) await call(c, 'recall', { query: `client ${i} deploy window`, limit: 5 });
        } catch (err) {
          errors.push(`client ${i} call ${n}: ${(err as Error).message}`);
        }
      }
    });
    // Meanwhile, clients that leave mid-call (one of them mid-message).
    const rude = (async () => {
      for (let i = 0; Date.now() < until - 500; i++) {
        await rudeClient(daemon!.socket, i, i % 2 === 1);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await Promise.all([...work, rude]);

    expect(errors).toEqual([]);
    const total = written.reduce((a, w) => a + w.length, 0);
    expect(total).toBeGreaterThan(N * 3);
    // Every write is there, read back through a fresh session ...
    const checker = await socketClient(daemon.socket, 'checker');
    clients.push(checker);
    for (let i = 0; i < N; i++) {
      const last = written[i][written[i].length - 1];
      const got = await call<{ results: { key: string }[] }>(checker, 'recall', { key: last });
      expect(got.results[0].key).toBe(last);
    }
    const stats = await call<{ counts: { memories: number } }>(checker, 'init', {});
    expect(stats.counts.memories).toBe(total);
    // ... and in the file itself.
    const db = new Database(env.BRAIN_DB_PATH, { readonly: true });
    const keys = new Set(db.prepare('SELECT key FROM memories').pluck().all() as string[]);
    db.close();
    for (const k of written.flat()) expect(keys.has(k), k).toBe(true);

    // The rude clients' sessions are gone; the well-behaved ones are still counted.
    await waitFor(`brain_active_sessions to settle at ${N + 1}`, async () => (await metricSessions()) === N + 1);
  }, 120_000);

  it('socket is 0660, a stale socket is replaced, a live one is refused, SIGTERM exits cleanly', async () => {
    // A stale socket file: bound once, nobody listening any more.
    const stale = net.createServer();
    await new Promise<void>((r) => stale.listen(env.BRAIN_SOCKET_PATH, r));
    // Closing a Unix server normally unlinks its file; put one back without a listener.
    await new Promise<void>((r) => stale.close(() => r()));
    const placeholder = spawnSync('python3', ['-c', `import socket; s=socket.socket(socket.AF_UNIX); s.bind(${JSON.stringify(env.BRAIN_SOCKET_PATH)})`]);
    expect(placeholder.status).toBe(0);
    expect(fs.lstatSync(env.BRAIN_SOCKET_PATH).isSocket()).toBe(true);
    expect(await connectable(env.BRAIN_SOCKET_PATH)).toBe(false);

    daemon = await startServe(env);
    expect(fs.statSync(daemon.socket).mode & 0o777).toBe(0o660);

    const second = cli(['serve'], { BRAIN_METRICS_PORT: '0' });
    expect(second.status).toBe(1);
    expect(second.stderr).toMatch(/another brain serve is already listening/);
    expect(await connectable(daemon.socket)).toBe(true);

    const c = await socketClient(daemon.socket);
    await call(c, 'remember', { key: 'before-stop', content: 'written before SIGTERM' });
    // A session still open at SIGTERM is closed by the daemon, which then exits cleanly.
    const closed = new Promise<void>((resolve) => (c.onclose = resolve));
    expect(await daemon.stop()).toBe(0);
    await closed;
    daemon = undefined;
    expect(fs.existsSync(env.BRAIN_SOCKET_PATH)).toBe(false);
    const db = new Database(env.BRAIN_DB_PATH, { readonly: true });
    const types = db.prepare(`SELECT event_type FROM events WHERE event_type LIKE 'brain.%' ORDER BY id`).pluck().all();
    const kept = db.prepare(`SELECT count(*) FROM memories WHERE key = 'before-stop'`).pluck().get();
    db.close();
    expect(types).toEqual(['brain.start', 'brain.stop']);
    expect(kept).toBe(1);
  }, 90_000);

  it('each connection is its own MCP session (own brain session and active project)', async () => {
    daemon = await startServe(env);
    const a = await socketClient(daemon.socket, 'a');
    const b = await socketClient(daemon.socket, 'b');
    clients.push(a, b);
    const sa = await call<{ session_id: string; project: string }>(a, 'init', { project: 'alpha' });
    const sb = await call<{ session_id: string; project: string }>(b, 'init', {});
    expect(sa.session_id).not.toBe(sb.session_id);
    expect([sa.project, sb.project]).toEqual(['alpha', 'global']);
    expect(await call(a, 'remember', { key: 'db', content: 'alpha uses PostgreSQL' })).toMatchObject({ project: 'alpha' });
    expect(await call(b, 'remember', { key: 'db', content: 'globally: SQLite' })).toMatchObject({ project: 'global' });
    const fromA = await call<{ results: { content: string }[] }>(a, 'recall', { key: 'db' });
    const fromB = await call<{ results: { content: string }[] }>(b, 'recall', { key: 'db' });
    expect([fromA.results[0].content, fromB.results[0].content]).toEqual(['alpha uses PostgreSQL', 'globally: SQLite']);
  }, 60_000);

  it('maintenance mode refuses new sessions with a clear message; open sessions keep working', async () => {
    daemon = await startServe(env);
    const open = await socketClient(daemon.socket, 'already-open');
    clients.push(open);
    const on = cli(['maintenance', 'on', '--json', 'restoring', 'a', 'backup']);
    expect(on.status).toBe(0);
    expect(JSON.parse(on.stdout)).toMatchObject({ on: true, reason: 'restoring a backup' });

    await expect(socketClient(daemon.socket, 'newcomer')).rejects.toThrow(/maintenance mode \(restoring a backup\).*brain maintenance off/);
    // Embedded mode honours it too.
    await expect(startBrain(env)).rejects.toThrow(/maintenance mode/);
    await call(open, 'remember', { key: 'during-maintenance', content: 'open sessions still work' });

    expect(cli(['maintenance', 'off']).status).toBe(0);
    const later = await socketClient(daemon.socket, 'after');
    clients.push(later);
    const got = await call<{ results: { key: string }[] }>(later, 'recall', { key: 'during-maintenance' });
    expect(got.results[0].key).toBe('during-maintenance');
    const events = await call<{ events: { type: string; message: string }[] }>(later, 'events', { type: ['maintenance.mode'] });
    expect(events.events.map((e) => e.message)).toEqual(['maintenance mode off', 'maintenance mode on: restoring a backup']);
  }, 90_000);

  it('brain connect and scripts/start-mcp.sh: the daemon when it runs, embedded otherwise', async () => {
    const script = path.join(ROOT, 'scripts', 'start-mcp.sh');
    // No daemon: connect says so (exit 69), start-mcp.sh serves embedded.
    expect(cli(['connect', '--check']).status).toBe(69);
    const noDaemon = cli(['connect']);
    expect(noDaemon.status).toBe(69);
    expect(noDaemon.stderr).toMatch(/no brain serve answers/);
    const embedded = await startScript(script, env);
    await call(embedded.client, 'remember', { key: 'via-embedded', content: 'stored without a daemon' });
    expect(await metricSessions()).toBeNull();
    await embedded.close();

    expect(cli(['doctor']).stdout).toMatch(/daemon: no brain serve socket/);
    daemon = await startServe(env);
    expect(cli(['connect', '--check']).status).toBe(0);
    expect(cli(['doctor']).stdout).toMatch(/ok\s+daemon: brain serve answers on/);
    const bridged = await startScript(script, env);
    const got = await call<{ results: { key: string }[] }>(bridged.client, 'recall', { key: 'via-embedded' });
    expect(got.results[0].key).toBe('via-embedded');
    // The session is the daemon's: its metrics count it.
    expect(await metricSessions()).toBe(1);
    await bridged.close();
  }, 90_000);
});

async function metricSessions(): Promise<number | null> {
  if (!daemon) return null;
  const text = await (await fetch(daemon.url('/metrics'))).text();
  const m = /^brain_active_sessions (\d+)$/m.exec(text);
  return m ? Number(m[1]) : null;
}

async function startScript(script: string, e: Record<string, string>) {
  const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
  const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js');
  const transport = new StdioClientTransport({ command: 'sh', args: [script], env: e, stderr: 'pipe' });
  const client = new Client({ name: 'start-mcp-test', version: '1' });
  await client.connect(transport);
  return { client, close: () => client.close() };
}
