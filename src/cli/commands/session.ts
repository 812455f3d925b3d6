// The commands that carry MCP sessions: `brain [stdio]` (what Claude's config starts), `brain serve`
// (the daemon) and `brain connect` (a bridge to it).
import { checkDaemon, runConnect } from '../../daemon/connect.js';
import { bridgeToDaemon } from '../../daemon/fast-bridge.js';
import { defineCommand } from '../command.js';
import { cliConfig } from '../context.js';
import { EXIT } from '../output.js';

export const stdioCommand = defineCommand({
  name: 'stdio',
  summary: 'run one MCP session on stdin/stdout (what Claude Desktop / Claude Code start)',
  details:
    'stdout carries JSON-RPC only; logs go to stderr and BRAIN_LOG_PATH. The database is created when missing. ' +
    'When a brain serve answers on BRAIN_SOCKET_PATH for the same database and tools, this process bridges to it instead (BRAIN_USE_DAEMON=never: always embedded). ' +
    '--tools=memory,notes offers only those capabilities (as BRAIN_TOOLS does; brain doctor shows what each costs).',
  async run() {
    const config = await cliConfig();
    // A daemon serving this database and tools takes the session (one process for every client).
    const choice = await bridgeToDaemon({
      socketPath: config.socketPath,
      dbPath: config.dbPath,
      tools: config.tools,
      mode: config.useDaemon,
      resumeWaitMs: config.bridgeWaitMs,
      config,
    });
    if (!choice.use && choice.why) {
      process.stderr.write(`brain: running embedded: ${choice.why} (BRAIN_USE_DAEMON=never silences this)\n`);
    }
    await (await import('../../daemon/stdio.js')).runStdio(config);
  },
});

export const serveCommand = defineCommand({
  name: 'serve',
  summary: 'run the daemon: MCP sessions on BRAIN_SOCKET_PATH, maintenance, metrics port',
  details: 'Runs until SIGTERM or SIGINT. systemd starts it from deployment/brain.service; see README, "Daemon mode".',
  run: async () => (await import('../../daemon/serve.js')).runServe(await cliConfig()),
});

export const connectCommand = defineCommand({
  name: 'connect',
  summary: 'bridge stdin/stdout to a running brain serve',
  details: `Exit code ${EXIT.noDaemon} when no brain serve answers on BRAIN_SOCKET_PATH (scripts/start-mcp.sh then runs brain embedded).`,
  options: { check: { description: `only test whether brain serve answers: exit 0 when it does, ${EXIT.noDaemon} when not` } },
  async run(inv) {
    const config = await cliConfig();
    if (inv.options.check) {
      const live = await checkDaemon(config.socketPath);
      process.stderr.write(`brain connect: ${live ? 'brain serve answers' : 'no brain serve answers'} on ${config.socketPath}\n`);
      return live ? EXIT.ok : EXIT.noDaemon;
    }
    // The bridge ends when either side does; exit at once rather than wait for stdin's handles.
    process.exit(await runConnect(config.socketPath));
  },
});
