#!/usr/bin/env node
// The `brain` command. With no subcommand it is an MCP server on stdin/stdout (what Claude's
// config starts). In that mode stdout carries JSON-RPC only: everything human goes to stderr.
import fs from 'node:fs';
import readline from 'node:readline';
import { createApp, packageVersion, type App } from './app.js';
import { ConfigError, loadConfig, type Config } from './core/config.js';
import { DatabaseVersionError } from './core/db.js';
import { checkDaemon, NO_DAEMON, runConnect } from './daemon/connect.js';
import { daemonChecks } from './daemon/doctor-check.js';
import { runStdio } from './daemon/stdio.js';
import { DaemonStartError, socketIsLive } from './daemon/unix-socket.js';
import { runDoctor } from './doctor.js';
import { backupDatabase, checkDatabase, restoreDatabase } from './ops/backup.js';
import { maintenanceState, setMaintenance } from './ops/settings.js';
import { blueprintSummary, loadBlueprint, MAX_BLUEPRINT_BYTES } from './clusters/blueprint.js';
import { UserError } from './core/errors.js';

const HELP = `brain ${packageVersion()} — memory and a code sandbox for AI assistants (an MCP server)

Usage:
  brain [stdio]            run one MCP session on stdin/stdout (what Claude Desktop / Claude Code start)
  brain serve              run the daemon: MCP sessions on BRAIN_SOCKET_PATH, maintenance, metrics port
  brain connect [--check]  bridge stdin/stdout to a running brain serve (--check: exit 0 if one answers)
  brain backup [DIR]       online backup to DIR (default BRAIN_BACKUP_PATH), verified with integrity_check
  brain restore FILE       replace the database with a verified backup (the old file is kept beside it)
  brain check              full integrity check of the database; exit code 0 only when sound
  brain maintain           run every expiry task, a WAL checkpoint, ANALYZE and VACUUM once
  brain maintenance on [REASON] | off | status   refuse new sessions while operators work
  brain doctor             check Node, SQLite/FTS5, paths and the code sandbox; say how to fix what is wrong
  brain stats              memory statistics as JSON
  brain rebalance          recompute memory scores and move memories between hot and warm tiers
  brain export [FILE]      write every memory (and earlier versions) as JSON lines (default: stdout)
  brain import FILE        read JSON lines from brain export, or a server-memory memory.jsonl
  brain blueprint validate FILE | save FILE | list
                           check a cluster blueprint (YAML), store it as a new revision, or list the stored ones
  brain --version          print the version

Configuration comes from BRAIN_* environment variables (see README). Database: BRAIN_DB_PATH.`;

/** Writes for humans and scripts in one-shot commands (never used in stdio mode). */
function print(text: string) {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}

function fail(message: string, code = 1): never {
  process.stderr.write(`brain: ${message}\n`);
  process.exit(code);
}

function withApp<T>(config: Config, fn: (app: App) => T): T {
  const app = createApp(config);
  try {
    return fn(app);
  } finally {
    app.close();
  }
}

async function withAppAsync<T>(config: Config, fn: (app: App) => Promise<T>): Promise<T> {
  const app = createApp(config);
  try {
    return await fn(app);
  } finally {
    app.close();
  }
}

async function readLines(file: string): Promise<string[]> {
  const input = file === '-' ? process.stdin : fs.createReadStream(file);
  const lines: string[] = [];
  for await (const line of readline.createInterface({ input, crlfDelay: Infinity })) lines.push(line);
  return lines;
}

/**
 * A blueprint file's text. The size is checked on the open file before anything is read, so a
 * 50 MB file is refused at once; the read itself stops one byte past the limit in case the file
 * grew in between.
 */
function readBlueprintFile(file: string): string {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    fail(e.code === 'ENOENT' ? `${file} does not exist` : `cannot read ${file}: ${e.message}`, 2);
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) fail(`${file} is not a file; give the blueprint's YAML file`, 2);
    const tooBig = (size: string) => fail(`${file} is ${size}; a blueprint may be at most ${MAX_BLUEPRINT_BYTES} bytes (256 KiB). Nothing was read or saved.`, 1);
    if (stat.size > MAX_BLUEPRINT_BYTES) tooBig(`${stat.size} bytes`);
    const buf = Buffer.alloc(MAX_BLUEPRINT_BYTES + 1);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    if (n > MAX_BLUEPRINT_BYTES) tooBig(`over ${MAX_BLUEPRINT_BYTES} bytes`);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

