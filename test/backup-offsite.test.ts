// Backups off the host: a backup taken while another process writes continuously is one sound
// snapshot holding every write acknowledged before it began; the off-site hook gets the verified
// files, and its failure or overrun is an event and a metric (the local backup stands).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { checkDatabase, listBackups, restoreDatabase } from '../src/ops/backup.js';
import { brainEnv, call, CLI, startBrain, tempDir, testConfig } from './helpers/brain.js';
import { adminPost, daemonEnv, startServe, waitFor, type RunningDaemon } from './helpers/daemon.js';

function keysIn(file: string): Set<string> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return new Set(db.prepare('SELECT key FROM memories').pluck().all() as string[]);
  } finally {
    db.close();
  }
}

/** A hook script in `dir` with the given body. */
function hookScript(dir: string, name: string, body: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
}

function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line ? Number(line.split(' ')[1]) : NaN;
}

describe('backup while another process writes', () => {
  it('restores to a sound database holding every write acknowledged before the backup began; the hook copies it off-site', async () => {
    const dir = tempDir('brain-backup-live-');
    const offsite = path.join(dir, 'offsite');
    fs.mkdirSync(offsite);
    // `cp -t DIR FILES...`: the hook gets the backup and its notes archive as its last arguments.
    const env = brainEnv(dir, { BRAIN_BACKUP_HOOK: `cp -t ${offsite}` });
    const app = createApp(testConfig(dir, env));
    // Some megabytes, so the copy takes long enough for writes to land while it runs.
    const filler = 'backups must hold every acknowledged write '.repeat(60);
    app.db.transaction(() => {
      for (let i = 0; i < 3000; i++) app.memories.remember({ project: '', key: `seed-${i}`, content: `${i} ${filler}`, type: 'general', tags: [], importance: 0.5 });
    })();
    fs.mkdirSync(env.BRAIN_NOTES_PATH, { recursive: true });
    fs.writeFileSync(path.join(env.BRAIN_NOTES_PATH, 'plan.md'), '# Plan\n');

    // The writer: an embedded brain in its own process, remembering as fast as it is answered.
    const writer = await startBrain(env);
    const acked: string[] = [];
    let stop = false;
    const writing = (async () => {
      for (let i = 0; !stop; i++) {
        await call(writer.client, 'remember', { key: `live-${i}`, content: `written while backing up, number ${i}` });
        acked.push(`live-${i}`);
      }
    })();
    try {
      while (acked.length < 50) await new Promise((r) => setTimeout(r, 10));
      const ackedBefore = [...acked];
      const ok = await app.maintenance.runNow('backup');
      const ackedDuring = acked.length - ackedBefore.length;
      expect(ok).toBe(true);
      // The writer was not held up: its writes went on while the backup ran.
      expect(ackedDuring).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 200));
      stop = true;
      await writing;

      const [backup] = listBackups(env.BRAIN_BACKUP_PATH);
      expect(path.basename(backup.file)).toMatch(/^brain_\d{8}_\d{6}(_\d+)?\.db\.gz$/);
      // The hook got both files, and what it copied off the host is the verified backup.
      const copied = path.join(offsite, path.basename(backup.file));
      expect(fs.readFileSync(copied).equals(fs.readFileSync(backup.file))).toBe(true);
      expect(fs.existsSync(path.join(offsite, path.basename(backup.file).replace(/\.db\.gz$/, '.notes.tar.gz')))).toBe(true);
      const text = await app.metrics.registry.metrics();
      expect(text).toMatch(/brain_backup_offsite_runs_total\{status="ok"\} 1/);
      expect(metric(text, 'brain_backup_offsite_last_success_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 120);
      expect(metric(text, 'brain_backup_offsite_last_failure_timestamp_seconds')).toBe(0);

      // Restored from the off-site copy into a machine's empty data folder.
      const elsewhere = path.join(tempDir('brain-restored-'), 'brain.db');
      const restored = await restoreDatabase(elsewhere, copied);
      expect(restored.integrity).toBe('ok');
      expect(checkDatabase(elsewhere)).toMatchObject({ ok: true, integrity: 'ok', foreign_key_problems: 0 });
      const keys = keysIn(elsewhere);
      const missing = ackedBefore.filter((k) => !keys.has(k));
      expect(missing).toEqual([]);
      expect(keys.has('seed-2999')).toBe(true);
      // A snapshot: the writes it holds are a prefix of what the writer acknowledged, no gaps.
      const live = acked.filter((k) => keys.has(k));
      expect(live).toEqual(acked.slice(0, live.length));
    } finally {
      stop = true;
      await writing.catch(() => undefined);
      await writer.close();
      app.close();
    }
  }, 120_000);
});

