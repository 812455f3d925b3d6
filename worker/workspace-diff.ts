// Which files an execution created or changed in its workspace, and how much the workspace holds.
// The workspace belongs to the sandbox user, who may plant symlinks or swap a directory for one
// while another execution of the same project runs; brain (possibly root) must never be led
// outside. So each directory is opened with O_NOFOLLOW and read through its descriptor
// (/proc/self/fd/N/...), never by path again. Names are read as bytes: a name that is not UTF-8
// is still listed, with its odd bytes escaped.
import fs from 'node:fs';

export interface FileState {
  size: number;
  mtimeNs: bigint;
  /** The path as shown: UTF-8, or escaped (see `displayName`). */
  path: string;
  escaped: boolean;
}

/** Keyed by the raw bytes of the path (as latin1), so two names never collide in display form. */
export type Snapshot = Map<string, FileState>;

const MAX_ENTRIES = 10_000;
const MAX_DEPTH = 12;
const DIR_FLAGS = fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW;
const SEP = Buffer.from('/');

function openDir(path: string | Buffer): number | undefined {
  try {
    return fs.openSync(path, DIR_FLAGS);
  } catch {
    return undefined;
  }
}

function under(fd: number, name?: Buffer): Buffer {
  const dir = Buffer.from(`/proc/self/fd/${fd}`);
  return name ? Buffer.concat([dir, SEP, name]) : dir;
}

/**
 * A path as text: itself when it is valid UTF-8; otherwise every byte that is not part of a
 * valid UTF-8 sequence becomes \xNN and a literal backslash becomes \\ (`escaped` says which).
 */
export function displayName(raw: Buffer): { path: string; escaped: boolean } {
  const text = raw.toString('utf8');
  if (Buffer.from(text, 'utf8').equals(raw)) return { path: text, escaped: false };
  let out = '';
  let i = 0;
  while (i < raw.length) {
    const b = raw[i];
    const len = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    const seq = len ? raw.subarray(i, i + len) : undefined;
    if (seq && seq.length === len && (len === 1 || Buffer.from(seq.toString('utf8'), 'utf8').equals(seq))) {
      const s = seq.toString('utf8');
      out += s === '\\' ? '\\\\' : s;
      i += len;
    } else {
      out += `\\x${b.toString(16).padStart(2, '0')}`;
      i += 1;
    }
  }
  return { path: out, escaped: true };
}

/** Calls `visit` for every entry under `root` (depth first), without following symlinks. */
function walk(root: string, visit: (rel: Buffer, entry: fs.Dirent<Buffer>, at: Buffer) => boolean | void) {
  let stop = false;
  const go = (fd: number, rel: Buffer | null, depth: number) => {
    if (depth > MAX_DEPTH) return;
    let entries: fs.Dirent<Buffer>[];
    try {
      entries = fs.readdirSync(under(fd), { withFileTypes: true, encoding: 'buffer' });
    } catch {
      return;
    }
    for (const e of entries) {
      if (stop) return;
      const relPath = rel ? Buffer.concat([rel, SEP, e.name]) : e.name;
      if (visit(relPath, e, under(fd, e.name)) === false) {
        stop = true;
        return;
      }
      if (e.isDirectory()) {
        const child = openDir(under(fd, e.name));
        if (child === undefined) continue;
        try {
          go(child, relPath, depth + 1);
        } finally {
          fs.closeSync(child);
        }
      }
    }
  };
  const fd = openDir(root);
  if (fd === undefined) return;
  try {
    go(fd, null, 0);
  } finally {
    fs.closeSync(fd);
  }
}

export function snapshot(root: string): Snapshot {
  const out: Snapshot = new Map();
  walk(root, (rel, e, at) => {
    if (out.size >= MAX_ENTRIES) return false;
    if (!e.isFile()) return;
    try {
      const st = fs.lstatSync(at, { bigint: true });
      if (st.isFile()) out.set(rel.toString('latin1'), { size: Number(st.size), mtimeNs: st.mtimeNs, ...displayName(rel) });
    } catch {
      /* removed meanwhile */
    }
  });
  return out;
}

export interface Usage {
  bytes: number;
  entries: number;
}

/**
 * Disk bytes (allocated blocks) and entries (files, directories, links) under `root`, for hosts
 * where the workspace is not a filesystem of its own. Stops counting once either passes its limit.
 */
export function usage(root: string, maxBytes: number, maxEntries: number): Usage {
  const u: Usage = { bytes: 0, entries: 0 };
  walk(root, (_rel, _e, at) => {
    u.entries++;
    try {
      u.bytes += fs.lstatSync(at).blocks * 512;
    } catch {
      /* removed meanwhile */
    }
    return u.bytes <= maxBytes && u.entries <= maxEntries;
  });
  return u;
}

export interface ChangedFile {
  path: string;
  size: number;
  change: 'created' | 'modified';
  /** Set when the name is not UTF-8: its odd bytes are shown as \xNN (and "\" as "\\"). */
  escaped?: true;
}

export function diff(before: Snapshot, after: Snapshot): ChangedFile[] {
  const out: ChangedFile[] = [];
  for (const [key, st] of after) {
    const old = before.get(key);
    const change = !old ? 'created' : old.size !== st.size || old.mtimeNs !== st.mtimeNs ? 'modified' : undefined;
    if (change) out.push({ path: st.path, size: st.size, change, ...(st.escaped ? { escaped: true as const } : {}) });
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}
