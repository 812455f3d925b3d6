// Embedded `brain` uses a running `brain serve` on the same database by itself (src/daemon/discover.ts):
// the real daemon and real `brain` processes over stdio, the way Claude starts them.
import { spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { call, CLI, ROOT, startBrain, tempDir, type Connected } from './helpers/brain.js';
import { daemonEnv, startServe, waitFor, type RunningDaemon } from './helpers/daemon.js';

let dir: string;
let env: Record<string, string>;
let daemon: RunningDaemon | undefined;
const sessions: Connected[] = [];

beforeEach(async () => {
  dir = tempDir('brain-daemon-auto-');
  env = await daemonEnv(dir);
});
afterEach(async () => {
  await Promise.allSettled(sessions.splice(0).map((s) => s.close()));
  await daemon?.stop();
  daemon = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The environment Claude's config gives `brain`: the daemon's paths, no metrics port of its own. */
function clientEnv(extra: Record<string, string> = {}): Record<string, string> {
  const { BRAIN_METRICS_PORT: _port, BRAIN_HTTP_TOKEN: _token, ...rest } = env;
  return { ...rest, ...extra };
}

async function client(extra: Record<string, string> = {}): Promise<Connected & { pid: number }> {
  const s = await startBrain(clientEnv(extra));
  sessions.push(s);
  return Object.assign(s, { pid: s.transport.pid! });
}

/** Whether process `pid` has the database file open (an embedded brain does; a bridge does not). */
function holdsDatabase(pid: number, dbPath: string): boolean {
  const fdDir = `/proc/${pid}/fd`;
  return fs.readdirSync(fdDir).some((fd) => {
    try {
      return fs.readlinkSync(path.join(fdDir, fd)) === dbPath;
    } catch {
      return false;
    }
  });
}

/** Whether process `pid` has loaded better-sqlite3's native module (an embedded brain has). */
function loadedDriver(pid: number): boolean {
  return fs.readFileSync(`/proc/${pid}/maps`, 'utf8').includes('better_sqlite3.node');
}

async function activeSessions(): Promise<number> {
  const text = await (await fetch(daemon!.url('/metrics'))).text();
  return Number(/^brain_active_sessions (\d+)$/m.exec(text)?.[1] ?? NaN);
}

describe('embedded brain and a running brain serve', () => {
  it('bridges to the daemon serving the same database: one process, one writer, writes seen at once', async () => {
    daemon = await startServe(env);
    const record = JSON.parse(fs.readFileSync(`${env.BRAIN_SOCKET_PATH}.json`, 'utf8')) as { pid: number; db: string; tools: string[] };
    expect(record).toMatchObject({ pid: daemon.child.pid, db: env.BRAIN_DB_PATH });

    // brain doctor says so too.
    const doctor = spawnSync(process.execPath, [CLI, 'doctor'], { env: clientEnv(), encoding: 'utf8', timeout: 60_000 });
    expect(doctor.stdout).toMatch(/daemon: brain serve answers on .*; brain with these settings bridges to it/);
    const memoryOnly = spawnSync(process.execPath, [CLI, 'doctor'], { env: clientEnv({ BRAIN_TOOLS: 'memory' }), encoding: 'utf8', timeout: 60_000 });
    expect(memoryOnly.stdout).toMatch(/brain runs embedded: the brain serve on .* offers the tools/);

    const a = await client();
    const b = await client();
    // Neither process opened the database: both are the daemon's sessions.
    expect(holdsDatabase(a.pid, env.BRAIN_DB_PATH)).toBe(false);
    expect(holdsDatabase(b.pid, env.BRAIN_DB_PATH)).toBe(false);
    expect(holdsDatabase(daemon.child.pid!, env.BRAIN_DB_PATH)).toBe(true);
    // Nor loaded the SQLite driver: a bridge is node and a socket (src/daemon/fast-bridge.ts).
    expect(loadedDriver(a.pid)).toBe(false);
    expect(loadedDriver(daemon.child.pid!)).toBe(true);
    expect(await activeSessions()).toBe(2);

    await call(a.client, 'remember', { key: 'deploy-window', content: 'The deploy window is Tuesday 3 pm, after the standup.' });
    const got = await call<{ results: { key: string }[] }>(b.client, 'recall', { query: 'when is the deploy window' });
    expect(got.results[0]?.key).toBe('deploy-window');
    expect(a.stderr() + b.stderr()).toBe('');

    // A client that leaves ends its bridge only; the daemon and the other session go on.
    await a.close();
    // The daemon counts the session out when it handles the socket's close: wait for it.
    await waitFor('the session count to drop', async () => (await activeSessions()) === 1);
    expect((await call<{ results: unknown[] }>(b.client, 'recall', { key: 'deploy-window' })).results).toHaveLength(1);
  }, 60_000);

  it('runs embedded when told to, or when the daemon serves another file or other tools, and says why', async () => {
    daemon = await startServe(env);
    const never = await client({ BRAIN_USE_DAEMON: 'never' });
    expect(holdsDatabase(never.pid, env.BRAIN_DB_PATH)).toBe(true);
    expect(loadedDriver(never.pid)).toBe(true);
    expect(never.stderr()).not.toMatch(/running embedded/);

    const memoryOnly = await client({ BRAIN_TOOLS: 'memory' });
    expect(holdsDatabase(memoryOnly.pid, env.BRAIN_DB_PATH)).toBe(true);
    expect(memoryOnly.stderr()).toMatch(/running embedded: the brain serve on .* offers the tools .*this client asks for memory \(BRAIN_TOOLS\)/);

    const otherDb = path.join(dir, 'other', 'brain.db');
    const other = await client({ BRAIN_DB_PATH: otherDb });
    expect(holdsDatabase(other.pid, otherDb)).toBe(true);
    expect(other.stderr()).toMatch(new RegExp(`running embedded: the brain serve on .* serves ${env.BRAIN_DB_PATH}, not ${otherDb}`));
    // None of them is a daemon session.
    expect(await activeSessions()).toBe(0);
    await call(other.client, 'remember', { key: 'elsewhere', content: 'kept in the other database' });
    const inOther = await call<{ results: unknown[] }>(other.client, 'recall', { key: 'elsewhere' });
    expect(inOther.results).toHaveLength(1);
  }, 60_000);

  it('a bridged client outlives a restart of brain serve: its session and active project come back, a call in flight gets an error', async () => {
    daemon = await startServe(env);
    const a = await client();
    await call(a.client, 'init', { project: 'apollo' });
    expect(await call(a.client, 'remember', { key: 'before', content: 'Written before brain serve restarted.' })).toMatchObject({ project: 'apollo' });
    const yaml = fs.readFileSync(path.join(ROOT, 'blueprints', 'software-team.yaml'), 'utf8');
    await call(a.client, 'blueprint', { action: 'save', yaml });
    await call(a.client, 'cluster', { action: 'create', blueprint: 'software-team', id: 'web' });
    // A claim that waits for work: in flight while the daemon restarts.
    const waiting = a.client
      .callTool({ name: 'task', arguments: { action: 'claim', agent: 'web/coder-1', wait_seconds: 20 } }, undefined, { timeout: 60_000 })
      .then(() => 'answered', (err: Error) => err.message);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await daemon.stop();
    expect(await waiting).toMatch(/brain serve restarted before answering this request/);
    daemon = await startServe(env);

    // The same client process goes on, in the project its session had chosen.
    expect(await call(a.client, 'remember', { key: 'after', content: 'Written after brain serve restarted.' })).toMatchObject({ project: 'apollo' });
    expect((await call<{ results: unknown[] }>(a.client, 'recall', { key: 'before' })).results).toHaveLength(1);
    expect(holdsDatabase(a.pid, env.BRAIN_DB_PATH)).toBe(false);
    expect(await activeSessions()).toBe(1);
    expect(a.stderr()).toMatch(/brain: brain serve went away; waiting for it to come back\nbrain: bridged to brain serve again\n/);
  }, 90_000);

  it('a bridged client whose brain serve stops for good carries its session on embedded, in the same project', async () => {
    daemon = await startServe(env);
    const a = await client({ BRAIN_BRIDGE_WAIT_SEC: '1', BRAIN_LOG_LEVEL: 'info' });
    await call(a.client, 'init', { project: 'apollo' });
    await call(a.client, 'remember', { key: 'before', content: 'Written while brain serve ran.' });
    expect(holdsDatabase(a.pid, env.BRAIN_DB_PATH)).toBe(false);
    await daemon.stop();
    daemon = undefined;
    await waitFor('the bridge to notice', () => a.stderr().includes('brain serve went away'));

    // Sent while no daemon is there: held, then answered by the client's own process.
    expect(await call(a.client, 'remember', { key: 'after', content: 'Written after brain serve stopped.' })).toMatchObject({ project: 'apollo' });
    expect((await call<{ results: unknown[] }>(a.client, 'recall', { key: 'before' })).results).toHaveLength(1);
    expect(holdsDatabase(a.pid, env.BRAIN_DB_PATH)).toBe(true);
    expect(a.stderr()).toMatch(/brain: brain serve went away; waiting for it to come back\n[^]*brain: brain serve did not come back within 1 s; running embedded/);
    // Another client (embedded too now) sees the write at once; the first ends cleanly.
    const b = await client();
    await call(b.client, 'init', { project: 'apollo' });
    expect((await call<{ results: unknown[] }>(b.client, 'recall', { key: 'after' })).results).toHaveLength(1);
    // Its stdin closed: it closes the database as an embedded brain does and exits on its own.
    const child = (a.transport as unknown as { _process: ChildProcess })._process;
    // 'close': the process has exited and its stderr is read to the end.
    const exited = new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
    await a.close();
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(a.stderr()).toMatch(/brain stopping \{"pid":\d+,"reason":"the client closed the connection"\}/);
    expect(a.stderr()).not.toMatch(/SIGTERM/);
  }, 60_000);

  it('in maintenance mode a bridged client whose brain serve stopped does not open the database: its call gets the reason and it ends', async () => {
    daemon = await startServe(env);
    const a = await client({ BRAIN_BRIDGE_WAIT_SEC: '0' });
    await call(a.client, 'init', { project: 'apollo' });
    const child = (a.transport as unknown as { _process: ChildProcess })._process;
    const exited = new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
    // What an operator does before a restore: maintenance on, then the service stopped.
    const on = spawnSync(process.execPath, [CLI, 'maintenance', 'on', 'restoring a backup'], { env: clientEnv(), encoding: 'utf8', timeout: 60_000 });
    expect(on.status, on.stderr).toBe(0);
    await daemon.stop();
    daemon = undefined;
    await waitFor('the bridge to notice', () => a.stderr().includes('brain serve went away'));
    const refused = await a.client
      .callTool({ name: 'recall', arguments: { query: 'anything' } })
      .then(() => 'answered', (err: Error) => err.message);
    expect(refused).toMatch(/running embedded failed: .*restoring a backup/);
    // It ended (so holds nothing a restore would wait for), the way a server that stopped does.
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(a.stderr()).toMatch(/brain serve did not come back within 0 s, and running embedded failed \(.*restoring a backup.*\); stopping/);
  }, 60_000);

  it('a daemon that was killed leaves a record nobody follows; one that stopped removes it', async () => {
    daemon = await startServe(env);
    daemon.child.kill('SIGKILL');
    await daemon.stop();
    expect(fs.existsSync(`${env.BRAIN_SOCKET_PATH}.json`)).toBe(true);
    const s = await client();
    expect(holdsDatabase(s.pid, env.BRAIN_DB_PATH)).toBe(true);
    await call(s.client, 'remember', { key: 'after-crash', content: 'written by an embedded brain after the daemon died' });
    expect(s.stderr()).not.toMatch(/running embedded/);
    await s.close();
    sessions.splice(0);

    daemon = await startServe(env);
    expect(JSON.parse(fs.readFileSync(`${env.BRAIN_SOCKET_PATH}.json`, 'utf8')).pid).toBe(daemon.child.pid);
    await daemon.stop();
    daemon = undefined;
    expect(fs.existsSync(`${env.BRAIN_SOCKET_PATH}.json`)).toBe(false);
  }, 60_000);
});
