// Keeping the index true to the files. At start-up every note file is stat'ed and compared with
// its row (size + mtime, then the hash when those differ), so changes made while brain was not
// running are picked up. While running, fs.watch marks the files that changed and only those are
// re-read on the next call; a full stat pass still runs every `rescanMs` in case the watcher
// missed something (network file systems, inotify limits). Without a watcher, the full pass runs
// at most every `pollMs`: never a full rescan on every call.
import fs from 'node:fs';
import path from 'node:path';
import type { Db } from '../core/db.js';
import { UnavailableError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import { hashOf, statOrUndefined, symlinkOnPath, walkNotes, type DiskNote } from './files.js';
import { aliasesOf, inlineTags, parseNote, titleOf, wikiLinks } from './front-matter.js';
import { acceptDiskPath, dirProject, linkKey, noteFile, noteKeys, projectDir } from './paths.js';
import * as store from './store.js';

/** Files larger than this are indexed by their beginning only (and say so). */
export const MAX_INDEX_BYTES = 2 * 1024 * 1024;
/** Beyond this many folders brain stops adding watchers and relies on the periodic pass. */
const MAX_WATCHED_DIRS = 2000;
/** Rows written per transaction during a full pass (keeps the write lock short for other processes). */
const BATCH = 250;

export interface SyncOptions {
  db: Db;
  root: string;
  watch: boolean;
  rescanMs: number;
  pollMs: number;
  logger: Logger;
  metrics?: Metrics;
  /** Told when a changed file is indexed with problems (front matter that is not YAML, bytes that are not UTF-8, ...). */
  onProblems?: (project: string, rel: string, problems: string[]) => void;
}

export interface SyncStats {
  /** Full passes so far (start-up, folder changes, the periodic backstop). */
  passes: number;
  scanned: number;
  added: number;
  updated: number;
  removed: number;
  ms: number;
}

export type NoteSync = ReturnType<typeof createNoteSync>;

/** The index entry for a file's bytes. */
export function entryFor(project: string, rel: string, bytes: Buffer, st: { size: number; mtimeMs: number; birthtimeMs?: number }): store.IndexEntry {
  const problems: string[] = [];
  let text = bytes.subarray(0, MAX_INDEX_BYTES).toString('utf8');
  if (bytes.length > MAX_INDEX_BYTES) problems.push(`the file is ${Math.round(bytes.length / 1024)} KB; only its first ${MAX_INDEX_BYTES / 1024 / 1024} MB are searchable`);
  if (text.includes('\uFFFD') && !bytes.includes(Buffer.from('\uFFFD'))) problems.push('the file is not valid UTF-8; unreadable bytes were replaced');
  text = text.replace(/\u0000/g, '');
  const parsed = parseNote(text);
  problems.push(...parsed.problems);
  // Rounded, not cut: a time set with utimes (an import puts back a note's updated_at) reads back
  // a fraction of a microsecond early about half the time (.073 as .0729998), a millisecond off.
  const mtimeIso = new Date(Math.round(st.mtimeMs)).toISOString();
  const updated = parsed.meta.updated && parsed.meta.updated > mtimeIso ? parsed.meta.updated : mtimeIso;
  const born = st.birthtimeMs && st.birthtimeMs > 0 ? new Date(Math.min(st.birthtimeMs, st.mtimeMs)).toISOString() : mtimeIso;
  const title = titleOf(parsed.meta, rel);
  return {
    project,
    path: rel,
    title,
    // Front matter tags first, then the #tags written in the text (Obsidian counts both).
    tags: [...new Set([...(parsed.meta.tags ?? []), ...inlineTags(parsed.body)])],
    body: parsed.body,
    created: parsed.meta.created ?? born,
    updated,
    hash: hashOf(bytes),
    size: st.size,
    mtimeMs: st.mtimeMs,
    problems,
    links: [...new Set(wikiLinks(parsed.body).map(linkKey).filter(Boolean))],
    names: noteKeys(rel, title, aliasesOf(parsed.meta)),
  };
}

export function createNoteSync(opts: SyncOptions) {
  const { db, root, logger } = opts;
  let ready = false;
  let lastFull = 0;
  let needFull = false;
  let watching = opts.watch;
  const dirty = new Set<string>();
  const watchers = new Map<string, fs.FSWatcher>();
  const stats: SyncStats = { passes: 0, scanned: 0, added: 0, updated: 0, removed: 0, ms: 0 };

  function stopWatching(reason: string) {
    if (!watching) return;
    watching = false;
    for (const w of watchers.values()) w.close();
    watchers.clear();
    logger.warn(`notes: file watching is off (${reason}); changes made outside brain show up within ${opts.pollMs} ms instead`);
  }

  function watchDir(dir: string) {
    if (!watching || watchers.has(dir)) return;
    if (watchers.size >= MAX_WATCHED_DIRS) return stopWatching(`more than ${MAX_WATCHED_DIRS} folders`);
    try {
      const w = fs.watch(dir, { persistent: false }, (_event, name) => {
        if (name === null) needFull = true;
        else if (!String(name).startsWith('.')) dirty.add(path.join(dir, String(name)));
      });
      w.on('error', () => {
        // The folder went away (or the watcher broke): the next pass finds out what changed.
        w.close();
        watchers.delete(dir);
        needFull = true;
      });
      watchers.set(dir, w);
    } catch (err) {
      stopWatching((err as Error).message);
    }
  }

  /** Drops watchers at and below a folder that went away or was replaced; the next pass re-adds live ones. */
  function forgetWatchers(dir: string) {
    for (const [d, w] of watchers) {
      if (d === dir || d.startsWith(dir + path.sep)) {
        w.close();
        watchers.delete(d);
      }
    }
  }

  /**
   * Brings one file's row up to date; returns what happened. Call inside a transaction.
   * `exact` compares content hashes even when size and mtime match: a watcher event or a read
   * says the file may have changed, and coarse file-system clocks (1-2 s on FAT, some network
   * file systems) can hide a same-size edit from the stat check.
   */
  function indexOne(project: string, rel: string, row?: store.StatRow | store.NoteRow, known?: DiskNote, exact = false): 'added' | 'updated' | 'removed' | 'same' {
    const file = known?.file ?? noteFile(root, project, rel);
    const st = known || !symlinkOnPath(root, file) ? statOrUndefined(file) : undefined;
    if (!st || !st.isFile()) {
      if (!row) return 'same';
      store.deleteNote(db, row.id);
      return 'removed';
    }
    if (!exact && row && row.size_bytes === st.size && row.mtime_ms === st.mtimeMs) return 'same';
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch (err) {
      // Vanished between stat and read, or unreadable: leave the row as it is; the next pass retries.
      logger.warn('notes: cannot read a note file', { file, error: (err as Error).message });
      return 'same';
    }
    const hash = hashOf(bytes);
    if (row && row.hash === hash) {
      if (row.size_bytes !== st.size || row.mtime_ms !== st.mtimeMs) store.restat(db, row.id, st.size, st.mtimeMs);
      return 'same';
    }
    const entry = entryFor(project, rel, bytes, st);
    store.putNote(db, entry);
    if (entry.problems.length) opts.onProblems?.(project, rel, entry.problems);
    return row ? 'updated' : 'added';
  }

  function count(result: ReturnType<typeof indexOne>) {
    if (result === 'same') return;
    stats[result]++;
    opts.metrics?.notesExternalChanges.inc({ change: result });
  }

  /** Re-reads one note now (used by read and write paths that must see the file as it is). */
  function refreshOne(project: string, rel: string): store.NoteRow | undefined {
    db.transaction(() => count(indexOne(project, rel, store.getNote(db, project, rel), undefined, true))).immediate();
    return store.getNote(db, project, rel);
  }

  interface Pass {
    started: number;
    files: number;
    work: (() => void)[];
    next: number;
  }

  /** Walks the folder (stats only) and lists the files whose rows need work. */
  function planPass(): Pass {
    const started = performance.now();
    try {
      fs.mkdirSync(root, { recursive: true, mode: 0o755 });
    } catch (err) {
      throw new UnavailableError(`The notes folder ${root} cannot be created (${(err as Error).message}); make it writable or set BRAIN_NOTES_PATH.`);
    }
    // Events from here on may be about changes the walk does not see: they stay queued.
    dirty.clear();
    needFull = false;
    watchDir(root);
    const disk = walkNotes(root, watchDir);
    const rows = new Map(store.statRows(db).map((r) => [`${r.project}\u0000${r.path}`, r]));
    const work: (() => void)[] = [];
    for (const d of disk) {
      const key = `${d.project}\u0000${d.rel}`;
      const row = rows.get(key);
      rows.delete(key);
      if (row && row.size_bytes === d.size && row.mtime_ms === d.mtimeMs) continue;
      work.push(() => count(indexOne(d.project, d.rel, row, d)));
    }
    // Rows left have no file any more (indexOne re-checks: it may have appeared since the walk).
    for (const row of rows.values()) work.push(() => count(indexOne(row.project, row.path, row)));
    return { started, files: disk.length, work, next: 0 };
  }

  function runBatch(pass: Pass) {
    const batch = pass.work.slice(pass.next, pass.next + BATCH);
    pass.next += batch.length;
    db.transaction(() => {
      for (const w of batch) w();
    }).immediate();
  }

  function finishPass(pass: Pass) {
    while (pass.next < pass.work.length) runBatch(pass);
    lastFull = Date.now();
    stats.passes++;
    stats.scanned = pass.files;
    stats.ms = performance.now() - pass.started;
    opts.metrics?.notesReconcile.observe(stats.ms / 1000);
    if (pass.work.length) logger.info('notes: index reconciled with the files', { files: pass.files, changed: pass.work.length, ms: Math.round(stats.ms) });
  }

  function fullPass() {
    finishPass(planPass());
  }

  /** A start-up pass running in batches between other work, so a first index build of many files does not hold up the MCP handshake. */
  let background: Pass | undefined;

  function finishBackground() {
    const pass = background;
    if (!pass) return;
    background = undefined;
    finishPass(pass);
  }

  function processDirty() {
    const paths = [...dirty];
    dirty.clear();
    const files: [string, string][] = [];
    for (const p of paths) {
      const parts = path.relative(root, p).split(path.sep);
      const project = parts.length >= 2 ? dirProject(parts[0]) : undefined;
      const rel = parts.slice(1).join('/');
      const st = statOrUndefined(p);
      if (project === undefined || !rel.endsWith('.md') || (st && !st.isFile())) {
        // A folder appeared, went or was renamed: walk everything (rare; still only stats).
        if (parts.length === 1 && !st && dirProject(parts[0]) === undefined) continue;
        forgetWatchers(p);
        needFull = true;
        continue;
      }
      if (acceptDiskPath(rel) === rel) files.push([project, rel]);
    }
    if (needFull) return fullPass();
    if (!files.length) return;
    db.transaction(() => {
      for (const [project, rel] of files) count(indexOne(project, rel, store.getNote(db, project, rel), undefined, true));
    }).immediate();
  }

  return {
    stats,
    get watching() {
      return watching;
    },
    /**
     * Starts the start-up pass without blocking: batches run on later turns of the event loop, and
     * the first call that needs the index (ensureFresh) finishes whatever is left at once.
     */
    startInBackground() {
      if (ready) return;
      const pass = planPass();
      ready = true;
      background = pass;
      const step = () => {
        if (background !== pass) return;
        try {
          runBatch(pass);
        } catch (err) {
          background = undefined;
          needFull = true;
          logger.warn('notes: start-up indexing failed; the next notes call retries', { error: String(err) });
          return;
        }
        if (pass.next < pass.work.length) setImmediate(step);
        else finishBackground();
      };
      setImmediate(step);
    },
    /** Makes the index match the files, cheaply; called before every read, list and search. */
    ensureFresh() {
      if (background) return finishBackground();
      const interval = watching ? opts.rescanMs : opts.pollMs;
      if (!ready || needFull || Date.now() - lastFull >= interval) {
        ready = true;
        fullPass();
      } else if (dirty.size) processDirty();
    },
    refreshOne,
    /** Where a note of this project lives (for messages and tests). */
    folderOf: (project: string) => path.join(root, projectDir(project)),
    close() {
      background = undefined;
      for (const w of watchers.values()) w.close();
      watchers.clear();
    },
  };
}
