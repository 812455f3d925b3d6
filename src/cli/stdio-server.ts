// `brain [stdio]`: one MCP session on stdin/stdout, embedded (this process opens the database).
// stdout carries JSON-RPC only: everything for people goes to stderr.
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createApp, createAppLogger, packageVersion } from '../app.js';
import type { Config } from '../core/config.js';
import { createMetrics } from '../core/metrics.js';
import type { OpsServer } from '../core/ops-http.js';
import { gateSessions } from '../core/session-gate.js';
import { startOpsSide } from '../daemon/ops-side.js';
import { sessionRefusal } from '../ops/settings.js';

export async function runStdio(config: Config) {
  const logger = createAppLogger(config);
  // Metrics are optional in embedded mode: on when BRAIN_METRICS_PORT is set.
  const metrics = createMetrics({ defaultMetrics: config.metricsPort > 0 });
  const app = createApp(config, { logger, metrics, mode: 'embedded' });
  const { server, cleanup } = app.connect();
  const transport = gateSessions(new StdioServerTransport(), sessionRefusal(app.db));
  let ops: OpsServer | undefined;

  let stopping = false;
  const stop = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('brain stopping', { reason });
    try {
      await server.close();
    } catch {
      /* already closed */
    }
    cleanup();
    await ops?.close();
    await app.maintenance.stop();
    app.close();
    // Let winston flush its file transports before exiting.
    setTimeout(() => process.exit(0), 50).unref();
  };
  // The SDK's stdio transport does not notice stdin closing; without this, a client that goes
  // away would leave brain running forever.
  process.stdin.on('end', () => void stop('stdin ended'));
  process.stdin.on('close', () => void stop('stdin closed'));
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGHUP', () => void stop('SIGHUP'));
  // A client that disappears makes stdout writes fail with EPIPE: that is a stop, not a crash.
  process.stdout.on('error', () => void stop('stdout closed'));

  await server.connect(transport);
  if (config.metricsPort > 0) ops = await startOpsSide({ app, ready: () => !stopping });
  logger.info('brain ready', { db: config.dbPath, version: packageVersion() });
  if (process.stdin.isTTY) {
    process.stderr.write(
      `brain ${packageVersion()}: database ${config.dbPath}; waiting for an MCP client on stdin (Ctrl-D quits; see README for the Claude config)\n`,
    );
  }
}
