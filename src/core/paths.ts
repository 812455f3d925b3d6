// Where brain keeps its files when no BRAIN_* variable says otherwise, and the capability groups
// it knows. Apart from config.ts (which validates every variable with zod), so that the `brain`
// entry point can find a running daemon without loading the rest (src/daemon/fast-bridge.ts).
import os from 'node:os';
import path from 'node:path';

/** Per-user XDG locations, so that a bare `brain` works with no setup at all. */
export function xdgDefaults(env: NodeJS.ProcessEnv) {
  const home = env.HOME || os.homedir();
  const dataHome = env.XDG_DATA_HOME || path.join(home, '.local', 'share');
  const stateHome = env.XDG_STATE_HOME || path.join(home, '.local', 'state');
  const dataDir = path.join(dataHome, 'brain');
  return {
    dataDir,
    dbPath: path.join(dataDir, 'brain.db'),
    notesPath: path.join(dataDir, 'notes'),
    executionPath: path.join(dataDir, 'executions'),
    backupPath: path.join(dataDir, 'backups'),
    logPath: path.join(stateHome, 'brain', 'logs'),
    socketPath: path.join(env.XDG_RUNTIME_DIR || dataDir, 'brain.sock'),
  };
}

/**
 * The capability groups whose tools a brain offers (BRAIN_TOOLS, `brain --tools=`). Each costs the
 * assistant's context in every conversation (`brain doctor` prints how much), so a user who needs
 * only a memory can offer only that. `init` is always offered: it starts every conversation.
 */
export const CAPABILITIES = ['memory', 'notes', 'projects', 'events', 'execution', 'clusters'] as const;
export type Capability = (typeof CAPABILITIES)[number];
