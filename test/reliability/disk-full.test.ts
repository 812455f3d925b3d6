// The database and the notes on a small file system that fills up while brain writes: every
// write is either acknowledged and kept, or refused with an error result; a refused note leaves
// no file; brain keeps answering, the database stays sound, and writes work again once space
// is freed.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { brainEnv, CLI, tempDir } from '../helpers/brain.js';
import { report } from './figures.js';
import { cannotRun, mountTmpfs, unmount } from './mounts.js';
import { callTool, handshake, startPeer } from './rpc-peer.js';

const dir = tempDir('brain-full-');
const mnt = path.join(dir, 'small');
const cannotMount = mountTmpfs(mnt, 8);
afterAll(() => {
  if (!cannotMount) unmount(mnt);
});

const text = (i: number) => `entry ${i}: ${Array.from({ length: 1500 }, (_, k) => `w${(i * 7919 + k * 104729) % 99991}`).join(' ')}`;

describe('a disk that fills up', () => {
  it('every write is kept or refused cleanly; nothing is left by a refused note; writes resume when space is freed', async (ctx) => {
    if (cannotMount) return cannotRun('disk full', cannotMount, () => ctx.skip());
    const env = brainEnv(dir, {
      BRAIN_DB_PATH: path.join(mnt, 'brain.db'),
      BRAIN_NOTES_PATH: path.join(mnt, 'notes'),
      BRAIN_LOG_FILES: 'false',
      BRAIN_LOG_LEVEL: 'error',
      BRAIN_SANDBOX_WARM: '0',
    });
    const peer = startPeer(env);
    const memories = new Map<string, string>();
    const notes = new Map<string, string>();
    const refusals: string[] = [];
    let refusedNotes: string[] = [];
    let sent = 0;
    let protocolErrors = 0;
    const write = async (i: number) => {
      const key = `entry-${i}`;
      const note = i % 3 === 2;
      const content = text(i);
      sent++;
      const r = await callTool(peer, note ? 'note' : 'remember', note ? { action: 'write', title: key, content } : { key, content });
      if (r.error) protocolErrors++;
      else if (r.result?.isError) {
        refusals.push(r.result.content?.[0]?.text ?? '');
        if (note) refusedNotes.push(key);
      } else (note ? notes : memories).set(key, content);
    };
    let i = 0;
    try {
      await handshake(peer);
      for (; i < 9; i++) await write(i);
      // Fill the disk, give 400 KB back, then write until it is full and stays full.
      const filler = path.join(mnt, 'filler');
      const fd = fs.openSync(filler, 'w');
      let size = 0;
      try {
        for (const chunk = Buffer.alloc(64 * 1024); ; size += chunk.length) fs.writeSync(fd, chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      } finally {
        fs.closeSync(fd);
      }
      fs.truncateSync(filler, Math.max(0, size - 400 * 1024));
      let inARow = 0;
      for (; i < 400 && inARow < 12; i++) {
        const before = refusals.length;
        await write(i);
        inARow = refusals.length > before ? inARow + 1 : 0;
      }
      const refusedWhileFull = refusals.length;
      expect(refusedWhileFull).toBeGreaterThan(0);
      expect(protocolErrors).toBe(0);
      expect((await peer.request('ping')).result).toBeDefined();
      // A refused note left no file, not even a temp file.
      const onDisk = fs.readdirSync(path.join(mnt, 'notes'), { recursive: true }).map(String);
      const leftovers = refusedNotes.filter((k) => onDisk.some((n) => path.basename(n).includes(k)));
      expect(leftovers).toEqual([]);
      expect(onDisk.filter((n) => path.basename(n).startsWith('.') && !n.includes('.trash'))).toEqual([]);

      fs.rmSync(path.join(mnt, 'filler'));
      refusedNotes = [];
      const refusedBefore = refusals.length;
      for (const end = i + 6; i < end; i++) await write(i);
      expect(refusals.length).toBe(refusedBefore);

      report('disk full (8 MB tmpfs)', {
        'writes sent': sent,
        'acknowledged memories': memories.size,
        'acknowledged notes': notes.size,
        'refused while full': refusedWhileFull,
        'files left by refused notes': leftovers.length,
        crashes: 0,
      });
    } finally {
      peer.kill('SIGTERM');
      await peer.exited;
    }
    const check = spawnSync(process.execPath, [CLI, 'check'], { env, encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    const db = new Database(env.BRAIN_DB_PATH, { readonly: true });
    try {
      const memory = db.prepare("SELECT content FROM memories WHERE project = '' AND key = ?").pluck();
      const lost = [...memories].filter(([k, v]) => memory.get(k) !== v).length + [...notes.keys()].filter((k) => !db.prepare("SELECT 1 FROM notes WHERE title = ?").get(k)).length;
      expect(lost).toBe(0);
    } finally {
      db.close();
    }
  });
});
