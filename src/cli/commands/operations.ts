// Operator commands: backup, restore, check, maintain, maintenance mode and doctor. Their exit
// codes are what scripts/ and cron jobs rely on.
// The modules they run are loaded when one runs (see context.ts).
import { socketIsLive } from '../../daemon/unix-socket.js';
import type { CheckResult } from '../../ops/backup.js';
import type { MaintenanceState } from '../../ops/settings.js';
import { defineCommand, type Command } from '../command.js';
import { cliConfig, requireDatabase, withApp } from '../context.js';
import { bytes, CliError, count, EXIT, note, print, printJson, seconds, tally } from '../output.js';
import { progress } from '../progress.js';

const message = (err: unknown) => (err as Error).message;

export const backupCommand = defineCommand({
  name: 'backup',
  summary: 'online backup to DIR (default BRAIN_BACKUP_PATH), verified with integrity_check',
  details:
    'Safe while brain runs. Writes brain_YYYYMMDD_HHMMSS.db (mode 0600, one self-contained file) and the notes folder beside it as brain_YYYYMMDD_HHMMSS.notes.tar.gz, then keeps only the newest BRAIN_BACKUP_KEEP.',
  json: true,
  args: [{ name: 'DIR', description: 'the directory to write to (default BRAIN_BACKUP_PATH)', optional: true, complete: 'dir' }],
  async run(inv) {
    const config = await cliConfig();
    requireDatabase(config);
    const dir = inv.args.DIR ?? config.backupPath;
    const bar = progress('backup');
    let r;
    try {
      const { backupDatabase } = await import('../../ops/backup.js');
      r = await withApp(config, (app) => backupDatabase(app.db, dir, config.backupKeep, Date.now(), config.notesPath, bar));
    } catch (err) {
      throw new CliError(`the backup into ${dir} failed: ${message(err)}`);
    } finally {
      bar.end();
    }
    if (inv.json) return printJson(r);
    const lines = [`backup: ${r.file} (${bytes(r.bytes)}, integrity_check ${r.integrity}, ${seconds(r.elapsed_ms)})`];
    if (r.notes) lines.push(`notes:  ${r.notes}`);
    for (const old of r.removed) lines.push(`removed (beyond the newest ${config.backupKeep}): ${old}`);
    print(lines.join('\n'));
  },
});

export const restoreCommand = defineCommand({
  name: 'restore',
  summary: 'replace the database with a verified backup (.db or .db.gz); the old file is kept beside it',
  details:
    'Refuses while brain serve runs or any other process has the database open (it names them), and refuses a file that is empty, fails integrity_check or has no brain tables. The database it replaces is kept as <name>.replaced-<time>; the notes archive made with the backup, when there is one, replaces the notes folder the same way.',
  json: true,
  args: [{ name: 'FILE', description: 'a backup made by brain backup: brain_*.db, or one gzipped as brain_*.db.gz', complete: 'file' }],
  async run(inv) {
    const config = await cliConfig();
    if (await socketIsLive(config.socketPath)) {
      throw new CliError(`brain serve is running on ${config.socketPath}; stop it first (systemctl stop brain), then restore.`);
    }
    const bar = progress('restore');
    let r;
    try {
      const { restoreDatabase } = await import('../../ops/backup.js');
      r = await restoreDatabase(config.dbPath, inv.args.FILE!, Date.now(), config.notesPath, bar);
    } catch (err) {
      throw new CliError(message(err));
    } finally {
      bar.end();
    }
    if (inv.json) printJson(r);
    else {
      const lines = [`restored ${r.database} from ${r.restored_from} (integrity_check ${r.integrity})`];
      lines.push(r.replaced_kept_at ? `the database it replaced is kept at ${r.replaced_kept_at}` : 'there was no database before');
      if (r.notes_restored_from) lines.push(`notes folder restored from ${r.notes_restored_from}`);
      if (r.notes_replaced_kept_at) lines.push(`the notes folder it replaced is kept at ${r.notes_replaced_kept_at}`);
      print(lines.join('\n'));
    }
    return r.integrity === 'ok' ? EXIT.ok : EXIT.failed;
  },
});

