// Background WAL checkpoints (src/core/checkpointer.ts): the worker copies committed pages into the
// database file without any commit doing it, and stopping it leaves the usual clean shutdown.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startCheckpointer } from '../src/core/checkpointer.js';
import { openDatabase, truncateWal } from '../src/core/db.js';
import { silentLogger } from '../src/core/logger.js';
import { tempDir } from './helpers/brain.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A new database with an empty table to fill, its WAL empty; `write(n)` adds n rows of about a page each. */
function fillable() {
  const file = path.join(tempDir(), 'brain.db');
  const db = openDatabase(file);
  db.exec('CREATE TABLE filler (x TEXT)');
  db.pragma('wal_checkpoint(TRUNCATE)');
  const insert = db.prepare('INSERT INTO filler VALUES (?)');
  const write = (n: number) => {
    for (let i = 0; i < n; i++) insert.run('x'.repeat(3000));
  };
  return { file, db, write };
}

describe('background checkpoints', () => {
  it('copy the WAL into the database file with no commit doing it, and stop cleanly', async () => {
    const { file, db, write } = fillable();
    const checkpointer = startCheckpointer(db, silentLogger(), 0, 50)!;
    expect(checkpointer).toBeDefined();
    await sleep(200); // the worker is running
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(4000);

    const before = fs.statSync(file).size;
    // About 200 pages: far below the backstop, so no commit checkpoints by itself.
    write(200);
    // Waits for the copy to finish, not merely begin (on a loaded machine the worker may be
    // mid-copy when the file first grows); the next test shows the commits alone do not copy.
    for (let i = 0; i < 500 && fs.statSync(file).size <= before + 150 * 4096; i++) await sleep(20);
    expect(fs.statSync(file).size).toBeGreaterThan(before + 150 * 4096);

    checkpointer.stop();
    db.close();
    // The serving connection closed last, so it removed the WAL as usual.
    expect(fs.existsSync(file + '-wal')).toBe(false);
  });

  it('without the worker, the same writes stay in the WAL (what the test above rules out)', () => {
    const { file, db, write } = fillable();
    const before = fs.statSync(file).size;
    write(200);
    expect(fs.statSync(file).size).toBe(before);
    db.close();
  });

  it('a full WAL truncate (maintenance, restore) succeeds while the worker is checkpointing', async () => {
    const { file, db, write } = fillable();
    const checkpointer = startCheckpointer(db, silentLogger(), 0, 1)!;
    await sleep(200);
    db.pragma('wal_autocheckpoint = 0'); // only the worker checkpoints, as often as it can
    for (let round = 0; round < 5; round++) {
      db.transaction(() => write(300))();
      await sleep(2); // the worker is copying these pages now
      expect(truncateWal(db).busy).toBe(0);
      expect(fs.statSync(file + '-wal').size).toBe(0);
    }
    checkpointer.stop();
    db.close();
  });

  it('does not start on a file that was moved away meanwhile (no empty database appears)', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'brain.db');
    const db = openDatabase(file);
    const checkpointer = startCheckpointer(db, silentLogger(), 50)!;
    for (const suffix of ['', '-wal', '-shm']) if (fs.existsSync(file + suffix)) fs.renameSync(file + suffix, path.join(dir, 'moved.db' + suffix));
    await sleep(300);
    expect(fs.existsSync(file)).toBe(false);
    checkpointer.stop();
    db.close();
  });

  it('a checkpointer stopped before its worker started leaves nothing running', () => {
    const file = path.join(tempDir(), 'brain.db');
    const db = openDatabase(file);
    const checkpointer = startCheckpointer(db, silentLogger(), 60_000)!;
    checkpointer.stop();
    db.close();
    expect(fs.existsSync(file + '-wal')).toBe(false);
  });
});
