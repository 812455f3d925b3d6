// `brain serve`: the long-lived core. One process owns the database as its single writer, serves
// every assistant session over the Unix socket (each connection its own MCP session), optionally
// Streamable HTTP on loopback, runs maintenance on a schedule, and answers operators on the
// metrics side port.
import fs from 'node:fs';
import net from 'node:net';
import { createApp, createAppLogger, packageVersion, type App } from '../app.js';
import type { Config } from '../core/config.js';
import type { McpHttpServer } from '../core/mcp-http.js';
import { createMetrics, type Metrics } from '../core/metrics.js';
import type { OpsServer } from '../core/ops-http.js';
import { gateSessions } from '../core/session-gate.js';
import { SocketTransport } from '../core/socket-transport.js';
import type { Logger } from '../core/logger.js';
import { sessionRefusal } from '../ops/settings.js';
import { watchHealth } from '../ops/health.js';
import { removeDaemonRecord, writeDaemonRecord } from './discover.js';
import { announceMaintenance } from './maintenance-notice.js';
import { healthChecks, startOpsSide } from './ops-side.js';
import { readTokens } from './tokens.js';
import { claimSocketPath, DaemonStartError, listenUnix } from './unix-socket.js';

export interface Daemon {
  app: App;
  socketPath: string;
  ops?: OpsServer;
  http?: McpHttpServer;
  /** Stops accepting, closes every session, waits for maintenance, closes the database. */
  stop(reason: string): Promise<void>;
}

export async function startDaemon(config: Config, opts: { logger?: Logger; metrics?: Metrics } = {}): Promise<Daemon> {
  const logger = opts.logger ?? createAppLogger(config);
  const metrics = opts.metrics ?? createMetrics({ defaultMetrics: true });
  metrics.buildInfo.set({ version: packageVersion(), node_version: process.versions.node }, 1);
  // Read before anything opens: a token file that cannot be read is a start-up error.
  const tokens = readTokens(config);

  // Before opening anything: a second daemon must not run maintenance on a database the first owns.
  await claimSocketPath(config.socketPath);
  const app = createApp(config, { logger, metrics, mode: 'daemon' });
  const { events, maintenance } = app;

  let accepting = true;
  const refusal = sessionRefusal(app.db);
  const live = new Set<net.Socket>();
  const socketServer = net.createServer((sock) => {
    if (!accepting) return void sock.destroy();
    live.add(sock);
    sock.on('close', () => live.delete(sock));
    const { server } = app.connect();
    const transport = new SocketTransport(sock, { onProblem: (problem) => logger.warn('socket session: message refused', { problem: problem.slice(0, 300) }) });
    server.connect(gateSessions(transport, refusal)).catch((err: Error) => {
      logger.warn('could not start a socket session', { error: err.message });
      sock.destroy();
    });
  });
  socketServer.on('error', (err) => logger.error('socket server error', { error: err.message }));

  const ops = config.metricsPort > 0 ? await startOpsSide({ app, ready: () => accepting, adminTokens: tokens }) : undefined;
  const stopMaintenanceNotices = announceMaintenance(app.db, app.notices, logger);

  let http: McpHttpServer | undefined;
  if (config.httpAddr && tokens.length) {
    const i = config.httpAddr.lastIndexOf(':');
    try {
      // Loaded only when asked for: the HTTP stack costs every embedded start tens of milliseconds.
      const { startMcpHttp } = await import('../core/mcp-http.js');
      http = await startMcpHttp({
        host: config.httpAddr.slice(0, i),
        port: Number(config.httpAddr.slice(i + 1)),
        tokens,
        logger,
        metrics,
        connect: () => app.connect(),
        refusal,
      });
    } catch (err) {
      stopMaintenanceNotices();
      await ops?.close();
      app.close();
      throw new DaemonStartError(`cannot serve MCP over HTTP on BRAIN_HTTP_ADDR=${config.httpAddr}: ${(err as Error).message}`);
    }
  }

  const stopHealthWatch = watchHealth(
    healthChecks(app),
    metrics,
    (check, from, now) => {
      const severity = now.status === 'fail' ? 'error' : now.status === 'degraded' ? 'warning' : 'info';
      const message = now.status === 'ok' ? `health check ${check} recovered (was ${from}): ${now.detail}` : `health check ${check} is ${now.status}: ${now.detail}`;
      logger[severity === 'info' ? 'info' : severity === 'warning' ? 'warn' : 'error'](message);
      events.record(`health.${check}`, severity, message);
    },
    config.healthCheckIntervalMs,
  );
  events.record('brain.start', 'info', `brain serve ${packageVersion()} started (pid ${process.pid})`, {
    socket: config.socketPath,
    metrics_port: ops?.port ?? null,
    http_port: http?.port ?? null,
  });
  // The socket opens last: once it answers (what start-mcp.sh and systemd watchers look for),
  // everything else is up.
  try {
    await listenUnix(socketServer, config.socketPath);
  } catch (err) {
    // Another brain serve claimed the path in the moment since we checked it.
    stopHealthWatch();
    stopMaintenanceNotices();
    await maintenance.stop();
    await http?.close();
    await ops?.close();
    app.close();
    throw new DaemonStartError(`cannot listen on ${config.socketPath}: ${(err as Error).message}`);
  }
  // Embedded `brain` processes on the same database find this daemon through the record and bridge to it.
  try {
    writeDaemonRecord(config.socketPath, { pid: process.pid, version: packageVersion(), db: config.dbPath, tools: config.tools });
  } catch (err) {
    // Clients then run embedded, as they would without a daemon: worth a warning, not a failed start.
    logger.warn('could not write the record embedded clients find this daemon by', { file: `${config.socketPath}.json`, error: (err as Error).message });
  }
  logger.info('brain serve ready', { socket: config.socketPath, db: config.dbPath, metrics: ops?.port, http: http?.port });

  let stopping: Promise<void> | undefined;
  return {
    app,
    socketPath: config.socketPath,
    ops,
    http,
    stop(reason: string) {
      stopping ??= (async () => {
        accepting = false;
        logger.info('brain serve stopping', { reason });
        removeDaemonRecord(config.socketPath);
        socketServer.close();
        for (const sock of live) sock.end();
        await http?.close();
        stopHealthWatch();
        stopMaintenanceNotices();
        await maintenance.stop();
        events.record('brain.stop', 'info', `brain serve stopping: ${reason}`);
        await ops?.close();
        // Sessions still open get a moment to receive their last replies.
        const deadline = Date.now() + 2000;
        while (live.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        for (const sock of live) sock.destroy();
        app.close();
        fs.rmSync(config.socketPath, { force: true });
      })();
      return stopping;
    },
  };
}

/** The `brain serve` command: runs until SIGTERM/SIGINT. */
export async function runServe(config: Config): Promise<void> {
  const logger = createAppLogger(config);
  const daemon = await startDaemon(config, { logger });
  const stop = (reason: string) =>
    void daemon.stop(reason).finally(() => {
      // Let winston flush its file transports before exiting.
      setTimeout(() => process.exit(0), 100).unref();
    });
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // SIGHUP is how systemd and terminals say "reload/hang up"; the daemon has nothing to reload.
  process.on('SIGHUP', () => logger.info('SIGHUP ignored by brain serve'));
}
