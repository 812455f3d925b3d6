// Streamable HTTP in process (src/core/mcp-http.ts with small limits): open sessions are capped,
// the longest-idle one makes room, idle ones expire, and bodies over the limit get a 413 with a
// sentence rather than a reset connection.
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startMcpHttp, type McpHttpOptions, type McpHttpServer } from '../src/core/mcp-http.js';
import { silentLogger } from '../src/core/logger.js';
import { createMetrics, type Metrics } from '../src/core/metrics.js';
import { createServer } from '../src/core/server.js';
import { waitFor } from './helpers/daemon.js';

const TOKEN = 'unit-token-0123456789abcdef';
let server: McpHttpServer | undefined;
let metrics: Metrics;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(opts: Partial<McpHttpOptions> = {}): Promise<McpHttpServer> {
  metrics = createMetrics();
  const logger = silentLogger();
  server = await startMcpHttp({
    host: '127.0.0.1',
    port: 0,
    tokens: [TOKEN],
    logger,
    metrics,
    connect: () => createServer({ name: 'brain-test', version: '1', instructions: '', tools: [], logger, metrics }),
    ...opts,
  });
  return server;
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(method: string, headers: Record<string, string>, body?: string | Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: server!.port,
        path: '/mcp',
        method,
        headers: { authorization: `Bearer ${TOKEN}`, accept: 'application/json, text/event-stream', 'content-type': 'application/json', ...headers },
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
}

const INIT = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'unit', version: '1' } } });

async function open(): Promise<string> {
  const r = await request('POST', {}, INIT);
  expect(r.status, r.body).toBe(200);
  return r.headers['mcp-session-id'] as string;
}

async function ping(session: string): Promise<number> {
  return (await request('POST', { 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' }, JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' }))).status;
}

async function refused(reason: string): Promise<number> {
  const text = await metrics.registry.metrics();
  const m = new RegExp(`^brain_http_refused_total\\{port="mcp",reason="${reason}"\\} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

describe('MCP over HTTP: limits', () => {
  it('caps open sessions: past the cap a new session is refused with 503 and a sentence until one closes', async () => {
    await start({ maxSessions: 3 });
    const ids = [await open(), await open(), await open()];
    const over = await request('POST', {}, INIT);
    expect(over.status).toBe(503);
    expect(over.headers['retry-after']).toBe('60');
    expect(JSON.parse(over.body).error.message).toBe(
      'brain has 3 MCP sessions open over HTTP, its limit; close one (DELETE /mcp with its Mcp-Session-Id) or try again in a minute.',
    );
    expect(await refused('busy')).toBe(1);
    expect(server!.sessions()).toBe(3);
    // Many more attempts change nothing: the count (and the memory they would hold) stays at the cap.
    for (let i = 0; i < 50; i++) expect((await request('POST', {}, INIT)).status).toBe(503);
    expect(server!.sessions()).toBe(3);
    expect((await request('DELETE', { 'mcp-session-id': ids[0], 'mcp-protocol-version': '2025-06-18' })).status).toBe(200);
    await open();
    expect(server!.sessions()).toBe(3);
  });

  it('at the cap, the longest-idle session makes room once it has been idle long enough', async () => {
    await start({ maxSessions: 2, evictIdleAfterMs: 0 });
    const first = await open();
    const second = await open();
    expect(await ping(second)).toBe(200);
    const third = await open();
    expect(server!.sessions()).toBe(2);
    expect(await ping(first)).toBe(404);
    expect(await ping(second)).toBe(200);
    expect(await ping(third)).toBe(200);
  });

  it('idle sessions expire', async () => {
    await start({ idleMs: 150 });
    const id = await open();
    expect(server!.sessions()).toBe(1);
    await waitFor('the idle session to expire', () => server!.sessions() === 0, 10_000);
    const gone = await request('POST', { 'mcp-session-id': id }, JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' }));
    expect(gone.status).toBe(404);
    expect(JSON.parse(gone.body).error.message).toBe('unknown or expired MCP session; initialize a new one');
  });

  it('a body over the limit is answered 413 with a sentence, declared or streamed', async () => {
    await start({ maxBodyBytes: 1024 * 1024 });
    const big = Buffer.alloc(2 * 1024 * 1024, 'x');
    const declared = await request('POST', {}, big);
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.body).error.message).toBe('The request body is 2.0 MB; brain takes at most 1 MB per JSON-RPC message. Send large content in parts.');
    // Chunked: no Content-Length, so the limit is found while reading.
    const streamed = await new Promise<Answer>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: server!.port, path: '/mcp', method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' } },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
        },
      );
      req.on('error', reject);
      for (let i = 0; i < 32; i++) req.write(Buffer.alloc(64 * 1024, 'y'));
      req.end();
    });
    expect(streamed.status).toBe(413);
    expect(JSON.parse(streamed.body).error.message).toMatch(/^The request body is over the limit; brain takes at most 1 MB per JSON-RPC message/);
    expect(await refused('size')).toBe(2);
    // The server is fine afterwards.
    await open();
  });
});
