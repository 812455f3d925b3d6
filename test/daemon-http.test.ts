// Streamable HTTP on loopback: works with the token, refuses a missing or wrong token, a foreign
// Origin and a foreign Host (DNS rebinding), and needs a token to start at all.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, CLI, tempDir } from './helpers/brain.js';
import { daemonEnv, freePort, startServe, type RunningDaemon } from './helpers/daemon.js';

const TOKEN = 'test-token-0123456789abcdef';
let dir: string;
let daemon: RunningDaemon;
let base: string;
let port: number;
let env: Record<string, string>;

beforeAll(async () => {
  dir = tempDir('brain-http-');
  port = await freePort();
  fs.writeFileSync(path.join(dir, 'token'), TOKEN + '\n', { mode: 0o600 });
  env = await daemonEnv(dir, { BRAIN_HTTP_ADDR: `127.0.0.1:${port}`, BRAIN_HTTP_TOKEN_FILE: path.join(dir, 'token') });
  daemon = await startServe(env);
  base = `http://127.0.0.1:${port}/mcp`;
});
afterAll(async () => {
  await daemon?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function httpClient(headers: Record<string, string>): Promise<Client> {
  const client = new Client({ name: 'http-test', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(base), { requestInit: { headers } }));
  return client;
}

const initialize = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});

/** A raw POST with full control of Host (fetch does not let a caller set it). */
function rawPost(headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: '/mcp', method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers } },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(initialize);
  });
}

describe('MCP over Streamable HTTP', () => {
  it('serves MCP sessions with the bearer token', async () => {
    const a = await httpClient({ authorization: `Bearer ${TOKEN}` });
    const b = await httpClient({ authorization: `Bearer ${TOKEN}` });
    await call(a, 'remember', { key: 'over-http', content: 'written over streamable http' });
    const got = await call<{ results: { content: string }[] }>(b, 'recall', { key: 'over-http' });
    expect(got.results[0].content).toBe('written over streamable http');
    const { tools } = await a.listTools();
    expect(tools.map((t) => t.name)).toContain('events');
    await a.close();
    await b.close();
  });

  it('refuses a missing or wrong token', async () => {
    await expect(httpClient({})).rejects.toThrow(/401|bearer token/i);
    await expect(httpClient({ authorization: 'Bearer wrong-token-0123456789abcdef' })).rejects.toThrow(/401|bearer token/i);
    const raw = await rawPost({ authorization: `Bearer ${TOKEN.slice(0, -1)}` });
    expect(raw.status).toBe(401);
    expect(raw.body).toMatch(/missing or wrong bearer token/);
  });

  it('refuses a foreign Origin and a foreign Host even with the token (DNS rebinding)', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const origin = await rawPost({ ...auth, origin: 'http://evil.example' });
    expect(origin.status).toBe(403);
    expect(JSON.parse(origin.body).error.message).toMatch(/Origin "http:\/\/evil.example" is not allowed/);
    const host = await rawPost({ ...auth, host: `evil.example:${port}` });
    expect(host.status).toBe(403);
    expect(JSON.parse(host.body).error.message).toMatch(/Host "evil.example:\d+" is not allowed/);
    // The client's own origin is fine.
    const local = await rawPost({ ...auth, origin: `http://127.0.0.1:${port}` });
    expect(local.status).toBe(200);
  });

  it('maintenance mode refuses new HTTP sessions too', async () => {
    const open = await httpClient({ authorization: `Bearer ${TOKEN}` });
    const maint = (mode: string) => spawnSync(process.execPath, [CLI, 'maintenance', mode, 'upgrade'], { env, encoding: 'utf8' });
    expect(maint('on').status).toBe(0);
    try {
      const raw = await rawPost({ authorization: `Bearer ${TOKEN}` });
      expect(raw.status).toBe(503);
      expect(JSON.parse(raw.body).error.message).toMatch(/maintenance mode \(upgrade\)/);
      await call(open, 'memory_stats');
    } finally {
      expect(maint('off').status).toBe(0);
    }
    expect((await rawPost({ authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    await open.close();
  });

  it('will not start without a token, nor on a non-loopback address', () => {
    const env = { PATH: process.env.PATH ?? '', HOME: dir, BRAIN_DB_PATH: path.join(dir, 'x.db') };
    const noToken = spawnSync(process.execPath, [CLI, 'serve'], { env: { ...env, BRAIN_HTTP_ADDR: '127.0.0.1:1' }, encoding: 'utf8' });
    expect(noToken.status).toBe(2);
    expect(noToken.stderr).toMatch(/BRAIN_HTTP_ADDR=127.0.0.1:1 needs a bearer token/);
    const exposed = spawnSync(process.execPath, [CLI, 'serve'], { env: { ...env, BRAIN_HTTP_ADDR: '0.0.0.0:8080', BRAIN_HTTP_TOKEN: TOKEN }, encoding: 'utf8' });
    expect(exposed.status).toBe(2);
    expect(exposed.stderr).toMatch(/BRAIN_HTTP_ADDR.*loopback/);
    const missing = spawnSync(process.execPath, [CLI, 'serve'], {
      env: { ...env, BRAIN_SOCKET_PATH: path.join(dir, 'other.sock'), BRAIN_HTTP_ADDR: '127.0.0.1:1', BRAIN_HTTP_TOKEN_FILE: path.join(dir, 'no-such-token') },
      encoding: 'utf8',
    });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/cannot read BRAIN_HTTP_TOKEN_FILE .*no-such-token: ENOENT/);
  });
});
