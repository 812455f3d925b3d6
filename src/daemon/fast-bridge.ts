// The `brain` entry point's first look: a plain `brain` (what Claude's config starts) whose
// database a running `brain serve` already serves becomes a bridge to it before loading anything
// else. Loading the command line and the zod configuration first cost each bridge 20 MB of
// resident memory (60 MB instead of node's own 40), and a bridge is what every client pays.
// Anything unusual (other arguments, BRAIN_TOOLS, a value the configuration would check) goes the
// long way: the stdio command looks again with the full configuration, and says why it does not
// use a daemon it finds.
import { Duplex, PassThrough } from 'node:stream';
import type { Config } from '../core/config.js';
import { xdgDefaults, CAPABILITIES } from '../core/paths.js';
import { RESUME_WAIT_MS, runBridge } from './bridge.js';
import { NO_DAEMON } from './connect.js';
import { chooseDaemon, type DaemonChoice, type DiscoverOptions } from './discover.js';

export interface BridgeChoice extends DiscoverOptions {
  /** BRAIN_BRIDGE_WAIT_SEC in ms: how long to wait for a daemon that went away to come back. */
  resumeWaitMs?: number;
  /** The configuration to run embedded with when it does not; read from the environment when not given. */
  config?: Config;
}

/**
 * Bridges and exits when a running daemon serves this database with these tools (bridge.ts: it
 * outlives a restart of the daemon, and carries on embedded when none comes back); otherwise
 * resolves to the choice, nothing read from stdin yet (also when the daemon stopped between the
 * check and the connection).
 */
export async function bridgeToDaemon(opts: BridgeChoice): Promise<DaemonChoice> {
  const choice = await chooseDaemon(opts);
  if (!choice.use) return choice;
  const findDaemon = async () => {
    const again = await chooseDaemon(opts);
    return again.use ? again.socketPath : undefined;
  };
  const log = (message: string) => process.stderr.write(`brain: ${message}\n`);
  /** The embedded server once the fallback started it (or is starting it): what stops it. */
  let embedded: Promise<(reason: string) => Promise<void>> | undefined;
  // The session goes on in this process: the app is loaded only now, as a plain `brain` loads it.
  const fallback = async () => {
    const toServer = new PassThrough();
    const fromServer = new PassThrough();
    embedded = (async () => {
      const config = opts.config ?? (await import('../core/config.js')).loadConfig();
      return (await import('./stdio.js')).runStdio(config, { input: toServer, output: fromServer });
    })();
    await embedded;
    return Duplex.from({ readable: fromServer, writable: toServer });
  };
  const code = await runBridge(choice.socketPath, process.stdin, process.stdout, { findDaemon, log, fallback, resumeWaitMs: opts.resumeWaitMs }, NO_DAEMON);
  if (code === NO_DAEMON) return { use: false };
  const stopEmbedded = await embedded?.catch(() => undefined);
  if (stopEmbedded) {
    // Ending while embedded (stdout broke, the session could not be set up): close the database
    // as an embedded brain does; its stop exits the process once the logs are written.
    await stopEmbedded('the bridge ended');
    return new Promise<never>(() => undefined);
  }
  process.exit(code);
}

/**
 * BRAIN_BRIDGE_WAIT_SEC in ms, read as the configuration reads it (0-3600 s, default 20), or false
 * for any value it might refuse: the long way then loads the configuration, which says why.
 */
function waitMs(value: string | undefined): number | false {
  if (value === undefined) return RESUME_WAIT_MS;
  if (!/^\d{1,4}$/.test(value) || Number(value) > 3600) return false;
  return Number(value) * 1000;
}

/** The entry point's look, before the configuration is loaded (see above). */
export async function bridgeIfServed(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  if (argv.length > 1 || (argv.length === 1 && argv[0] !== 'stdio')) return;
  if (env.BRAIN_TOOLS !== undefined || (env.BRAIN_USE_DAEMON !== undefined && env.BRAIN_USE_DAEMON !== 'auto')) return;
  // Set but empty is an error the configuration reports; leave it to it.
  if (env.BRAIN_DB_PATH === '' || env.BRAIN_SOCKET_PATH === '') return;
  const resumeWaitMs = waitMs(env.BRAIN_BRIDGE_WAIT_SEC);
  if (resumeWaitMs === false) return;
  const defaults = xdgDefaults(env);
  const socketPath = env.BRAIN_SOCKET_PATH ?? defaults.socketPath;
  await bridgeToDaemon({ socketPath, dbPath: env.BRAIN_DB_PATH ?? defaults.dbPath, tools: CAPABILITIES, mode: 'auto', resumeWaitMs });
}
