// Backups running at once never share a file or leave a bad one, an empty or schema-less file is
// never a backup, and restore refuses while any other process has the database open, so a
// session that is still running cannot go on acknowledging writes into the replaced file.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { backupDatabase, backupProblem, listBackups, restoreDatabase } from '../src/ops/backup.js';
import { brainEnv, call, CLI, startBrain, tempDir, testConfig } from './helpers/brain.js';

function brain(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function brainAsync(args: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

function seed(dir: string, env: Record<string, string>, keys: string[]) {
  const app = createApp(testConfig(dir, env));
  try {
    for (const key of keys) app.memories.remember({ project: '', key, content: `content of ${key}`, type: 'general', tags: [], importance: 0.5 });
  } finally {
    app.close();
  }
}

function keysIn(file: string): string[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT key FROM memories ORDER BY key').pluck().all() as string[];
  } finally {
    db.close();
  }
}

/** A backup as restore reads it: a gzipped one unpacked into a file of its own. */
function dbOf(file: string): string {
  if (!file.endsWith('.gz')) return file;
  const out = path.join(tempDir('brain-unpacked-'), path.basename(file, '.gz'));
  fs.writeFileSync(out, zlib.gunzipSync(fs.readFileSync(file)));
  return out;
}

describe('backups running at once', () => {
  it('ten brain backup processes: each success is its own sound file, nothing empty or half-made is left', async () => {
    const dir = tempDir('brain-parallel-backup-');
    const env = brainEnv(dir, { BRAIN_BACKUP_KEEP: '50' });
    seed(dir, env, ['a', 'b', 'c']);
    const runs = await Promise.all(Array.from({ length: 10 }, () => brainAsync(['backup', '--json'], env)));
    const made = runs.filter((r) => r.status === 0).map((r) => (JSON.parse(r.stdout) as { file: string }).file);
    // Every run succeeds (SQLite serialises the readers' snapshots; nothing is shared on disk)...
    expect(runs.map((r) => r.status), runs.map((r) => r.stderr).join('\n')).toEqual(Array(10).fill(0));
    // ...under ten different names,
    expect(new Set(made).size).toBe(10);
    // and every file in the directory is a sound backup that restore would take.
    const files = fs.readdirSync(env.BRAIN_BACKUP_PATH);
    expect(files.filter((n) => n.endsWith('.db.gz')).sort()).toEqual(made.map((f) => path.basename(f)).sort());
    expect(files.filter((n) => n.startsWith('.'))).toEqual([]);
    for (const f of made) {
      expect(backupProblem(dbOf(f))).toBeUndefined();
      expect(keysIn(dbOf(f))).toEqual(['a', 'b', 'c']);
    }
  }, 120_000);

  it('in one process: parallel backups get distinct names and retention keeps the newest by name and number', async () => {
    const dir = tempDir('brain-parallel-inproc-');
    const env = brainEnv(dir);
    const app = createApp(testConfig(dir, env));
    try {
      app.memories.remember({ project: '', key: 'x', content: 'kept', type: 'general', tags: [], importance: 0.5 });
      const t = Date.parse('2026-03-01T10:00:00Z');
      const results = await Promise.all(Array.from({ length: 6 }, () => backupDatabase(app.db, env.BRAIN_BACKUP_PATH, 10, t)));
      expect(new Set(results.map((r) => r.file)).size).toBe(6);
      // brain_X_10 sorts after brain_X_9, and brain_X (the first) is the oldest of the second.
      const later = await backupDatabase(app.db, env.BRAIN_BACKUP_PATH, 4, t + 1000);
      expect(listBackups(env.BRAIN_BACKUP_PATH).map((b) => path.basename(b.file))).toEqual([
        path.basename(later.file),
        'brain_20260301_100000_5.db.gz',
        'brain_20260301_100000_4.db.gz',
        'brain_20260301_100000_3.db.gz',
      ]);
      for (const b of listBackups(env.BRAIN_BACKUP_PATH)) expect(backupProblem(dbOf(b.file))).toBeUndefined();
    } finally {
      app.close();
    }
  });
});

describe('what restore accepts', () => {
  it('refuses an empty file and a SQLite file without brain tables, and changes nothing', () => {
    const dir = tempDir('brain-restore-refuse-');
    const env = brainEnv(dir);
    seed(dir, env, ['precious']);
    const empty = path.join(dir, 'brain_20260101_000000.db');
    fs.writeFileSync(empty, '');
    const other = path.join(dir, 'other.db');
    const db = new Database(other);
    db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
    db.close();
    for (const [file, why] of [
      [empty, /the file is empty \(0 bytes\)/],
      [other, /it has no brain tables/],
    ] as const) {
      const r = brain(['restore', file], env);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(why);
      expect(r.stderr).toMatch(/is not a sound brain backup .*The database was not changed\.$/m);
      expect(keysIn(env.BRAIN_DB_PATH)).toEqual(['precious']);
    }
    expect(fs.readdirSync(dir).filter((n) => n.includes('replaced') || n.includes('restoring'))).toEqual([]);
  });
});

describe('restore while the database is open', () => {
  it('refuses while an embedded brain session has it open, naming the process; its writes stay visible', async () => {
    const dir = tempDir('brain-restore-open-');
    const env = brainEnv(dir);
    seed(dir, env, ['before-backup']);
    const backup = JSON.parse(brain(['backup', '--json'], env).stdout).file as string;
    const session = await startBrain(env);
    try {
      await call(session.client, 'remember', { key: 'during-session', content: 'written by the open session' });
      const r = brain(['restore', backup], env);
      expect(r.status).toBe(1);
      const pid = session.transport.pid!;
      expect(r.stderr).toMatch(new RegExp(`is open in pid ${pid} \\(node cli\\.js\\); end those brain sessions .* and run the restore again\\. The database was not changed\\.`));
      // The session keeps writing into the file everyone uses.
      await call(session.client, 'remember', { key: 'after-refused-restore', content: 'still kept' });
      expect(keysIn(env.BRAIN_DB_PATH)).toEqual(['after-refused-restore', 'before-backup', 'during-session']);
      expect(fs.readdirSync(dir).filter((n) => n.includes('replaced'))).toEqual([]);
    } finally {
      await session.close();
    }
    // Once it has ended, the restore goes ahead.
    const r = brain(['restore', backup], env);
    expect(r.status, r.stderr).toBe(0);
    expect(keysIn(env.BRAIN_DB_PATH)).toEqual(['before-backup']);
  });

  it('refuses while any connection holds it, as SQLite reports even when /proc cannot name it', async () => {
    const dir = tempDir('brain-restore-lock-');
    const env = brainEnv(dir);
    seed(dir, env, ['one']);
    const app = createApp(testConfig(dir, env));
    const made = await backupDatabase(app.db, env.BRAIN_BACKUP_PATH, 7);
    try {
      // This process holds the connection, and /proc lookups leave this process out.
      await expect(restoreDatabase(env.BRAIN_DB_PATH, made.file)).rejects.toThrow(/is open in another process \(SQLite reports its lock; .*\); end every brain session .* The database was not changed\./);
      app.memories.remember({ project: '', key: 'two', content: 'still written to the one file', type: 'general', tags: [], importance: 0.5 });
    } finally {
      app.close();
    }
    expect(keysIn(env.BRAIN_DB_PATH)).toEqual(['one', 'two']);
    const r = await restoreDatabase(env.BRAIN_DB_PATH, made.file);
    expect(r.integrity).toBe('ok');
    expect(keysIn(env.BRAIN_DB_PATH)).toEqual(['one']);
    // The file it replaced is kept whole, its WAL folded in.
    expect(keysIn(r.replaced_kept_at!)).toEqual(['one', 'two']);
  });
});
