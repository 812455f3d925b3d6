// What the one-shot commands share: the configuration, the database they work on, and an app
// that is closed however the command ends. The app and the config schema are loaded when a
// command needs them, so --help, --version and shell completion start at once.
import fs from 'node:fs';
import type { App } from '../app.js';
import type { Config } from '../core/config.js';
import { CliError, EXIT } from './output.js';

export async function cliConfig(): Promise<Config> {
  const { ConfigError, loadConfig } = await import('../core/config.js');
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, EXIT.usage);
    throw err;
  }
}

/**
 * Commands that read or tend an existing database refuse a missing one: opening would create an
 * empty database, and a mistyped BRAIN_DB_PATH would then look like a store with nothing in it.
 */
export function requireDatabase(config: Config): void {
  if (fs.existsSync(config.dbPath)) return;
  throw new CliError(
    `there is no database at ${config.dbPath}; set BRAIN_DB_PATH to the database brain uses (its first start, brain import or brain restore creates one).`,
    EXIT.database,
  );
}

export async function withApp<T>(config: Config, fn: (app: App) => T | Promise<T>): Promise<T> {
  const { createApp } = await import('../app.js');
  const app = createApp(config);
  try {
    return await fn(app);
  } finally {
    app.close();
  }
}
