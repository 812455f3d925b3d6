// `brain` / `brain stdio`: one MCP session on stdin/stdout, embedded (this process opens the
// database itself). stdout carries JSON-RPC only; everything human goes to stderr and the log.
// Input goes through brain's line transport: a line that is too long, not JSON or not a valid
// request is answered with its JSON-RPC error and logged, and the session reads on. The process
// exits when stdin ends, stdout breaks, or on SIGINT/SIGTERM/SIGHUP.
import type { Readable, Writable } from 'node:stream';
import { createApp, createAppLogger, packageVersion } from '../app.js';
import type { Config } from '../core/config.js';
import { LineTransport } from '../core/line-transport.js';
import { createMetrics } from '../core/metrics.js';
import type { OpsServer } from '../core/ops-http.js';
import { gateSessions } from '../core/session-gate.js';
import { sessionRefusal } from '../ops/settings.js';
import { announceMaintenance } from './maintenance-notice.js';
import { startOpsSide } from './ops-side.js';
import { readTokens } from './tokens.js';

/** Where the session's lines come from and go to: stdin and stdout, or a bridge whose daemon is gone (fast-bridge.ts). */
export interface StdioStreams {
  input: NodeJS.ReadableStream & Readable;
  output: NodeJS.WritableStream & Writable;
}

/**
 * Serves one MCP session; resolves once it is served, to what stops it: closes the session and the
 * app (once, however often asked), then exits the process.
 */
export async function runStdio(config: Config, io: StdioStreams = { input: process.stdin, output: process.stdout }): Promise<(reason: string) => Promise<void>> {
  const logger = createAppLogger(config);
  // Metrics are optional in embedded mode: on when BRAIN_METRICS_PORT is set.
  const metrics = createMetrics({ defaultMetrics: config.metricsPort > 0 });
  const app = createApp(config, { logger, metrics, mode: 'embedded' });
  const { server, cleanup } = app.connect();
  const lines = new LineTransport(io.input, io.output, {
    onProblem: (problem) => logger.warn('stdio: message refused', { problem: problem.slice(0, 300) }),
  });
  const transport = gateSessions(lines, sessionRefusal(app.db));
  const stopMaintenanceNotices = announceMaintenance(app.db, app.notices, logger);
  let ops: OpsServer | undefined;

  /** Closing the session and the app, once however many ask (a signal and the client leaving, say). */
  let closing: Promise<void> | undefined;
  const close = (reason: string) =>
    (closing ??= (async () => {
      logger.info('brain stopping', { reason });
      stopMaintenanceNotices();
      try {
        await server.close();
      } catch {
        /* already closed */
      }
      cleanup();
      await ops?.close();
      await app.maintenance.stop();
      app.close();
    })());
  const stop = async (reason: string) => {
    await close(reason);
    // Let winston flush its file transports before exiting. The timer keeps the process up until
    // then: a bridge that carried its session on embedded still awaits its daemon at the top level,
    // and a process left to end by itself there exits with 13 (unsettled top-level await).
    setTimeout(() => process.exit(0), 50);
  };
  // The transport closes when stdin ends or stdout breaks: a client that went away must not
  // leave brain running.
  const closeSession = server.onclose;
  server.onclose = () => {
    closeSession?.();
    void stop('the client closed the connection');
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGHUP', () => void stop('SIGHUP'));

  try {
    await server.connect(transport);
    if (config.metricsPort > 0) {
      let adminTokens: string[] = [];
      try {
        adminTokens = readTokens(config);
      } catch (err) {
        // The session matters more than the admin actions: serve it, and say why they are off.
        logger.warn(`${(err as Error).message}; the metrics port's admin actions are off`);
      }
      ops = await startOpsSide({ app, ready: () => closing === undefined, adminTokens });
    }
  } catch (err) {
    // The database is open and the schedule running: close them before saying why.
    await close(`start-up failed: ${(err as Error).message}`);
    throw err;
  }
  logger.info('brain ready', { db: config.dbPath, version: packageVersion() });
  if (io.input === process.stdin && process.stdin.isTTY) {
    process.stderr.write(
      `brain ${packageVersion()}: database ${config.dbPath}; waiting for an MCP client on stdin (Ctrl-D quits; see README for the Claude config)\n`,
    );
  }
  return stop;
}
