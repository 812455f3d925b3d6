// Damage done to a database file the way disks and people do it, for the corruption tests.
import fs from 'node:fs';

export type Damage = 'middle' | 'header' | 'truncated' | 'empty';

/**
 * - middle: 8 KB of garbage over b-tree pages in the middle of the file (a bad sector, a stray write);
 * - header: the first 100 bytes (the SQLite header) overwritten;
 * - truncated: the last third cut off (a copy that stopped, a full disk);
 * - empty: 0 bytes left.
 * Any WAL beside the file is removed first, so the damage is all there is to see.
 */
export function damage(file: string, kind: Damage): void {
  for (const suffix of ['-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
  const size = fs.statSync(file).size;
  if (kind === 'empty') return fs.truncateSync(file, 0);
  if (kind === 'truncated') return fs.truncateSync(file, Math.floor((size * 2) / 3 / 4096) * 4096 + 1000);
  const fd = fs.openSync(file, 'r+');
  try {
    if (kind === 'header') fs.writeSync(fd, Buffer.alloc(100, 0x5a), 0, 100, 0);
    else fs.writeSync(fd, Buffer.alloc(8192, 0xa5), 0, 8192, Math.floor(size / 2 / 4096) * 4096);
  } finally {
    fs.closeSync(fd);
  }
}