function checkText(r: CheckResult): string {
  return [
    `database:         ${r.database}`,
    `integrity_check:  ${r.integrity}`,
    `foreign keys:     ${r.foreign_key_problems === null ? 'not checked (the file cannot be read that far)' : r.foreign_key_problems === 0 ? 'no problems' : `${count(r.foreign_key_problems)} rows point at rows that do not exist`}`,
    `journal mode:     ${r.journal_mode}`,
    `size:             ${bytes(r.bytes)}`,
    `rows:             ${tally(r.tables)}`,
    `result:           ${r.ok ? 'sound' : 'NOT SOUND'}`,
  ].join('\n');
}

export const checkCommand = defineCommand({
  name: 'check',
  summary: 'full integrity and foreign-key check of the database; exit code 0 only when sound',
  details: 'Read-only and safe while brain runs; on a large database it reads every page, which takes a while.',
  json: true,
  async run(inv) {
    const config = await cliConfig();
    requireDatabase(config);
    const { checkDatabase } = await import('../../ops/backup.js');
    const bar = progress('check');
    let r: CheckResult;
    try {
      r = checkDatabase(config.dbPath, bar);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'SQLITE_CANTOPEN' || code === 'EACCES') throw new CliError(`${config.dbPath} cannot be read (${message(err)}); check that it and its folder are readable by this user.`, EXIT.database);
      throw new CliError(`${config.dbPath} cannot be checked (${message(err)}); restore the newest backup (brain restore FILE).`);
    } finally {
      bar.end();
    }
    if (inv.json) printJson(r);
    else print(checkText(r));
    if (!r.ok && !inv.json) note(`${r.database} is damaged; restore the newest backup (brain restore FILE) or copy what is readable into a new file (brain recover), see README "Backup and restore".`);
    return r.ok ? EXIT.ok : EXIT.failed;
  },
});

export const recoverCommand = defineCommand({
  name: 'recover',
  summary: 'copy what is readable of a damaged database into a new file (for brain restore)',
  details:
    'Reads the database (through a copy: the damaged file is never changed), skips damaged stretches of each table, rebuilds the search indexes and writes a new brain file that passes integrity_check, by default <name>.recovered-<time>.db beside the database. Check it (BRAIN_DB_PATH=FILE brain stats), then put it in place with brain restore FILE.',
  json: true,
  args: [{ name: 'FILE', description: 'the new file to write (default: beside the database)', optional: true, complete: 'file' }],
  async run(inv) {
    const config = await cliConfig();
    requireDatabase(config);
    const { defaultRecoverTarget, recoverDatabase } = await import('../../ops/recover.js');
    const target = inv.args.FILE ?? defaultRecoverTarget(config.dbPath);
    const bar = progress('recover');
    let r;
    try {
      r = recoverDatabase(config.dbPath, target, bar);
    } catch (err) {
      throw new CliError(`recovery of ${config.dbPath} failed: ${message(err)}`);
    } finally {
      bar.end();
    }
    if (inv.json) return printJson(r);
    const rows = Object.entries(r.tables)
      .filter(([, t]) => t.copied || t.damaged)
      .map(([name, t]) => {
        const notes = [t.damaged ? `${t.damaged} damaged stretch${t.damaged === 1 ? '' : 'es'} skipped` : '', t.orphans ? `${count(t.orphans)} rows of lost rows dropped` : ''].filter(Boolean);
        return `  ${name.padEnd(20)} ${count(t.copied).padStart(9)} rows${notes.length ? `, ${notes.join(', ')}` : ''}`;
      });
    print([`recovered ${r.from} into ${r.recovered_to} (integrity_check ${r.integrity}, ${seconds(r.elapsed_ms)})`, ...rows].join('\n'));
    note(`check it (BRAIN_DB_PATH=${r.recovered_to} brain stats), then put it in place with: brain restore ${r.recovered_to}`);
  },
});

