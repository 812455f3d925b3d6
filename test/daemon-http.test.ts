// Streamable HTTP on loopback: works with the token, refuses a missing or wrong token, a foreign
// Origin and a foreign Host (DNS rebinding), and needs a token to start at all. Refusals are
// logged (without the token) and counted; a session answers only the token and client that opened
// it; a stream dropped during a long execute resumes from the last event id.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, CLI, tempDir } from './helpers/brain.js';
import { daemonEnv, freePort, startServe, waitFor, type RunningDaemon } from './helpers/daemon.js';

const TOKEN = 'test-token-0123456789abcdef';
/** A second client's token: the token file holds one per line. */
const TOKEN2 = 'second-client-token-0123456789';
let dir: string;
let daemon: RunningDaemon;
let base: string;
let port: number;
let env: Record<string, string>;

beforeAll(async () => {
  dir = tempDir('brain-http-');
  port = await freePort();
  fs.writeFileSync(path.join(dir, 'token'), `# one token per client\n${TOKEN}\n\n${TOKEN2}\n`, { mode: 0o600 });
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

interface Sent {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request to /mcp with the token and a fixed client (User-Agent) unless told otherwise. */
function mcp(method: string, headers: Record<string, string>, body?: unknown): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/mcp',
        method,
        headers: {
          authorization: `Bearer ${TOKEN}`,
          'user-agent': 'client-a',
          accept: 'application/json, text/event-stream',
          'content-type': 'application/json',
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** initialize + initialized; resolves to the session id. */
async function openSession(headers: Record<string, string> = {}, protocolVersion = '2025-06-18'): Promise<string> {
  const init = await mcp('POST', headers, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
  expect(init.status, init.body).toBe(200);
  const sid = init.headers['mcp-session-id'] as string;
  expect((await mcp('POST', { ...headers, 'mcp-session-id': sid, 'mcp-protocol-version': protocolVersion }, { jsonrpc: '2.0', method: 'notifications/initialized' })).status).toBe(202);
  return sid;
}

/** The data of each server-sent event in a body (a JSON-RPC message, or '' for a priming event), with its id. */
function sseEvents(text: string): { id?: string; retry?: string; data: string }[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() && !block.startsWith(':'))
    .map((block) => {
      const e: { id?: string; retry?: string; data: string } = { data: '' };
      for (const line of block.split('\n')) {
        const i = line.indexOf(':');
        const [field, value] = [line.slice(0, i), line.slice(i + 1).replace(/^ /, '')];
        if (field === 'id') e.id = value;
        else if (field === 'retry') e.retry = value;
        else if (field === 'data') e.data += value;
      }
      return e;
    });
}

/**
 * Opens an SSE response and reads events until `until` says stop (then drops the connection, as
 * a network failure would) or the stream ends.
 */
function readStream(
  method: string,
  headers: Record<string, string>,
  body: unknown,
  until: (events: ReturnType<typeof sseEvents>) => boolean,
): Promise<{ status: number; events: ReturnType<typeof sseEvents> }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/mcp',
        method,
        headers: { authorization: `Bearer ${TOKEN}`, 'user-agent': 'client-a', accept: 'application/json, text/event-stream', 'content-type': 'application/json', ...headers },
      },
      (res) => {
        let text = '';
        const done = () => resolve({ status: res.statusCode ?? 0, events: sseEvents(text) });
        res.on('data', (d: Buffer) => {
          text += d.toString();
          if (until(sseEvents(text))) {
            done();
            req.destroy();
          }
        });
        res.on('end', done);
        res.on('error', () => {});
      },
    );
    req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

async function scrape(): Promise<string> {
  return (await fetch(daemon.url('/metrics'))).text();
}

function refusedCount(text: string, reason: string): number {
  const m = new RegExp(`^brain_http_refused_total\\{port="mcp",reason="${reason}"\\} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
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
      // brain's own code for "not accepting sessions", not the SDK's RequestTimeout (-32001).
      expect(JSON.parse(raw.body)).toMatchObject({ id: 1, error: { code: -32010, message: expect.stringMatching(/maintenance mode \(upgrade\)/) } });
      await call(open, 'recall', { query: 'anything' });
    } finally {
      expect(maint('off').status).toBe(0);
    }
    expect((await rawPost({ authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    await open.close();
  });

  it('refused requests are logged without the token and counted in brain_http_refused_total', async () => {
    // Refusals are logged at most once per reason and second (refusalRecorder), and the tests
    // before this one were refused for the same reasons: let a second pass, or this test's lines
    // could be folded into a count instead of printed.
    await new Promise((r) => setTimeout(r, 1100));
    const logFrom = daemon.stderr().length;
    const before = await scrape();
    const wrong = 'wrong-token-never-logged-0123456789';
    expect((await rawPost({ authorization: `Bearer ${wrong}` })).status).toBe(401);
    expect((await rawPost({ authorization: `Bearer ${TOKEN}`, host: `evil.example:${port}` })).status).toBe(403);
    expect((await rawPost({ authorization: `Bearer ${TOKEN}`, origin: 'http://evil.example' })).status).toBe(403);
    const after = await scrape();
    for (const reason of ['token', 'host', 'origin']) expect(refusedCount(after, reason) - refusedCount(before, reason), reason).toBe(1);
    // Only the lines this test caused: three refusals, three lines.
    const ours = () => daemon.stderr().slice(logFrom);
    await waitFor('the refusal log lines', () => (ours().match(/HTTP request refused/g) ?? []).length >= 3);
    const log = ours();
    expect(log).toMatch(/HTTP request refused \(origin\) .*"origin":"http:\/\/evil\.example"/);
    expect(log).toMatch(/HTTP request refused \(token\) .*"port":"mcp","status":401,"method":"POST","path":"\/mcp".*"authorization":"given"/);
    expect(log).toMatch(/HTTP request refused \(host\) .*"host":"evil\.example:\d+"/);
    expect(log).not.toContain(wrong);
    expect(log).not.toContain(TOKEN);
  });

  it('a session answers only the token and the client that opened it', async () => {
    const sid = await openSession();
    const ping = (headers: Record<string, string>) => mcp('POST', { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18', ...headers }, { jsonrpc: '2.0', id: 5, method: 'ping' });
    // The other client's token is valid, but not for this session: the same answer as an unknown id.
    const otherToken = await ping({ authorization: `Bearer ${TOKEN2}` });
    expect(otherToken.status).toBe(404);
    expect(JSON.parse(otherToken.body).error.message).toBe('unknown or expired MCP session; initialize a new one');
    expect((await ping({ 'user-agent': 'client-b' })).status).toBe(404);
    expect((await ping({})).status).toBe(200);
    // The second token opens sessions of its own.
    const mine = await openSession({ authorization: `Bearer ${TOKEN2}` });
    expect((await mcp('POST', { authorization: `Bearer ${TOKEN2}`, 'mcp-session-id': mine, 'mcp-protocol-version': '2025-06-18' }, { jsonrpc: '2.0', id: 6, method: 'ping' })).status).toBe(200);
    expect(refusedCount(await scrape(), 'session')).toBeGreaterThanOrEqual(2);
  });

  it('malformed JSON-RPC over HTTP gets the specification\'s codes, not a bare parse error', async () => {
    const sid = await openSession();
    const post = (body: string) =>
      new Promise<Sent>((resolve, reject) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port,
            path: '/mcp',
            method: 'POST',
            headers: { authorization: `Bearer ${TOKEN}`, 'user-agent': 'client-a', accept: 'application/json, text/event-stream', 'content-type': 'application/json', 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' },
          },
          (res) => {
            let text = '';
            res.on('data', (d: Buffer) => (text += d.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    const notJson = await post('{oops');
    expect(notJson.status).toBe(400);
    expect(JSON.parse(notJson.body).error.code).toBe(-32700);
    const batch = await post(JSON.stringify([{ jsonrpc: '2.0', id: 1, method: 'ping' }]));
    expect(batch.status).toBe(400);
    expect(JSON.parse(batch.body).error).toMatchObject({ code: -32600, message: expect.stringMatching(/batches are not supported/) });
    const version = await post(JSON.stringify({ jsonrpc: '1.0', id: 3, method: 'ping' }));
    expect(JSON.parse(version.body)).toMatchObject({ id: 3, error: { code: -32600 } });
    // Wrong parameters of a valid request: answered like a request (200), matched by id.
    const args = await post(JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'recall', arguments: [] } }));
    expect(args.status).toBe(200);
    expect(JSON.parse(args.body)).toEqual({ jsonrpc: '2.0', id: 4, error: { code: -32602, message: 'Invalid tools/call request: "params.arguments" must be an object (got []).' } });
  });

  it('a stream dropped during a long execute is resumed from the last event id, and only by its session', async () => {
    const version = '2025-11-25';
    const sid = await openSession({}, version);
    const headers = { 'mcp-session-id': sid, 'mcp-protocol-version': version };
    const request = { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'execute', arguments: { code: 'import time\ntime.sleep(2)\nprint("finished after the drop")' } } };
    // The first event primes the stream with an id and a retry delay; the connection then breaks.
    const first = await readStream('POST', headers, request, (events) => events.length >= 1);
    expect(first.status).toBe(200);
    const priming = first.events[0];
    expect(priming).toMatchObject({ data: '', retry: '1000' });
    expect(priming.id).toMatch(/^\d+$/);

    // Another session cannot replay this stream.
    const other = await openSession({}, version);
    const stolen = await mcp('GET', { 'mcp-session-id': other, 'mcp-protocol-version': version, 'last-event-id': priming.id!, accept: 'text/event-stream' });
    expect(stolen.status).toBe(400);

    // The client reconnects with Last-Event-ID and gets the result it missed.
    const resumed = await readStream('GET', { ...headers, 'last-event-id': priming.id!, accept: 'text/event-stream' }, undefined, (events) => events.some((e) => e.data.includes('"id":7')));
    expect(resumed.status).toBe(200);
    const result = JSON.parse(resumed.events.find((e) => e.data.includes('"id":7'))!.data) as { result: { structuredContent: { status: string; stdout: string } } };
    expect(result.result.structuredContent).toMatchObject({ status: 'succeeded', stdout: 'finished after the drop\n' });
  }, 60_000);

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
