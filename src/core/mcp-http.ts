// MCP over Streamable HTTP for clients that cannot reach the Unix socket. Loopback only, and every
// request must carry a bearer token. Host and Origin are checked before anything else: a web
// page the person visits can make their browser talk to 127.0.0.1 (DNS rebinding), and only these
// headers tell such a request apart. Each initialize opens its own MCP session, bound to the token
// and client (User-Agent) that opened it; sessions are capped in number and expire when idle, and
// a stream that drops (a long execute) can be resumed from the last event the client saw.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { ErrorCode, isInitializeRequest, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { createEventStores, DEFAULT_EVENT_LIMITS, type EventStoreLimits, type SessionEventStore } from './event-store.js';
import { bearerFingerprint, hostAllowed, loopbackHosts, refusalRecorder, type RefusalReason } from './http-guard.js';
import { checkText, errorReply, MAX_MESSAGE_BYTES } from './jsonrpc.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { SESSION_REFUSED } from './session-gate.js';

export interface McpHttpOptions {
  host: string;
  port: number;
  /** Accepted bearer tokens (one per client, say); a session answers only the token that opened it. */
  tokens: readonly string[];
  logger: Logger;
  metrics?: Metrics;
  /** A new MCP server for one session, and what to call when that session ends. */
  connect: () => { server: Server; cleanup: () => void };
  /** A reason to refuse new sessions (maintenance), or undefined. */
  refusal?: () => string | undefined;
  /** Sessions with no request for this long are closed (default 30 minutes). */
  idleMs?: number;
  /** Open sessions at most (default 100); past it the longest-idle one goes, or the new one waits. */
  maxSessions?: number;
  /** How long a session must have been idle before it may be closed to make room (default 1 minute). */
  evictIdleAfterMs?: number;
  /** Largest request body (default 10 MB, as for stdio). */
  maxBodyBytes?: number;
  /** What is kept for resuming dropped streams. */
  eventLimits?: EventStoreLimits;
  /** The reconnection delay suggested to clients in each stream's first event. */
  retryMs?: number;
}

export interface McpHttpServer {
  port: number;
  sessions(): number;
  close(): Promise<void>;
}


interface Session {
  transport: StreamableHTTPServerTransport;
  events: SessionEventStore;
  lastSeen: number;
  token: string;
  agent: string;
}

function reply(res: http.ServerResponse, status: number, message: string, headers: Record<string, string> = {}, code = -32000) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

function replyMessage(res: http.ServerResponse, status: number, message: JSONRPCMessage) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(message));
}

class BodyTooLarge extends Error {}

