// Test helpers for daemon mode: the real built `brain serve` as a child process, SDK clients over
// its Unix socket, free ports and HTTP helpers for the metrics side port.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SocketTransport } from '../../src/core/socket-transport.js';
import { brainEnv, CLI } from './brain.js';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export function connectable(file: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(file);
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export interface RunningDaemon {
  child: ChildProcess;
  env: Record<string, string>;
  socket: string;
  metricsPort: number;
  url(p: string): string;
  stderr(): string;
  /** SIGTERM and wait for exit; resolves to the exit code. */
  stop(): Promise<number | null>;
}

/** The bearer token daemonEnv configures: /admin/* on the metrics port needs it. */
export const ADMIN_TOKEN = 'admin-token-0123456789abcdef';

/** Environment for a daemon in `dir` with a free metrics port (and ADMIN_TOKEN as its HTTP token). */
export async function daemonEnv(dir: string, extra: Record<string, string> = {}): Promise<Record<string, string>> {
  return brainEnv(dir, {
    BRAIN_SOCKET_PATH: path.join(dir, 'brain.sock'),
    BRAIN_METRICS_PORT: String(await freePort()),
    BRAIN_LOG_FILES: 'false',
    BRAIN_HTTP_TOKEN: ADMIN_TOKEN,
    ...extra,
  });
}

/** POST /admin/<action> on the metrics port with the admin token, as an operator's script does. */
export function adminPost(daemon: RunningDaemon, action: string, token = ADMIN_TOKEN): Promise<Response> {
  return fetch(daemon.url(`/admin/${action}`), { method: 'POST', headers: { authorization: `Bearer ${token}` } });
}

export async function startServe(env: Record<string, string>): Promise<RunningDaemon> {
  const child = spawn(process.execPath, [CLI, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout!.on('data', (d: Buffer) => (stderr += `[stdout] ${d}`));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const socket = env.BRAIN_SOCKET_PATH;
  let dead = false;
  void exited.then(() => (dead = true));
  await waitFor('brain serve to listen', async () => {
    if (dead) throw new Error(`brain serve exited early: ${stderr}`);
    return fs.existsSync(socket) && (await connectable(socket));
  });
  const metricsPort = Number(env.BRAIN_METRICS_PORT);
  if (metricsPort) await waitFor('metrics port', () => fetch(`http://127.0.0.1:${metricsPort}/health/live`).then((r) => r.ok, () => false));
  return {
    child,
    env,
    socket,
    metricsPort,
    url: (p) => `http://127.0.0.1:${metricsPort}${p}`,
    stderr: () => stderr,
    async stop() {
      if (!dead) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** An SDK client connected to the daemon over its Unix socket. */
export async function socketClient(socket: string, name = 'brain-socket-test'): Promise<Client> {
  const sock = net.connect(socket);
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(new SocketTransport(sock));
  return client;
}
