// A damaged database is found before brain writes to it: brain refuses to start on it with one
// sentence that points at restore and recover, never changes the file, `brain check` reports the
// damage instead of crashing, and `brain recover` copies what is readable into a file that
// `brain restore` accepts. A file too large for the check at open is checked in the background,
// and from the moment damage is found the connection refuses every write.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { checkDatabaseFile, DatabaseDamagedError, openDatabase } from '../../src/core/db.js';
import { damageOf, watchIntegrity } from '../../src/core/integrity-watch.js';
import { databaseCheck } from '../../src/ops/health.js';
import { brainEnv, CLI, tempDir, testConfig } from '../helpers/brain.js';
import { damage, type Damage } from '../helpers/damage.js';
import { report } from './figures.js';

function brain(args: string[], env: Record<string, string>, input = '') {
  const r = spawnSync(process.execPath, [CLI, ...args], { env, input, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

const sha = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

const made = new Map<number, string>();

/** A brain database of `n` memories (about 1.5 MB for 2,000), its WAL folded in: made once, copied. */
function seeded(dir: string, n = 2000): Record<string, string> {
  const env = brainEnv(dir);
  if (!made.has(n)) {
    const templateDir = tempDir('brain-damage-template-');
    const templateEnv = brainEnv(templateDir);
    const app = createApp(testConfig(templateDir, templateEnv));
    try {
      for (let i = 0; i < n; i++) {
        app.memories.remember({ project: '', key: `fact-${i}`, content: `fact number ${i}: ${'the deploy runs on kubernetes '.repeat(6)}`, type: 'general', tags: ['t'], importance: 0.5 });
      }
    } finally {
      app.close();
    }
    made.set(n, templateEnv.BRAIN_DB_PATH);
  }
  fs.copyFileSync(made.get(n)!, env.BRAIN_DB_PATH);
  return env;
}

const INIT = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } });

describe('a damaged database at start-up', () => {
  const kinds: Damage[] = ['middle', 'header', 'truncated', 'empty'];
  it.each(kinds)('%s: brain refuses to start with one sentence, leaves the file as it was; check reports it', (kind) => {
    const dir = tempDir('brain-damage-');
    const env = seeded(dir);
    damage(env.BRAIN_DB_PATH, kind);
    const before = sha(env.BRAIN_DB_PATH);

    const served = brain([], env, INIT + '\n');
    expect(served.status, served.stderr).toBe(3);
    expect(served.stdout).toBe(''); // not even an initialize answer: nothing was served from it
    const line = served.stderr.trim().split('\n').at(-1)!;
    expect(line).toMatch(/^brain: .*brain\.db is damaged \(.+\); brain did not write to it: restore the newest backup with brain restore FILE, or copy what is readable into a new file with brain recover\.$/);
    expect(served.stderr).not.toMatch(/unexpected error|\n\s+at /);
    expect(sha(env.BRAIN_DB_PATH)).toBe(before);

    // Other commands say the same, with the database exit code.
    const stats = brain(['stats'], env);
    expect(stats.status).toBe(3);
    expect(stats.stderr).toMatch(/is damaged/);

    const check = brain(['check'], env);
    expect(check.status).toBe(1);
    expect(check.stdout).toMatch(/result:\s+NOT SOUND/);
    expect(check.stderr).toMatch(/is damaged; restore the newest backup \(brain restore FILE\) or copy what is readable into a new file \(brain recover\)/);
    expect(check.stderr).not.toMatch(/unexpected error|\n\s+at /);
    expect(JSON.parse(brain(['check', '--json'], env).stdout)).toMatchObject({ ok: false });
    expect(sha(env.BRAIN_DB_PATH)).toBe(before);
    const recovered = brain(['recover', path.join(dir, 'recovered.db'), '--json'], env);
    const rows = recovered.status === 0 ? (JSON.parse(recovered.stdout) as { tables: { memories?: { copied: number } } }).tables.memories?.copied ?? 0 : 0;
    expect(sha(env.BRAIN_DB_PATH)).toBe(before);
    // An empty file holds nothing; from the others brain recover saves rows.
    if (kind === 'empty') expect(recovered.stderr).toMatch(/is empty \(0 bytes\), so there is nothing to recover/);
    else expect(rows).toBeGreaterThan(kind === 'truncated' ? 500 : 1500);
    report(`corrupted file (${kind})`, {
      'starts refused': 2,
      'writes into it': 0,
      'file changed': 0,
      'check says': 'NOT SOUND',
      'crashes (stack traces)': 0,
      'memories recovered': `${rows} of 2,000`,
    });
  });

  it('recover copies the readable rows into a sound file that restore accepts; brain works on it', () => {
    const dir = tempDir('brain-recover-');
    const env = seeded(dir);
    // The record of a recall index file beside the damaged database: that file may hold memories
    // the copy loses, so the copy must not name it.
    const seededDb = new Database(env.BRAIN_DB_PATH);
    seededDb.prepare("INSERT INTO recall_index_file (id, token, seq, written_at) VALUES (1, 'a-token', 1, '2030-01-01 00:00:00')").run();
    seededDb.close();
    damage(env.BRAIN_DB_PATH, 'middle');
    const before = sha(env.BRAIN_DB_PATH);
    const target = path.join(dir, 'recovered.db');
    const r = brain(['recover', target, '--json'], env);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { tables: Record<string, { copied: number; damaged: number }>; integrity: string };
    expect(report.integrity).toBe('ok');
    // The damage took some rows (an 8 KB stretch holds a few dozen) and left the rest.
    expect(report.tables.memories.copied).toBeGreaterThan(1500);
    expect(report.tables.memories.copied).toBeLessThan(2000);
    expect(sha(env.BRAIN_DB_PATH)).toBe(before);
    expect(brain(['check'], { ...env, BRAIN_DB_PATH: target }).status).toBe(0);
    const copy = new Database(target, { readonly: true });
    expect(copy.prepare('SELECT count(*) FROM recall_index_file').pluck().get()).toBe(0);
    copy.close();

    const restored = brain(['restore', target], env);
    expect(restored.status, restored.stderr).toBe(0);
    expect(brain(['check'], env).status).toBe(0);
    const app = createApp(testConfig(dir, env));
    try {
      // Search works on the rebuilt index, and writes work again.
      expect(app.memories.search('kubernetes', {}, 5).hits.length).toBe(5);
      app.memories.remember({ project: '', key: 'after-recovery', content: 'written after the recovery', type: 'general', tags: [], importance: 0.5 });
    } finally {
      app.close();
    }
    // The damaged file is kept beside it, unchanged.
    const kept = fs.readdirSync(dir).find((n) => n.startsWith('brain.db.replaced-') && !/-(wal|shm)$/.test(n))!;
    expect(sha(path.join(dir, kept))).toBe(before);

    const nothing = path.join(dir, 'zero.db');
    fs.writeFileSync(nothing, '');
    const refused = brain(['recover', path.join(dir, 'from-zero.db')], { ...env, BRAIN_DB_PATH: nothing });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/recovery of .*zero\.db failed: .*empty/);
  });

  it('a new database appears whole: brains starting together on a new path share one sound file', async () => {
    const dir = tempDir('brain-create-');
    const file = path.join(dir, 'new', 'brain.db');
    const dbModule = path.join(path.dirname(CLI), 'core', 'db.js');
    const script = `import(${JSON.stringify(dbModule)}).then((m) => { const db = m.openDatabase(${JSON.stringify(file)}); db.prepare('SELECT count(*) FROM memories').get(); db.close(); })`;
    const codes = await Promise.all(
      Array.from({ length: 4 }, () => new Promise<number | null>((resolve) => spawn(process.execPath, ['-e', script], { stdio: 'inherit' }).on('exit', resolve))),
    );
    expect(codes).toEqual([0, 0, 0, 0]);
    expect(() => checkDatabaseFile(file)).not.toThrow();
    expect(fs.readdirSync(path.dirname(file)).filter((n) => n.includes('creating'))).toEqual([]);
  });
});