/** The body as text, or BodyTooLarge as soon as it passes `max` bytes (nothing more is kept). */
function readBody(req: http.IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.off('data', onData);
        // Read on without keeping anything, so the client can finish sending and read the answer.
        req.resume();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function startMcpHttp(opts: McpHttpOptions): Promise<McpHttpServer> {
  const { logger, metrics } = opts;
  const sessions = new Map<string, Session>();
  const idleMs = opts.idleMs ?? 30 * 60_000;
  const maxSessions = opts.maxSessions ?? 100;
  const evictAfterMs = opts.evictIdleAfterMs ?? 60_000;
  const maxBody = opts.maxBodyBytes ?? MAX_MESSAGE_BYTES;
  const eventStores = createEventStores(opts.eventLimits ?? DEFAULT_EVENT_LIMITS);
  const recordRefusal = refusalRecorder(logger, metrics, 'mcp');
  let allowedHosts = new Set<string>();
  let listeningPort = 0;
  const counted = () => metrics?.httpSessions.set(sessions.size);

  function refuse(req: http.IncomingMessage, res: http.ServerResponse, reason: RefusalReason, status: number, message: string, headers: Record<string, string> = {}) {
    recordRefusal(reason, req, status);
    // A body the client is still sending is read and dropped, so it gets this answer rather than
    // a reset; the connection then closes.
    req.resume();
    reply(res, status, message, { connection: 'close', ...headers });
  }

  /** Room for one more session: true, after closing the longest-idle one if the cap is reached and it has been idle a while. */
  async function makeRoom(): Promise<boolean> {
    if (sessions.size < maxSessions) return true;
    let idlest: Session | undefined;
    for (const s of sessions.values()) if (!idlest || s.lastSeen < idlest.lastSeen) idlest = s;
    if (!idlest || Date.now() - idlest.lastSeen < evictAfterMs) return false;
    logger.info('closing the longest-idle MCP HTTP session to make room', { idle_s: Math.round((Date.now() - idlest.lastSeen) / 1000), limit: maxSessions });
    await idlest.transport.close();
    return sessions.size < maxSessions;
  }

  const server = http.createServer((req, res) => {
    void (async () => {
      // DNS rebinding: the name the browser used must be ours, and so must any Origin.
      const host = req.headers.host ?? '';
      if (!hostAllowed(host, allowedHosts, listeningPort)) {
        return refuse(req, res, 'host', 403, `Host "${host}" is not allowed; connect to ${[...allowedHosts][0]}`);
      }
      const origin = req.headers.origin;
      if (origin !== undefined && !allowedHosts.has(origin.replace(/^http:\/\//, ''))) {
        return refuse(req, res, 'origin', 403, `Origin "${origin}" is not allowed`);
      }
      const token = bearerFingerprint(req.headers.authorization, opts.tokens);
      if (!token) {
        return refuse(req, res, 'token', 401, 'missing or wrong bearer token (Authorization: Bearer <BRAIN_HTTP_TOKEN>)', { 'www-authenticate': 'Bearer realm="brain"' });
      }
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname !== '/mcp') {
        req.resume();
        return reply(res, 404, 'MCP is served at /mcp');
      }
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > maxBody) return tooLarge(req, res, declared);

      const agent = req.headers['user-agent'] ?? '';
      const id = req.headers['mcp-session-id'];
      if (typeof id === 'string') {
        const s = sessions.get(id);
        // Another token or client presenting this id learns nothing: the same answer as for an unknown id.
        if (!s || s.token !== token || s.agent !== agent) {
          return refuse(req, res, 'session', 404, 'unknown or expired MCP session; initialize a new one');
        }
        s.lastSeen = Date.now();
        if (req.method !== 'POST') return s.transport.handleRequest(req, res);
        const body = await checkedBody(req, res);
        if (body === undefined) return;
        return s.transport.handleRequest(req, res, body);
      }
      if (req.method !== 'POST') {
        req.resume();
        return reply(res, 400, 'no MCP session: POST an initialize request first');
      }
      const body = await checkedBody(req, res);
      if (body === undefined) return;
      if (!isInitializeRequest(body)) return reply(res, 400, 'no MCP session: the first request must be initialize');
      const reason = opts.refusal?.();
      if (reason) return replyMessage(res, 503, errorReply((body as unknown as { id: string | number }).id, SESSION_REFUSED, reason));
      if (!(await makeRoom())) {
        return refuse(req, res, 'busy', 503, `brain has ${sessions.size} MCP sessions open over HTTP, its limit; close one (DELETE /mcp with its Mcp-Session-Id) or try again in a minute.`, {
          'retry-after': '60',
        });
      }
      const { server: mcp, cleanup } = opts.connect();
      const events = eventStores.forSession();
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        eventStore: events,
        retryInterval: opts.retryMs ?? 1000,
        onsessioninitialized: (sid) => {
          sessions.set(sid, { transport, events, lastSeen: Date.now(), token, agent });
          counted();
        },
      });
      transport.onclose = () => {
        if (transport.sessionId) sessions.delete(transport.sessionId);
        counted();
        events.drop();
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

  function tooLarge(req: http.IncomingMessage, res: http.ServerResponse, bytes: number | undefined) {
    const size = bytes ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : 'over the limit';
    refuse(req, res, 'size', 413, `The request body is ${size}; brain takes at most ${maxBody / 1024 / 1024} MB per JSON-RPC message. Send large content in parts.`);
  }

  /**
   * The request's JSON-RPC message, checked as on every transport; undefined when it was answered
   * here (not JSON, not a valid request, over the size limit).
   */
  async function checkedBody(req: http.IncomingMessage, res: http.ServerResponse): Promise<unknown> {
    let text: string;
    try {
      text = await readBody(req, maxBody);
    } catch (err) {
      if (err instanceof BodyTooLarge) tooLarge(req, res, undefined);
      else reply(res, 400, `could not read the request body: ${(err as Error).message}`);
      return undefined;
    }
    const checked = checkText(text);
    if (checked.message) return checked.message;
    logger.warn('MCP HTTP message refused', { problem: checked.problem.slice(0, 300) });
    if (!checked.reply) {
      reply(res, 400, checked.problem, {}, ErrorCode.InvalidRequest);
      return undefined;
    }
    // A well-formed request with wrong parameters is answered like any other request (200 and its
    // JSON-RPC error, which clients match by id); a message that is not one is a bad request.
    replyMessage(res, checked.reply.error.code === ErrorCode.InvalidParams && checked.reply.id !== null ? 200 : 400, checked.reply);
    return undefined;
  }

  const sweep = setInterval(
    () => {
      const cutoff = Date.now() - idleMs;
      for (const s of sessions.values()) if (s.lastSeen < cutoff) void s.transport.close();
    },
    Math.max(50, Math.min(idleMs / 2, 60_000)),
  );
  sweep.unref();

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host.replace(/^\[|\]$/g, ''), () => {
      listeningPort = (server.address() as AddressInfo).port;
      allowedHosts = loopbackHosts(opts.host, listeningPort);
      logger.info('MCP HTTP listening', { host: opts.host, port: listeningPort });
      resolve({
        port: listeningPort,
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