async function main(argv: string[]) {
  const [command = 'stdio', ...rest] = argv;
  if (command === '--version' || command === '-v' || command === 'version') return print(packageVersion());
  if (command === '--help' || command === '-h' || command === 'help') return print(HELP);

  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, 2);
    throw err;
  }

  switch (command) {
    case 'stdio':
      return runStdio(config);
    case 'serve':
      return (await import('./daemon/serve.js')).runServe(config);
    case 'connect': {
      if (rest.includes('--check')) {
        process.exitCode = (await checkDaemon(config.socketPath)) ? 0 : NO_DAEMON;
        return;
      }
      process.exit(await runConnect(config.socketPath));
      return;
    }
    case 'backup': {
      const dir = rest[0] ?? config.backupPath;
      const report = await withAppAsync(config, (app) => backupDatabase(app.db, dir, config.backupKeep, Date.now(), config.notesPath));
      print(JSON.stringify(report, null, 2));
      return;
    }
    case 'restore': {
      const file = rest[0];
      if (!file) fail('say which backup to restore: brain restore FILE', 2);
      if (await socketIsLive(config.socketPath)) fail(`brain serve is running on ${config.socketPath}; stop it first (systemctl stop brain), then restore`, 1);
      let report;
      try {
        report = restoreDatabase(config.dbPath, file, Date.now(), config.notesPath);
      } catch (err) {
        fail((err as Error).message, 1);
      }
      print(JSON.stringify(report, null, 2));
      process.exitCode = report.integrity === 'ok' ? 0 : 1;
      return;
    }
    case 'check': {
      if (!fs.existsSync(config.dbPath)) fail(`no database at ${config.dbPath} (BRAIN_DB_PATH)`, 1);
      const report = checkDatabase(config.dbPath);
      print(JSON.stringify(report, null, 2));
      process.exitCode = report.ok ? 0 : 1;
      return;
    }
    case 'maintain': {
      const results = await withAppAsync(config, async (app) => {
        const out: Record<string, boolean> = {};
        const names = app.maintenance.tasks.map((t) => t.name).filter((n) => n.startsWith('purge.'));
        for (const name of [...names, 'checkpoint', 'optimize']) out[name] = await app.maintenance.runNow(name);
        return out;
      });
      print(JSON.stringify(results, null, 2));
      process.exitCode = Object.values(results).every(Boolean) ? 0 : 1;
      return;
    }
    case 'maintenance': {
      const [mode, ...reason] = rest;
      const state = withApp(config, (app) => {
        if (mode === 'on' || mode === 'off') {
          const s = setMaintenance(app.db, mode === 'on', reason.join(' ') || undefined);
          app.events.record('maintenance.mode', 'warning', mode === 'on' ? `maintenance mode on${s.reason ? `: ${s.reason}` : ''}` : 'maintenance mode off');
          return s;
        }
        if (mode === undefined || mode === 'status') return maintenanceState(app.db);
        fail('use: brain maintenance on [REASON] | off | status', 2);
      });
      print(JSON.stringify(state, null, 2));
      return;
    }
    case 'doctor': {
      // The sandbox checks load the worker code; only doctor needs it, so it is imported here.
      const { sandboxChecks } = await import('./execution/doctor.js');
      const ok = await runDoctor(config, print, [daemonChecks, sandboxChecks]);
      process.exitCode = ok ? 0 : 1;
      return;
    }
    case 'stats':
      return withApp(config, (app) => print(JSON.stringify(app.memories.stats(), null, 2)));
    case 'rebalance':
      return withApp(config, (app) => print(JSON.stringify(app.memories.rebalance('manual'), null, 2)));
    case 'export': {
      const file = rest[0];
      let fd = 1;
      if (file && file !== '-') {
        try {
          fd = fs.openSync(file, 'w', 0o600);
        } catch (err) {
          fail(`cannot write ${file}: ${(err as Error).message}`, 2);
        }
      }
      let n = 0;
      try {
        // Synchronous writes in batches: memory stays flat however large the store is.
        withApp(config, (app) => {
          let batch: string[] = [];
          for (const line of app.memories.exportLines()) {
            batch.push(line);
            n++;
            if (batch.length === 1000) {
              fs.writeSync(fd, batch.join('\n') + '\n');
              batch = [];
            }
          }
          if (batch.length) fs.writeSync(fd, batch.join('\n') + '\n');
        });
      } catch (err) {
        // A reader that stops early (`brain export | head`) is not an error.
        if ((err as NodeJS.ErrnoException).code === 'EPIPE') return;
        fail(`export failed after ${n} records: ${(err as Error).message}`, 1);
      } finally {
        if (fd !== 1) fs.closeSync(fd);
      }
      process.stderr.write(`brain: exported ${n} records\n`);
      return;
    }
    case 'import': {
      const file = rest[0];
      if (!file) fail('say which file to import: brain import FILE (a brain export, or server-memory memory.jsonl)', 2);
      if (file !== '-' && !fs.existsSync(file)) fail(`${file} does not exist`, 2);
      const lines = await readLines(file);
      const report = withApp(config, (app) => app.memories.importLines(lines));
      print(JSON.stringify(report, null, 2));
      process.exitCode = report.errors.length ? 1 : 0;
      return;
    }
    case 'blueprint': {
      const [sub, file] = rest;
      if (sub === 'list') return withApp(config, (app) => print(JSON.stringify(app.clusters.blueprints.list(), null, 2)));
      if (sub !== 'validate' && sub !== 'save') fail('use: brain blueprint validate FILE | save FILE | list', 2);
      if (!file) fail(`say which file: brain blueprint ${sub} FILE`, 2);
      const text = readBlueprintFile(file);
      try {
        if (sub === 'save') return withApp(config, (app) => print(JSON.stringify(app.clusters.blueprints.save(text), null, 2)));
        // Validating needs no database: a blueprint can be checked before brain is set up.
        return print(JSON.stringify(blueprintSummary(loadBlueprint(text)), null, 2));
      } catch (err) {
        if (err instanceof UserError) fail(`${file}: ${err.message}`, 1);
        throw err;
      }
    }
    default:
      fail(`unknown command "${command}".\n\n${HELP}`, 2);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof DatabaseVersionError) fail(err.message, 3);
  if (err instanceof DaemonStartError) fail(err.message, 1);
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'SQLITE_CANTOPEN' || e?.code === 'EACCES') {
    fail(`cannot open the database: ${e.message}. Check BRAIN_DB_PATH and that its directory is writable.`, 3);
  }
  fail(`unexpected error: ${e?.stack ?? String(err)}`, 1);
});