describe('a file too large for the check at open', () => {
  it('is checked in the background; once damage is found every write is refused and health fails', async () => {
    const dir = tempDir('brain-watch-');
    const env = seeded(dir);
    damage(env.BRAIN_DB_PATH, 'middle');
    // As if the file were larger than QUICK_CHECK_AT_OPEN_BYTES: only header and schema at open.
    const db = openDatabase(env.BRAIN_DB_PATH, { quickCheckMaxBytes: 0 });
    try {
      let found: DatabaseDamagedError | undefined;
      const watch = watchIntegrity(db, { onDamage: (err) => (found = err), delayMs: 0 });
      await watch.done;
      expect(found).toBeInstanceOf(DatabaseDamagedError);
      expect(found!.message).toMatch(/is damaged \(.+\); brain did not write to it: restore .*, or .*brain recover$/);
      expect(damageOf(db)).toBe(found);
      expect(() => db.prepare("INSERT INTO config (key, value, updated_at) VALUES ('x', 'y', '2026-01-01')").run()).toThrow(/readonly/);
      expect(databaseCheck(db, env.BRAIN_DB_PATH)()).toMatchObject({ status: 'fail', detail: found!.message });
    } finally {
      db.close();
    }
  });

  it('a sound file passes the background check and stays writable', async () => {
    const dir = tempDir('brain-watch-ok-');
    const env = seeded(dir, 50);
    const db = openDatabase(env.BRAIN_DB_PATH, { quickCheckMaxBytes: 0 });
    try {
      let found = false;
      await watchIntegrity(db, { onDamage: () => (found = true), delayMs: 0 }).done;
      expect(found).toBe(false);
      expect(damageOf(db)).toBeUndefined();
      db.prepare("INSERT INTO config (key, value, updated_at) VALUES ('x', 'y', '2026-01-01')").run();
    } finally {
      db.close();
    }
    const check = new Database(env.BRAIN_DB_PATH, { readonly: true });
    expect(check.prepare("SELECT value FROM config WHERE key = 'x'").pluck().get()).toBe('y');
    check.close();
  });
});
