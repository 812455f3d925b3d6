// Which files an execution created or changed in its workspace. The workspace belongs to the
// sandbox user, who may plant symlinks or swap a directory for one while another execution of the
// same project runs; brain (possibly root) must never be led outside. So each directory is opened
// with O_NOFOLLOW and read through its descriptor (/proc/self/fd/N/...), never by path again.
import fs from 'node:fs';

export interface FileState {
  size: number;
  mtimeNs: bigint;
}

export type Snapshot = Map<string, FileState>;

const MAX_ENTRIES = 10_000;
const MAX_DEPTH = 12;
const DIR_FLAGS = fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW;

function openDir(path: string): number | undefined {
  try {
    return fs.openSync(path, DIR_FLAGS);
  } catch {
    return undefined;
  }
}

export function snapshot(root: string): Snapshot {
  const out: Snapshot = new Map();
  const walk = (fd: number, rel: string, depth: number) => {
    if (depth > MAX_DEPTH || out.size >= MAX_ENTRIES) return;
    const here = `/proc/self/fd/${fd}`;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(here, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (out.size >= MAX_ENTRIES) return;
      const relPath = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        const child = openDir(`${here}/${e.name}`);
        if (child === undefined) continue;
        try {
          walk(child, relPath, depth + 1);
        } finally {
          fs.closeSync(child);
        }
      } else if (e.isFile()) {
        try {
          const st = fs.lstatSync(`${here}/${e.name}`, { bigint: true });
          if (st.isFile()) out.set(relPath, { size: Number(st.size), mtimeNs: st.mtimeNs });
        } catch {
          /* removed meanwhile */
        }
      }
    }
  };
  const fd = openDir(root);
  if (fd === undefined) return out;
  try {
    walk(fd, '', 0);
  } finally {
    fs.closeSync(fd);
  }
  return out;
}

export interface ChangedFile {
  path: string;
  size: number;
  change: 'created' | 'modified';
}

export function diff(before: Snapshot, after: Snapshot): ChangedFile[] {
  const out: ChangedFile[] = [];
  for (const [p, st] of after) {
    const old = before.get(p);
    if (!old) out.push({ path: p, size: st.size, change: 'created' });
    else if (old.size !== st.size || old.mtimeNs !== st.mtimeNs) out.push({ path: p, size: st.size, change: 'modified' });
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}
