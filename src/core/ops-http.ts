// The operations side port: Prometheus metrics, health checks and a few admin actions over plain
// HTTP. Loopback by default (BRAIN_METRICS_HOST). It never takes MCP traffic, and a port that is
// already taken is a warning, not a reason to stop serving memory.
// Who may ask what: /metrics and /health* answer without a token (Prometheus and service
// managers' probes carry none), but only to requests addressed to this port by a loopback name
// or an IP address: /health tells where the database is and how much memory and disk are left,
// which a web page must not learn through DNS rebinding. /admin/* acts, so it also needs the
// bearer token (BRAIN_HTTP_TOKEN / BRAIN_HTTP_TOKEN_FILE) and never answers a browser.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { bearerFingerprint, hostAllowed, loopbackHosts, refusalRecorder } from './http-guard.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

export type CheckStatus = 'ok' | 'degraded' | 'fail';

export interface HealthCheck {
  status: CheckStatus;
  detail: string;
  [extra: string]: unknown;
}

export interface HealthReport {
  status: 'healthy' | 'degraded' | 'unhealthy';
  timestamp: string;
  checks: Record<string, HealthCheck>;
}

export interface OpsHttpOptions {
  host: string;
  port: number;
  metrics: Metrics;
  logger: Logger;
  /** Refreshes gauges that are cheaper to read at scrape time than to keep current. */
  beforeScrape?: () => void;
  health: () => Record<string, HealthCheck>;
  /** Whether new work should be sent here (false while starting, stopping or unhealthy). */
  ready?: () => boolean;
  /** POST /admin/<name>: each returns a JSON-able result or throws. */
  admin?: ReadonlyMap<string, () => unknown>;
  /** Bearer tokens that may use /admin/*; with none, admin actions are off. */
  adminTokens?: readonly string[];
}

export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

export function healthReport(checks: Record<string, HealthCheck>): HealthReport {
  const states = Object.values(checks).map((c) => c.status);
  const status = states.includes('fail') ? 'unhealthy' : states.includes('degraded') ? 'degraded' : 'healthy';
  return { status, timestamp: new Date().toISOString(), checks };
}

function send(res: http.ServerResponse, code: number, body: unknown, type = 'application/json') {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(text);
}

/** Starts the side port; resolves to undefined (after a warning) when it cannot listen. */
export function startOpsServer(opts: OpsHttpOptions): Promise<OpsServer | undefined> {
  const { metrics, logger } = opts;
  const recordRefusal = refusalRecorder(logger, metrics, 'ops');
  const adminTokens = opts.adminTokens ?? [];
  const adminNames = [...(opts.admin?.keys() ?? [])];
  let allowedHosts = new Set<string>();
  let port = 0;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = `${req.method} ${url.pathname}`;
    const refuse = (reason: Parameters<typeof recordRefusal>[0], code: number, error: string) => {
      recordRefusal(reason, req, code);
      req.resume();
      send(res, code, { error });
    };
    void (async () => {
      try {
        if (!hostAllowed(req.headers.host, allowedHosts, port, true)) {
          return refuse('host', 403, `Host "${req.headers.host ?? ''}" is not allowed; use ${[...allowedHosts][0]} or this machine's IP address`);
        }
        if (route === 'GET /metrics') {
          try {
            opts.beforeScrape?.();
          } catch (err) {
            // A scrape still answers with what it has; /health says what is wrong.
            logger.warn('metrics refresh failed', { error: String(err) });
          }
          return send(res, 200, await metrics.registry.metrics(), metrics.registry.contentType);
        }
        if (route === 'GET /health') {
          const report = healthReport(opts.health());
          return send(res, report.status === 'unhealthy' ? 503 : 200, report);
        }
        if (route === 'GET /health/live') return send(res, 200, 'OK\n', 'text/plain');
        if (route === 'GET /health/ready') {
          const ready = (opts.ready?.() ?? true) && healthReport(opts.health()).status !== 'unhealthy';
          return send(res, ready ? 200 : 503, ready ? 'Ready\n' : 'Not Ready\n', 'text/plain');
        }
        if (req.method === 'POST' && url.pathname.startsWith('/admin/')) {
          // A web page may POST to loopback (browsers send an Origin then); admin is for operators' tools.
          if (req.headers.origin) return refuse('browser', 403, 'admin endpoints do not accept browser requests');
          if (!adminTokens.length) {
            return refuse('token', 403, 'admin endpoints are off: set BRAIN_HTTP_TOKEN or BRAIN_HTTP_TOKEN_FILE, then send Authorization: Bearer <token>');
          }
          if (!bearerFingerprint(req.headers.authorization, adminTokens)) {
            return refuse('token', 401, 'missing or wrong bearer token (Authorization: Bearer <BRAIN_HTTP_TOKEN>)');
          }
          // A Map, not an object: "constructor" or "toString" must not name an action.
          const action = opts.admin?.get(url.pathname.slice('/admin/'.length));
          req.resume();
          if (!action) return send(res, 404, { error: `no admin action ${url.pathname}`, actions: adminNames.map((n) => `POST /admin/${n}`) });
          return send(res, 200, await action());
        }
        req.resume();
        send(res, 404, { error: 'not found', endpoints: ['/metrics', '/health', '/health/live', '/health/ready', ...adminNames.map((n) => `POST /admin/${n} (token)`)] });
      } catch (err) {
        logger.error('ops endpoint failed', { route, error: (err as Error).stack ?? String(err) });
        if (!res.headersSent) send(res, 500, { error: (err as Error).message });
        else res.end();
      }
    })();
  });
  server.keepAliveTimeout = 5000;

  return new Promise((resolve) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'the port is already in use' : err.message;
      const text = `metrics side port ${opts.host}:${opts.port} not started: ${why}. brain keeps serving; set BRAIN_METRICS_PORT to a free port (or 0 to turn it off).`;
      logger.warn(text);
      resolve(undefined);
    });
    server.listen(opts.port, opts.host, () => {
      port = (server.address() as AddressInfo).port;
      allowedHosts = loopbackHosts(opts.host, port);
      logger.info('metrics side port listening', { host: opts.host, port });
      resolve({
        port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