export const maintainCommand = defineCommand({
  name: 'maintain',
  summary: 'run every expiry task, a WAL checkpoint, ANALYZE and VACUUM once',
  details: 'brain serve runs the same tasks on its own schedule; this is for embedded-only installs and for now. Exit code 1 when a task failed.',
  json: true,
  async run(inv) {
    const config = await cliConfig();
    requireDatabase(config);
    const bar = progress('maintain');
    let results: Record<string, boolean>;
    try {
      results = await withApp(config, async (app) => {
        const out: Record<string, boolean> = {};
        const names = [...app.maintenance.tasks.map((t) => t.name).filter((n) => n.startsWith('purge.')), 'checkpoint', 'optimize'];
        for (const [i, name] of names.entries()) {
          bar.step(`${name} (${i + 1} of ${names.length})`);
          out[name] = await app.maintenance.runNow(name);
        }
        return out;
      });
    } finally {
      bar.end();
    }
    const failed = Object.entries(results).filter(([, ok]) => !ok).map(([name]) => name);
    if (inv.json) printJson(results);
    else {
      print(Object.entries(results).map(([name, ok]) => `${ok ? 'ok  ' : 'FAIL'}  ${name}`).join('\n'));
      if (failed.length) note(`${failed.join(', ')} failed; the reason is in brain's event log (the events tool) and error.log under BRAIN_LOG_PATH.`);
    }
    return failed.length ? EXIT.failed : EXIT.ok;
  },
});

function maintenanceText(s: MaintenanceState): string {
  if (!s.on) return 'maintenance mode is off: new sessions are accepted';
  return `maintenance mode is on${s.since ? ` since ${s.since} UTC` : ''}${s.reason ? ` (${s.reason})` : ''}: new sessions are refused until brain maintenance off`;
}

function maintenanceCommand(name: 'on' | 'off' | 'status', summary: string, extra: Partial<Command> = {}) {
  return defineCommand({
    name,
    summary,
    json: true,
    ...extra,
    async run(inv) {
      const config = await cliConfig();
      requireDatabase(config);
      const { maintenanceState, setMaintenance } = await import('../../ops/settings.js');
      return withApp(config, (app) => {
        let state: MaintenanceState;
        if (name === 'status') state = maintenanceState(app.db);
        else {
          const reason = inv.rest.join(' ') || undefined;
          state = setMaintenance(app.db, name === 'on', reason);
          app.events.record('maintenance.mode', 'warning', `maintenance mode ${name}${reason ? `: ${reason}` : ''}`);
        }
        if (inv.json) printJson(state);
        else print(maintenanceText(state));
      });
    },
  });
}

export const maintenanceGroup = defineCommand({
  name: 'maintenance',
  summary: 'refuse new MCP sessions while operators work (brain maintenance = brain maintenance status)',
  details: 'Sessions already open carry on. The reason is shown to clients that are turned away.',
  defaultSub: 'status',
  subcommands: [
    maintenanceCommand('on', 'turn maintenance mode on: new sessions are refused with REASON', {
      args: [{ name: 'REASON', description: 'shown to clients that are turned away (e.g. "restoring a backup")', optional: true, rest: true }],
    }),
    maintenanceCommand('off', 'turn maintenance mode off', {
      args: [{ name: 'REASON', description: "noted in brain's event log with the change", optional: true, rest: true }],
    }),
    maintenanceCommand('status', 'whether maintenance mode is on, since when and why'),
  ],
});

export const doctorCommand = defineCommand({
  name: 'doctor',
  summary: 'check Node, SQLite/FTS5, paths and the code sandbox; say how to fix what is wrong; show what each tool group costs',
  details: 'Exit code 0 only when every required check passes (warn lines are optional). Creates the database when it is missing.',
  json: true,
  async run(inv) {
    const config = await cliConfig();
    const { doctorChecks, isReady, runDoctor } = await import('../../doctor.js');
    const { daemonChecks } = await import('../../daemon/doctor-check.js');
    const { sandboxChecks } = await import('../../execution/doctor.js');
    const { toolSizeChecks } = await import('../tool-sizes.js');
    const providers = [daemonChecks, sandboxChecks, toolSizeChecks];
    if (!inv.json) return (await runDoctor(config, print, providers)) ? EXIT.ok : EXIT.failed;
    const checks = await doctorChecks(config, providers);
    printJson({ ready: isReady(checks), checks });
    return isReady(checks) ? EXIT.ok : EXIT.failed;
  },
});
