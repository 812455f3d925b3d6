// File operations for notes: crash-safe writes and the directory walk the index is checked against.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ConflictError } from '../core/errors.js';
import { acceptDiskPath, dirProject, MAX_DEPTH } from './paths.js';

export function hashOf(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

const TEMP = /^\..+\.\d+\.[0-9a-f]{8}\.tmp$/;
/** Temp files older than this are crash leftovers (a live write takes milliseconds). */
const STALE_TEMP_MS = 60_000;

function fsyncDir(dir: string) {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some file systems cannot fsync a directory; the rename itself is still atomic.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

const tempName = (file: string) => path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);

/**
 * The first half of a write that is whole or nothing: the text goes to a hidden temp file in the
 * target's folder and is flushed to disk. Nothing a reader sees has changed yet; a full disk
 * fails here. Returns the temp file and its stats (the same inode the target will have).
 */
export function stageFile(file: string, text: string): { tmp: string; stats: fs.Stats } {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  const tmp = tempName(file);
  const fd = fs.openSync(tmp, 'wx', 0o644);
  try {
    const data = Buffer.from(text, 'utf8');
    let off = 0;
    while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
    fs.fsyncSync(fd);
    const stats = fs.fstatSync(fd);
    fs.closeSync(fd);
    return { tmp, stats };
  } catch (err) {
    try {
      fs.closeSync(fd);
    } catch {
      /* already closed */
    }
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/** A staged file put in place: `keep` once the database agrees, `undo` if it did not. */
export interface Installed {
  keep(): void;
  undo(): void;
}

/**
 * The second half: renames the staged file over the target (or hard-links it when `exclusive`,
 * which fails instead of replacing a file that appeared meanwhile). The file it replaces stays
 * reachable under a hidden temp name until `keep`, so `undo` is one rename and needs no free
 * space (a write that fails for a full disk can still be taken back). A crash at any point leaves
 * either the old file or the new one, never a mix; a leftover temp file is removed by the walk.
 */
export function installStaged(tmp: string, file: string, exclusive: boolean): Installed {
  const dir = path.dirname(file);
  if (exclusive) {
    try {
      fs.linkSync(tmp, file);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new ConflictError(`A note file already exists at ${path.basename(file)}; choose another title or path, or write with mode "replace".`);
      throw err;
    }
    fs.rmSync(tmp, { force: true });
    return {
      keep: () => fsyncDir(dir),
      undo: () => removeFile(file),
    };
  }
  let previous: string | undefined = tempName(file);
  try {
    fs.linkSync(file, previous);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      fs.rmSync(tmp, { force: true });
      throw err;
    }
    previous = undefined;
  }
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    if (previous) fs.rmSync(previous, { force: true });
    throw err;
  }
  return {
    keep() {
      if (previous) fs.rmSync(previous, { force: true });
      fsyncDir(dir);
    },
    undo() {
      if (previous) fs.renameSync(previous, file);
      else removeFile(file);
      fsyncDir(dir);
    },
  };
}

function removeFile(file: string): void {
  fs.rmSync(file, { force: true });
  fsyncDir(path.dirname(file));
}

export interface DiskNote {
  project: string;
  rel: string;
  file: string;
  size: number;
  mtimeMs: number;
}

/** Every note file under the root (hidden files, other extensions and odd names skipped). */
export function walkNotes(root: string, onDir?: (dir: string) => void, nowMs = Date.now()): DiskNote[] {
  const out: DiskNote[] = [];
  let top: fs.Dirent[];
  try {
    top = fs.readdirSync(root, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of top) {
    if (!entry.isDirectory()) continue;
    const project = dirProject(entry.name);
    if (project === undefined) continue;
    walkDir(path.join(root, entry.name), project, '', 1, out, onDir, nowMs);
  }
  return out;
}

function walkDir(dir: string, project: string, prefix: string, depth: number, out: DiskNote[], onDir: ((dir: string) => void) | undefined, nowMs: number) {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  onDir?.(dir);
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.name.startsWith('.')) {
      if (TEMP.test(entry.name)) removeStaleTemp(full, nowMs);
      continue;
    }
    const rel = prefix + entry.name;
    if (entry.isDirectory()) {
      if (depth < MAX_DEPTH) walkDir(full, project, rel + '/', depth + 1, out, onDir, nowMs);
    } else if (entry.isFile() && acceptDiskPath(rel) === rel) {
      const st = statOrUndefined(full);
      if (st) out.push({ project, rel, file: full, size: st.size, mtimeMs: st.mtimeMs });
    }
  }
}

function removeStaleTemp(file: string, nowMs: number) {
  const st = statOrUndefined(file);
  if (st && nowMs - st.mtimeMs > STALE_TEMP_MS) fs.rmSync(file, { force: true });
}

/**
 * The first symbolic link between the notes root (exclusive) and `file` (inclusive), if any.
 * brain neither follows nor replaces links inside the notes folder: a link could lead a read or
 * a write outside it, and the directory walk skips links, so indexing through one would disagree
 * with the walk.
 */
export function symlinkOnPath(root: string, file: string): string | undefined {
  const rel = path.relative(root, file);
  let at = root;
  for (const part of rel.split(path.sep)) {
    at = path.join(at, part);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(at);
    } catch {
      return undefined;
    }
    if (st.isSymbolicLink()) return path.relative(root, at);
  }
  return undefined;
}

export function statOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch {
    return undefined;
  }
}
