// MCP over Streamable HTTP for clients that cannot reach the Unix socket. Loopback only, and every
// request must carry the bearer token. Host and Origin are checked before anything else: a web
// page the person visits can make their browser talk to 127.0.0.1 (DNS rebinding), and only these
// headers tell such a request apart. Each initialize opens its own MCP session.
import { randomUUID, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from './logger.js';
import { SESSION_REFUSED } from './session-gate.js';

export interface McpHttpOptions {
  host: string;
  port: number;
  token: string;
  logger: Logger;
  /** A new MCP server for one session, and what to call when that session ends. */
  connect: () => { server: Server; cleanup: () => void };
  /** A reason to refuse new sessions (maintenance), or undefined. */
  refusal?: () => string | undefined;
  /** Sessions with no request for this long are closed. */
  idleMs?: number;
}

export interface McpHttpServer {
  port: number;
  sessions(): number;
  close(): Promise<void>;
}

const MAX_BODY = 4 * 1024 * 1024;

function reply(res: http.ServerResponse, code: number, message: string, headers: Record<string, string> = {}) {
  res.writeHead(code, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
}

function readJson(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('request body over 4 MB'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new Error('request body is not JSON'));
      }
    });
    req.on('error', reject);
  });
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  if (!m) return false;
  const given = Buffer.from(m[1]);
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

export function startMcpHttp(opts: McpHttpOptions): Promise<McpHttpServer> {
  const { logger } = opts;
  const sessions = new Map<string, { transport: StreamableHTTPServerTransport; lastSeen: number }>();
  let allowedHosts = new Set<string>();

  const server = http.createServer((req, res) => {
    void (async () => {
      // DNS rebinding: the name the browser used must be ours, and so must any Origin.
      const host = req.headers.host ?? '';
      if (!allowedHosts.has(host)) return reply(res, 403, `Host "${host}" is not allowed; connect to ${[...allowedHosts][0]}`);
      const origin = req.headers.origin;
      if (origin !== undefined && !allowedHosts.has(origin.replace(/^http:\/\//, '')) ) {
        return reply(res, 403, `Origin "${origin}" is not allowed`);
      }
      if (!tokenMatches(req.headers.authorization, opts.token)) {
        return reply(res, 401, 'missing or wrong bearer token (Authorization: Bearer <BRAIN_HTTP_TOKEN>)', { 'www-authenticate': 'Bearer realm="brain"' });
      }
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname !== '/mcp') return reply(res, 404, 'MCP is served at /mcp');

      const id = req.headers['mcp-session-id'];
      if (typeof id === 'string') {
        const s = sessions.get(id);
        if (!s) return reply(res, 404, 'unknown or expired MCP session; initialize a new one');
        s.lastSeen = Date.now();
        const body = req.method === 'POST' ? await readJson(req) : undefined;
        return s.transport.handleRequest(req, res, body);
      }
      if (req.method !== 'POST') return reply(res, 400, 'no MCP session: POST an initialize request first');
      const body = await readJson(req);
      if (!isInitializeRequest(body)) return reply(res, 400, 'no MCP session: the first request must be initialize');
      const reason = opts.refusal?.();
      if (reason) {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', id: (body as { id?: unknown }).id ?? null, error: { code: SESSION_REFUSED, message: reason } }));
        return;
      }
      const { server: mcp, cleanup } = opts.connect();
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (sid) => void sessions.set(sid, { transport, lastSeen: Date.now() }),
      });
      transport.onclose = () => {
        if (transport.sessionId) sessions.delete(transport.sessionId);
        cleanup();
      };
      await mcp.connect(transport);
      await transport.handleRequest(req, res, body);
    })().catch((err: Error) => {
      logger.warn('MCP HTTP request failed', { error: err.message });
      if (!res.headersSent) reply(res, 400, err.message);
      else res.end();
    });
  });

  const idleMs = opts.idleMs ?? 30 * 60_000;
  const sweep = setInterval(() => {
    const cutoff = Date.now() - idleMs;
    for (const s of sessions.values()) if (s.lastSeen < cutoff) void s.transport.close();
  }, Math.min(idleMs, 60_000));
  sweep.unref();

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host.replace(/^\[|\]$/g, ''), () => {
      const port = (server.address() as AddressInfo).port;
      allowedHosts = new Set([`${opts.host}:${port}`, `localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]);
      logger.info('MCP HTTP listening', { host: opts.host, port });
      resolve({
        port,
        sessions: () => sessions.size,
        close: async () => {
          clearInterval(sweep);
          for (const s of [...sessions.values()]) await s.transport.close();
          await new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          });
        },
      });
    });
  });
}
