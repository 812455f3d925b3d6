// Backups, restore, check and the operator scripts: every round trip ends with integrity_check ok,
// a bad backup changes nothing, and the scheduler runs and records maintenance.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { backupDatabase, checkDatabase, integrityOf, listBackups } from '../src/ops/backup.js';
import { createScheduler } from '../src/ops/scheduler.js';
import { CLI, ROOT, tempDir, testConfig } from './helpers/brain.js';
import { daemonEnv, startServe } from './helpers/daemon.js';

let dir: string;
let env: Record<string, string>;

beforeEach(async () => {
  dir = tempDir('brain-backup-');
  env = await daemonEnv(dir, { BRAIN_METRICS_PORT: '0' });
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function run(cmd: string, args: string[], extra: Record<string, string> = {}) {
  const r = spawnSync(cmd, args, { env: { ...env, ...extra }, encoding: 'utf8', timeout: 60_000 });
  return { ...r, out: (r.stdout ?? '') + (r.stderr ?? '') };
}
const brain = (args: string[], extra: Record<string, string> = {}) => run(process.execPath, [CLI, ...args], extra);
const script = (name: string, args: string[] = [], extra: Record<string, string> = {}) => run('sh', [path.join(ROOT, 'scripts', name), ...args], extra);

function keys(): string[] {
  const db = new Database(env.BRAIN_DB_PATH, { readonly: true });
  try {
    return db.prepare('SELECT key FROM memories ORDER BY key').pluck().all() as string[];
  } finally {
    db.close();
  }
}

function remember(key: string) {
  const app = createApp(testConfig(dir, env));
  try {
    app.memories.remember({ project: '', key, content: `content of ${key}`, type: 'general', tags: [], importance: 0.5 });
  } finally {
    app.close();
  }
}

describe('backup and restore', () => {
  it('scripts: backup.sh, restore.sh, db-maintenance.sh, daily-check.sh round-trip with integrity_check ok', async () => {
    remember('kept-by-backup');
    const note = path.join(env.BRAIN_NOTES_PATH, 'plans', 'release.md');
    fs.mkdirSync(path.dirname(note), { recursive: true });
    fs.writeFileSync(note, '# Release\n\nShip on Friday.\n');
    const daemon = await startServe(env);
    let backupFile: string;
    try {
      // Online, while the daemon owns the database.
      const b = script('backup.sh');
      expect(b.status, b.out).toBe(0);
      backupFile = JSON.parse(b.stdout).file;
      expect(path.dirname(backupFile)).toBe(env.BRAIN_BACKUP_PATH);
      expect(path.basename(backupFile)).toMatch(/^brain_\d{8}_\d{6}(_\d+)?\.db\.gz$/);
      expect(fs.statSync(backupFile).mode & 0o777).toBe(0o600);
      expect(JSON.parse(b.stdout)).toMatchObject({ integrity: 'ok', notes: backupFile.replace(/\.db\.gz$/, '.notes.tar.gz') });
      expect(JSON.parse(b.stdout).compressed_bytes).toBeLessThan(JSON.parse(b.stdout).bytes);
      // gzip of one self-contained file: no -wal needed beside it.
      const unpacked = path.join(dir, 'unpacked.db');
      expect(spawnSync('sh', ['-c', `gunzip -c "${backupFile}" > "${unpacked}"`]).status).toBe(0);
      expect(integrityOf(unpacked)).toBe('ok');
      const copy = new Database(unpacked, { readonly: true });
      expect(copy.pragma('journal_mode', { simple: true })).toBe('delete');
      expect(copy.prepare('SELECT count(*) FROM memories').pluck().get()).toBe(1);
      copy.close();
      // Restore refuses while the daemon runs.
      const refused = script('restore.sh', [backupFile]);
      expect(refused.status).toBe(1);
      expect(refused.out).toMatch(/brain serve is running.*stop it first/);
    } finally {
      expect(await daemon.stop()).toBe(0);
    }

    remember('written-after-backup');
    fs.writeFileSync(note, '# Release\n\nShip on Monday instead.\n');
    expect(keys()).toEqual(['kept-by-backup', 'written-after-backup']);
    const restored = script('restore.sh', [backupFile]);
    expect(restored.status, restored.out).toBe(0);
    const report = JSON.parse(restored.stdout);
    expect(report.integrity).toBe('ok');
    expect(keys()).toEqual(['kept-by-backup']);
    // The replaced database is kept, whole, with what it had.
    const old = new Database(report.replaced_kept_at, { readonly: true });
    expect(old.prepare('SELECT key FROM memories ORDER BY key').pluck().all()).toEqual(['kept-by-backup', 'written-after-backup']);
    old.close();
    // The notes folder comes back with it; the replaced one is kept too.
    expect(fs.readFileSync(note, 'utf8')).toMatch(/Ship on Friday/);
    expect(fs.readFileSync(path.join(report.notes_replaced_kept_at, 'plans', 'release.md'), 'utf8')).toMatch(/Monday/);

    const maint = script('db-maintenance.sh');
    expect(maint.status, maint.out).toBe(0);
    expect(JSON.parse(maint.stdout)).toEqual({
      'purge.memories': true,
      'purge.sessions': true,
      'purge.events': true,
      'purge.executions': true,
      'purge.clusters': true,
      'purge.query_log': true,
      checkpoint: true,
      optimize: true,
    });
    const check = brain(['check', '--json']);
    expect(check.status).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({ ok: true, integrity: 'ok', foreign_key_problems: 0 });

    const daily = script('daily-check.sh');
    expect(daily.status, daily.out).toBe(0);
    expect(daily.stdout).toMatch(/integrity:"?ok/);
    expect(daily.stdout).toMatch(/=== ok/);
    // No recent backup is something a person must hear about.
    const stale = script('daily-check.sh', [], { BRAIN_BACKUP_PATH: path.join(dir, 'empty') });
    expect(stale.status).toBe(1);
    expect(stale.stdout).toMatch(/FAIL: no backup/);
  }, 120_000);

  it('a damaged backup is refused and the database is left as it was; check fails on damage', () => {
    remember('precious');
    const bad = path.join(dir, 'damaged.db');
    fs.copyFileSync(env.BRAIN_DB_PATH, bad);
    // Overwrite the middle of the file (b-tree pages) with garbage.
    const fd = fs.openSync(bad, 'r+');
    const size = fs.fstatSync(fd).size;
    fs.writeSync(fd, Buffer.alloc(Math.min(8192, size - 4096), 0xa5), 0, undefined, 4096);
    fs.closeSync(fd);
    const r = brain(['restore', bad]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/failed integrity_check|malformed|not a database/);
    expect(keys()).toEqual(['precious']);
    expect(fs.readdirSync(dir).filter((n) => n.includes('replaced'))).toEqual([]);

    const notDb = path.join(dir, 'notes.txt');
    fs.writeFileSync(notDb, 'this is not a database at all, just text '.repeat(200));
    expect(brain(['restore', notDb]).status).toBe(1);
    expect(brain(['restore', path.join(dir, 'missing.db')]).stderr).toMatch(/does not exist/);

    const damagedCheck = brain(['check'], { BRAIN_DB_PATH: bad });
    expect(damagedCheck.status).toBe(1);
  });

  it('backups given a count keep only that many newest, with their notes archives', async () => {
    const app = createApp(testConfig(dir, env));
    try {
      const t = Date.parse('2026-03-01T10:00:00Z');
      fs.mkdirSync(env.BRAIN_NOTES_PATH, { recursive: true });
      fs.writeFileSync(path.join(env.BRAIN_NOTES_PATH, 'a.md'), '# A\n');
      for (let i = 0; i < 4; i++) await backupDatabase(app.db, env.BRAIN_BACKUP_PATH, 2, t + i * 3_600_000, env.BRAIN_NOTES_PATH);
      expect(listBackups(env.BRAIN_BACKUP_PATH).map((b) => path.basename(b.file))).toEqual(['brain_20260301_130000.db.gz', 'brain_20260301_120000.db.gz']);
      // Notes archives go with their database copies.
      expect(fs.readdirSync(env.BRAIN_BACKUP_PATH).filter((n) => n.endsWith('.notes.tar.gz')).sort()).toEqual([
        'brain_20260301_120000.notes.tar.gz',
        'brain_20260301_130000.notes.tar.gz',
      ]);
      expect(fs.readdirSync(env.BRAIN_BACKUP_PATH).filter((n) => n.includes('partial'))).toEqual([]);
    } finally {
      app.close();
    }
  });
});

describe('maintenance scheduler', () => {
  it('the first backup: at start-up when the newest on disk is over an interval old, else one interval after it', async () => {
    const config = testConfig(dir, { ...env, BRAIN_BACKUP_INTERVAL_MIN: '15' });
    const app = createApp(config);
    try {
      const deps = { db: app.db, logger: app.logger, metrics: app.metrics, events: app.events, tasks: app.maintenance.tasks.filter((t) => t.name === 'backup') };
      const t0 = Date.now();
      // A backup made 5 minutes ago (by cron, say): the next is due 10 minutes after start.
      await backupDatabase(app.db, config.backupPath, 10, t0 - 5 * 60_000);
      const s = createScheduler(deps, { nowMs: t0 });
      expect(await s.tick(t0)).toEqual([]);
      expect(await s.tick(t0 + 9 * 60_000)).toEqual([]);
      expect(await s.tick(t0 + 10 * 60_000 + 1000)).toEqual(['backup']);
      // The newest is 20 minutes old: a backup at once.
      fs.rmSync(config.backupPath, { recursive: true });
      await backupDatabase(app.db, config.backupPath, 10, t0 - 20 * 60_000);
      expect(await createScheduler(deps, { nowMs: t0 }).tick(t0)).toEqual(['backup']);
      // With the schedule off (interval 0) nothing runs at start-up either.
      const off = createApp(testConfig(dir, { ...env, BRAIN_BACKUP_INTERVAL_MIN: '0' }));
      try {
        fs.rmSync(config.backupPath, { recursive: true });
        const offDeps = { ...deps, tasks: off.maintenance.tasks.filter((t) => t.name === 'backup') };
        expect(await createScheduler(offDeps, { nowMs: t0 }).tick(t0 + 3_600_000)).toEqual([]);
      } finally {
        off.close();
      }
    } finally {
      app.close();
    }
  });

  it('runs due tasks, remembers long ones across restarts, records runs, failures and events', async () => {
    const config = testConfig(dir, { ...env, BRAIN_BACKUP_INTERVAL_HOURS: '1', BRAIN_VACUUM_INTERVAL_HOURS: '24' });
    const app = createApp(config);
    const t0 = Date.now();
    try {
      const deps = { db: app.db, logger: app.logger, metrics: app.metrics, events: app.events, tasks: [...app.maintenance.tasks] };
      const s = createScheduler(deps, { nowMs: t0 });
      const purges = ['purge.memories', 'purge.sessions', 'purge.events', 'purge.executions'];
      // Expiry, the notes reconcile and (none on disk) a backup at start-up; the first rebalance of
      // a fresh file 3 s on; cluster auto-scaling every 30 s.
      expect(await s.tick(t0)).toEqual([...purges, 'notes.reconcile', 'purge.clusters', 'purge.query_log', 'backup']);
      expect(listBackups(config.backupPath)).toHaveLength(1);
      expect(await s.tick(t0 + 1000)).toEqual([]);
      expect(await s.tick(t0 + 6 * 60_000)).toEqual(['rebalance.startup', 'clusters.autoscale', 'checkpoint']);
      const hourLater = t0 + 61 * 60_000;
      const hourly = [...purges, 'clusters.autoscale', 'purge.clusters', 'purge.query_log', 'checkpoint'];
      expect(await s.tick(hourLater)).toEqual(['rebalance', ...hourly, 'backup']);
      expect(listBackups(config.backupPath)).toHaveLength(2);
      expect(await s.tick(t0 + 25 * 3_600_000)).toEqual(['rebalance', ...hourly, 'optimize', 'backup']);

      // A new scheduler (a restart) picks up the stored times of optimize and backup.
      const again = createScheduler(deps, { nowMs: t0 + 25 * 3_600_000 + 1000 });
      expect(again.lastRun('backup')).toBe(t0 + 25 * 3_600_000);
      expect(again.lastRun('optimize')).toBe(t0 + 25 * 3_600_000);

      // A failing task is counted and becomes an error event, and the scheduler carries on.
      fs.rmSync(config.backupPath, { recursive: true, force: true });
      fs.writeFileSync(config.backupPath, 'a file where the backup directory should be');
      expect(await again.runNow('backup')).toBe(false);
      const metrics = await app.metrics.registry.metrics();
      expect(metrics).toMatch(/brain_maintenance_runs_total\{task="backup",status="ok"\} 3/);
      expect(metrics).toMatch(/brain_maintenance_runs_total\{task="backup",status="error"\} 1/);
      const errors = app.events.list({ severities: ['error'] }, 10);
      expect(errors.rows.map((e) => e.event_type)).toEqual(['maintenance.backup']);
      const types = app.events.list({}, 50).rows.map((e) => e.event_type);
      expect(types).toEqual(expect.arrayContaining(['maintenance.backup', 'maintenance.optimize']));
      expect(checkDatabase(config.dbPath).ok).toBe(true);
    } finally {
      app.close();
    }
  });
});
