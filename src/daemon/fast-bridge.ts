// The `brain` entry point's first look: a plain `brain` (what Claude's config starts) whose
// database a running `brain serve` already serves becomes a bridge to it before loading anything
// else. Loading the command line and the zod configuration first cost each bridge 20 MB of
// resident memory (60 MB instead of node's own 40), and a bridge is what every client pays.
// Anything unusual (other arguments, BRAIN_TOOLS, a value the configuration would check) goes the
// long way: the stdio command looks again with the full configuration, and says why it does not
// use a daemon it finds.
import { xdgDefaults, CAPABILITIES } from '../core/paths.js';
import { runBridge } from './bridge.js';
import { NO_DAEMON } from './connect.js';
import { chooseDaemon, type DaemonChoice, type DiscoverOptions } from './discover.js';

/**
 * Bridges and exits when a running daemon serves this database with these tools (bridge.ts: it
 * outlives a restart of the daemon); otherwise resolves to the choice, nothing read from stdin yet
 * (also when the daemon stopped between the check and the connection).
 */
export async function bridgeToDaemon(opts: DiscoverOptions): Promise<DaemonChoice> {
  const choice = await chooseDaemon(opts);
  if (!choice.use) return choice;
  const findDaemon = async () => {
    const again = await chooseDaemon(opts);
    return again.use ? again.socketPath : undefined;
  };
  const log = (message: string) => process.stderr.write(`brain: ${message}\n`);
  const code = await runBridge(choice.socketPath, process.stdin, process.stdout, { findDaemon, log }, NO_DAEMON);
  if (code !== NO_DAEMON) process.exit(code);
  return { use: false };
}

/** The entry point's look, before the configuration is loaded (see above). */
export async function bridgeIfServed(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  if (argv.length > 1 || (argv.length === 1 && argv[0] !== 'stdio')) return;
  if (env.BRAIN_TOOLS !== undefined || (env.BRAIN_USE_DAEMON !== undefined && env.BRAIN_USE_DAEMON !== 'auto')) return;
  // Set but empty is an error the configuration reports; leave it to it.
  if (env.BRAIN_DB_PATH === '' || env.BRAIN_SOCKET_PATH === '') return;
  const defaults = xdgDefaults(env);
  const socketPath = env.BRAIN_SOCKET_PATH ?? defaults.socketPath;
  await bridgeToDaemon({ socketPath, dbPath: env.BRAIN_DB_PATH ?? defaults.dbPath, tools: CAPABILITIES, mode: 'auto' });
}
