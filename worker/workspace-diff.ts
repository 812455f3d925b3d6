// Which files an execution created or changed in its workspace. The walk never follows symlinks
// (lstat only): the workspace belongs to the sandbox user, who may plant links to anywhere.
import fs from 'node:fs';
import path from 'node:path';

export interface FileState {
  size: number;
  mtimeNs: bigint;
}

export type Snapshot = Map<string, FileState>;

const MAX_ENTRIES = 10_000;
const MAX_DEPTH = 12;

export function snapshot(root: string): Snapshot {
  const out: Snapshot = new Map();
  const walk = (dir: string, rel: string, depth: number) => {
    if (depth > MAX_DEPTH || out.size >= MAX_ENTRIES) return;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (out.size >= MAX_ENTRIES) return;
      const relPath = rel ? `${rel}/${e.name}` : e.name;
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full, relPath, depth + 1);
      else if (e.isFile()) {
        try {
          const st = fs.lstatSync(full, { bigint: true });
          out.set(relPath, { size: Number(st.size), mtimeNs: st.mtimeNs });
        } catch {
          /* removed meanwhile */
        }
      }
    }
  };
  walk(root, '', 0);
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