describe('the off-site hook failing', () => {
  it('a hook that exits non-zero: the backup stands, a backup.offsite error event says why, the metrics count it', async () => {
    const dir = tempDir('brain-hook-fail-');
    const hook = hookScript(dir, 'offsite.sh', 'echo "rclone: remote offsite: connection refused" >&2\nexit 3');
    const app = createApp(testConfig(dir, { BRAIN_BACKUP_HOOK: hook }));
    try {
      app.memories.remember({ project: '', key: 'k', content: 'kept locally', type: 'general', tags: [], importance: 0.5 });
      expect(await app.maintenance.runNow('backup')).toBe(true);
      expect(listBackups(app.config.backupPath)).toHaveLength(1);
      const errors = app.events.list({ severities: ['error'] }, 10).rows;
      expect(errors.map((e) => e.event_type)).toEqual(['backup.offsite']);
      expect(errors[0].message).toMatch(/^the off-site backup hook \(BRAIN_BACKUP_HOOK\) exited with code 3; the backup is kept only on this host\. It printed: rclone: remote offsite: connection refused$/);
      const text = await app.metrics.registry.metrics();
      expect(text).toMatch(/brain_backup_offsite_runs_total\{status="failed"\} 1/);
      expect(metric(text, 'brain_backup_offsite_last_failure_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 120);
      expect(metric(text, 'brain_backup_offsite_last_success_timestamp_seconds')).toBe(0);
      // The backup itself succeeded: its own event is info and says it was not copied.
      const info = app.events.list({ types: ['maintenance.backup'] }, 10).rows;
      expect(info.map((e) => e.severity)).toEqual(['info']);
      expect(info[0].message).toMatch(/NOT copied off-site/);
    } finally {
      app.close();
    }
  });

  it('a hook that overruns BRAIN_BACKUP_HOOK_TIMEOUT_SEC is stopped with everything it started, and reported', async () => {
    const dir = tempDir('brain-hook-timeout-');
    const pidFile = path.join(dir, 'child.pid');
    // A hook that starts a child of its own and waits: both must go.
    const hook = hookScript(dir, 'slow.sh', `sleep 60 &\necho $! > ${pidFile}\nwait`);
    const app = createApp(testConfig(dir, { BRAIN_BACKUP_HOOK: hook, BRAIN_BACKUP_HOOK_TIMEOUT_SEC: '1' }));
    try {
      expect(await app.maintenance.runNow('backup')).toBe(true);
      const [event] = app.events.list({ types: ['backup.offsite'] }, 10).rows;
      expect(event).toMatchObject({ severity: 'error' });
      expect(event.message).toMatch(/^the off-site backup hook \(BRAIN_BACKUP_HOOK\) was stopped after 1 s \(BRAIN_BACKUP_HOOK_TIMEOUT_SEC\)/);
      expect(await app.metrics.registry.metrics()).toMatch(/brain_backup_offsite_runs_total\{status="timeout"\} 1/);
      const pid = Number(fs.readFileSync(pidFile, 'utf8'));
      let alive = true;
      for (let i = 0; i < 50 && alive; i++) {
        try {
          process.kill(pid, 0);
          await new Promise((r) => setTimeout(r, 100));
        } catch {
          alive = false;
        }
      }
      expect(alive).toBe(false);
    } finally {
      app.close();
    }
  });

  it('brain backup exits 1 naming the hook failure, with the backup made', () => {
    const dir = tempDir('brain-hook-cli-');
    const env = brainEnv(dir, { BRAIN_BACKUP_HOOK: 'false' });
    const app = createApp(testConfig(dir, env));
    app.close();
    const r = spawnCli(['backup'], env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/the off-site backup hook \(BRAIN_BACKUP_HOOK\) exited with code 1; the backup is kept only on this host/);
    expect(r.stdout).toMatch(/^backup: .*brain_\d{8}_\d{6}\.db\.gz \(/m);
    expect(listBackups(env.BRAIN_BACKUP_PATH)).toHaveLength(1);
  });
});

describe('the off-site gauges across a restart', () => {
  it('a restarted brain serve reports the failure it had seen, and the success once the hook works again', async () => {
    const dir = tempDir('brain-hook-restart-');
    const hook = hookScript(dir, 'offsite.sh', 'exit 3');
    const env = await daemonEnv(dir, { BRAIN_BACKUP_HOOK: hook });
    const gauges = async (daemon: RunningDaemon) => {
      const text = await (await fetch(daemon.url('/metrics'))).text();
      return { failure: metric(text, 'brain_backup_offsite_last_failure_timestamp_seconds'), success: metric(text, 'brain_backup_offsite_last_success_timestamp_seconds') };
    };
    // A fresh service takes a backup at start; its hook fails.
    let daemon = await startServe(env);
    try {
      await waitFor('the failed hook', async () => (await gauges(daemon)).failure > 0);
      const failedAt = (await gauges(daemon)).failure;
      await daemon.stop();
      // Restarted within the backup interval: no backup at start, the gauges come from the events.
      daemon = await startServe(env);
      // (the event is written a moment after the gauge was set: the same time, to the second)
      expect(await gauges(daemon)).toEqual({ failure: expect.closeTo(failedAt, 0), success: 0 });
      expect(listBackups(env.BRAIN_BACKUP_PATH)).toHaveLength(1);
      // Fixed, a backup copies it off-site; after another restart both are as they were.
      fs.writeFileSync(hook, '#!/bin/sh\nexit 0\n');
      expect((await adminPost(daemon, 'backup')).status).toBe(200);
      const fixed = await gauges(daemon);
      expect(fixed.success).toBeGreaterThanOrEqual(failedAt);
      await daemon.stop();
      daemon = await startServe(env);
      const after = await gauges(daemon);
      expect(after).toEqual({ failure: expect.closeTo(failedAt, 0), success: expect.closeTo(fixed.success, 0) });
    } finally {
      await daemon.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});

function spawnCli(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}
