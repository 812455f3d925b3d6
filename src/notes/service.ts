// The notes area's API: write, read, list, search, delete, backlinks and what init shows.
// Every write goes file-first (atomic) inside an IMMEDIATE transaction: brain processes sharing
// the database take turns, so the check "the file is still what the writer last saw" and the
// rename cannot interleave with another brain's write.
import fs from 'node:fs';
import path from 'node:path';
import type { Db } from '../core/db.js';
import { fromDbTime } from '../core/db.js';
import { isoTime } from '../core/time.js';
import { ConflictError, NotFoundError, UserError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import { allTermsQuery, anyTermQuery, groupsQuery, prefixQuery } from '../text/fts.js';
import { parseQuery, type Query } from '../text/query.js';
import { NEW_ITEM, rankScore, recencyOf, relativeTexts, type MatchKind } from '../text/rank.js';
import { SCORED_CHARS, type QueryStem, type WordStats } from '../text/score.js';
import { COMMON_SYNONYMS } from '../text/synonyms.js';
import { hashOf, installStaged, stageFile, symlinkOnPath, type Installed } from './files.js';
import { parseNote, serializeNote, type NoteMeta } from './front-matter.js';
import { checkNotePath, fileNameFor, linkKey, noteFile, noteKeys, projectDir, slugify } from './paths.js';
import * as store from './store.js';
import { createNoteSync, entryFor, type NoteSync, type SyncOptions } from './sync.js';
import { noteTransfer } from './transfer.js';

export const MAX_NOTE_BYTES = 1024 * 1024;
export const MAX_TITLE_CHARS = 200;

export interface NotesOptions extends SyncOptions {
  /** Told how long each notes operation's (synchronous) work took, e.g. for the slow-query log. */
  slow?: (label: string, ms: number) => void;
}

export type WriteMode = 'create' | 'replace' | 'append';

export interface WriteArgs {
  project: string;
  path?: string;
  title?: string;
  content: string;
  tags?: string[];
  mode: WriteMode;
  baseHash?: string;
}

export interface NoteSummary {
  project: string;
  path: string;
  title: string;
  tags: string[];
  created: string;
  updated: string;
  hash: string;
  size: number;
  problems?: string[];
}

/** A note found, in the order the notes area ranks them (search/tools.ts ranks them again with memories). */
export interface NoteHit extends NoteSummary {
  match: MatchKind;
  /** The body (up to SCORED_CHARS), for snippets and the combined search's scoring. */
  body: string;
  /** When it was last written or read through brain, in ms. */
  lastUsedMs: number;
}

export interface NoteSearchResult {
  hits: NoteHit[];
  /** How many notes there are and how many hold each of these stems (for the combined search). */
  wordStats(stems: QueryStem[][]): WordStats;
}

export function summary(row: store.NoteRow): NoteSummary {
  return {
    project: row.project,
    path: row.path,
    title: row.title,
    tags: JSON.parse(row.tags) as string[],
    created: isoTime(row.created_at),
    updated: isoTime(row.updated_at),
    hash: row.hash,
    size: row.size_bytes,
    ...(row.problems ? { problems: JSON.parse(row.problems) as string[] } : {}),
  };
}

function checkTitle(title: string): string {
  const t = title.trim();
  if (!t) throw new UserError('"title" cannot be empty.');
  if (/[\u0000-\u001f\u007f]/.test(t)) throw new UserError('"title" contains a control character (NUL, newline, ...); use a single line of plain text.');
  if (t.length > MAX_TITLE_CHARS) throw new UserError(`"title" is ${t.length} characters; the limit is ${MAX_TITLE_CHARS}.`);
  return t;
}

export type NotesService = ReturnType<typeof createNotesService>;

export function createNotesService(opts: NotesOptions) {
  const { db, root } = opts;
  const sync: NoteSync = createNoteSync(opts);

  /** The file a write goes to: the path given, else the note with that title, else the title as a file name. */
  function relFor(args: WriteArgs): string {
    if (args.path !== undefined) return checkNotePath(args.path);
    if (args.title === undefined) throw new UserError('Give "path" or "title" to say which note.');
    const title = checkTitle(args.title);
    if (args.mode !== 'create') {
      const existing = store.findByTitle(db, [args.project], title)[0];
      if (existing) return existing.path;
    }
    return fileNameFor(title) + '.md';
  }

  function refuseSymlink(file: string, rel: string) {
    const link = symlinkOnPath(root, file);
    if (link) throw new UserError(`"${rel}" goes through the symbolic link "${link}" in the notes folder; brain does not follow links there. Choose another path, or replace the link with a real folder or file.`);
  }

  const baseName = (rel: string) => rel.split('/').pop()!.replace(/\.md$/, '');

  /** Finds an existing note in the visible projects (first project first), fresh from its file. */
  function locate(projects: string[], args: { path?: string; title?: string }): store.NoteRow {
    sync.ensureFresh();
    if (args.path !== undefined) {
      const rel = checkNotePath(args.path);
      for (const project of projects) {
        const row = sync.refreshOne(project, rel);
        if (row) return row;
      }
      throw new NotFoundError(`No note "${rel}" in ${projects.map((p) => (p ? `"${p}"` : 'global')).join(' or ')}. note {"action": "list"} shows what exists.`);
    }
    if (args.title !== undefined) {
      const title = checkTitle(args.title);
      const byTitle = store.findByTitle(db, projects, title);
      const chosen = byTitle.find((r) => r.project === projects[0]) ?? byTitle[0];
      if (chosen) return sync.refreshOne(chosen.project, chosen.path) ?? notFoundTitle(title);
      // Else a file name or an alias, in any folder, as [[links]] find notes.
      const byName = store.findByName(db, projects, linkKey(title));
      const named = byName.find((r) => r.project === projects[0]) ?? byName[0];
      if (named) return sync.refreshOne(named.project, named.path) ?? notFoundTitle(title);
      // A file brain named by an older rule (the title's slug) that the index has not seen yet.
      for (const rel of [fileNameFor(title) + '.md', slugify(title) + '.md']) {
        for (const project of projects) {
          const row = sync.refreshOne(project, rel);
          if (row) return row;
        }
      }
      return notFoundTitle(title);
    }
    throw new UserError('Give "path" or "title" to say which note.');
  }

  function notFoundTitle(title: string): never {
    throw new NotFoundError(`No note titled "${title}". Search with the search tool, or list with note {"action": "list"}.`);
  }

  function write(args: WriteArgs) {
    sync.ensureFresh();
    const rel = relFor(args);
    const file = noteFile(root, args.project, rel);
    refuseSymlink(file, rel);
    const title = args.title !== undefined ? checkTitle(args.title) : undefined;
    const tags = args.tags ? [...new Set(args.tags.map((t) => t.trim().toLowerCase()).filter(Boolean))] : undefined;
    const now = new Date().toISOString();
    // The file goes in place last, inside the transaction; if the commit then fails (a full disk
    // or database), the file is taken back, so a failed call leaves nothing behind.
    let staged: string | undefined;
    let installed: Installed | undefined;
    const inTransaction = db.transaction(() => {
      let current: Buffer | undefined;
      try {
        current = fs.readFileSync(file);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOTDIR' || code === 'EISDIR') throw new UserError(`"${rel}" cannot be written: a file or folder of that name is in the way. Choose another path.`);
        if (code !== 'ENOENT') throw err;
      }
      const currentHash = current ? hashOf(current) : undefined;
      let text: string;
      const created = !current;

      if (args.mode === 'create') {
        if (current) throw new ConflictError(`A note already exists at "${rel}" (hash ${currentHash}). Read it and write with mode "replace" and its base_hash, use mode "append", or choose another title or path.`);
        text = serializeNote({ title: title ?? baseName(rel), tags: tags ?? [], created: now, updated: now, extra: {} }, args.content);
      } else if (args.mode === 'replace') {
        if (!current) throw new NotFoundError(`No note at "${rel}" to replace; use mode "create".`);
        if (!args.baseHash) throw new UserError(`Replacing "${rel}" needs "base_hash": the hash a note read or write returned (currently ${currentHash}), so a change made since you read it is not lost.`);
        if (args.baseHash !== currentHash) {
          throw new ConflictError(`"${rel}" changed since you read it (your base_hash ${args.baseHash}, the file is now ${currentHash}); it was edited elsewhere. Read it again (note read), merge, and replace with the new base_hash.`);
        }
        const old = parseNote(current.toString('utf8'));
        const meta: NoteMeta = old.frontMatterOk ? old.meta : { extra: {} };
        text = serializeNote({ ...meta, title: title ?? meta.title ?? baseName(rel), tags: tags ?? meta.tags ?? [], created: meta.created ?? now, updated: now }, args.content);
      } else {
        if (args.baseHash && current && args.baseHash !== currentHash) {
          throw new ConflictError(`"${rel}" changed since you read it (your base_hash ${args.baseHash}, the file is now ${currentHash}). Read it again, or append without base_hash.`);
        }
        if (!current) {
          text = serializeNote({ title: title ?? baseName(rel), tags: tags ?? [], created: now, updated: now, extra: {} }, args.content);
        } else {
          const oldText = current.toString('utf8');
          const old = parseNote(oldText);
          const join = (a: string) => (a.trim() ? a.replace(/\s+$/, '') + '\n\n' : '') + args.content;
          if (old.frontMatterOk) {
            const meta = old.meta;
            text = serializeNote({ ...meta, title: title ?? meta.title, tags: [...new Set([...(meta.tags ?? []), ...(tags ?? [])])], updated: now }, join(old.body));
          } else {
            // Front matter brain cannot read is the person's to fix: append below it untouched.
            text = join(oldText);
          }
        }
      }
      const bytes = Buffer.byteLength(text);
      if (bytes > MAX_NOTE_BYTES) throw new UserError(`The note would be ${Math.round(bytes / 1024)} KB; the limit is ${MAX_NOTE_BYTES / 1024} KB. Split it into several notes and link them with [[wiki links]].`);
      const inTheWay = (err: unknown) => {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOTDIR' || code === 'EISDIR' || code === 'EEXIST') return new UserError(`"${rel}" cannot be written: a file or folder of that name is in the way. Choose another path.`);
        if (code === 'ENOSPC' || code === 'EDQUOT') return new UserError(`"${rel}" was not written: the disk holding the notes folder ${root} is full (${code}). Free some space, then write it again.`);
        if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') return new UserError(`"${rel}" was not written: the notes folder ${root} cannot be written to (${code}). Make it writable, then write it again.`);
        return err;
      };
      let st: fs.Stats;
      try {
        ({ tmp: staged, stats: st } = stageFile(file, text));
      } catch (err) {
        throw inTheWay(err);
      }
      store.putNote(db, entryFor(args.project, rel, Buffer.from(text, 'utf8'), st));
      const row = store.getNote(db, args.project, rel)!;
      try {
        installed = installStaged(staged, file, args.mode === 'create' || !current);
      } catch (err) {
        throw inTheWay(err);
      }
      return { row, created };
    });
    try {
      const result = inTransaction.immediate();
      installed?.keep();
      return result;
    } catch (err) {
      if (installed) takeBack(rel, installed.undo);
      throw err;
    } finally {
      if (staged) fs.rmSync(staged, { force: true });
    }
  }

  /** Undoes a file change whose database change failed; says so in the log if even that fails. */
  function takeBack(rel: string, undo: () => void) {
    try {
      undo();
    } catch (err) {
      opts.logger.error('a failed note change could not be taken back on disk; the next rescan indexes the file as it is', { path: rel, error: String(err) });
    }
  }

  function read(projects: string[], args: { path?: string; title?: string }) {
    const row = locate(projects, args);
    store.touchNote(db, row.id);
    const names = store.namesOf(db, row.id);
    const keys = names.length ? names : noteKeys(row.path, row.title);
    return {
      row,
      links: store.linksOf(db, row.id),
      backlinks: store.backlinks(db, keys, projects, row.id),
    };
  }

  function list(filter: store.ListFilter, offset: number, limit: number) {
    sync.ensureFresh();
    return { rows: store.listNotes(db, filter, offset, limit), total: store.countNotes(db, filter) };
  }

  /**
   * Ranked search, widening as memory search does: every word, then some words, then word
   * beginnings, then corrected words. `query` as typed, or parsed by a caller that searches
   * several areas with it.
   */
  function search(query: Query | string, filter: store.ListFilter, limit: number, nowMs = Date.now()): NoteSearchResult {
    sync.ensureFresh();
    const wordStats = (stems: QueryStem[][]) => store.noteWordStats(db, stems);
    // Stopwords dropped (unless nothing else is left): "the notes about deploys" is about deploys.
    const terms = (typeof query === 'string' ? parseQuery(query) : query).terms;
    if (!terms.length) return { hits: [], wordStats };
    const pool = Math.max(limit * 3, 30);
    const seen = new Map<number, { hit: store.FtsHit; match: MatchKind }>();
    const add = (hits: store.FtsHit[], match: MatchKind) => {
      for (const h of hits) if (!seen.has(h.row.id)) seen.set(h.row.id, { hit: h, match });
    };
    add(store.ftsNotes(db, allTermsQuery(terms, COMMON_SYNONYMS), filter, pool), 'all_words');
    if (seen.size < limit && terms.length > 1) add(store.ftsNotes(db, anyTermQuery(terms, COMMON_SYNONYMS), filter, pool), 'any_word');
    // Fragments ("kube" for "kubernetes"): prefix queries on terms long enough to mean something.
    const prefixes = terms.filter((t) => t.length >= 3);
    if (seen.size < Math.min(limit, 3) && prefixes.length) add(store.ftsNotes(db, prefixQuery(prefixes), filter, pool), 'prefix');
    // Misspellings ("kubernets"): a word no note holds is replaced by the closest words notes do
    // hold; first every word (or a correction of it) must match, then any of them.
    if (seen.size < Math.min(limit, 3)) {
      const groups = terms.map((t) => (t.length < 3 || store.hasWord(db, t) ? [t] : store.closeNoteWords(db, t)));
      if (groups.some((g, i) => g[0] !== terms[i])) {
        if (groups.every((g) => g.length)) add(store.ftsNotes(db, groupsQuery(groups, COMMON_SYNONYMS), filter, pool), 'corrected');
        const loose = [...new Set(groups.flat())];
        if (seen.size < Math.min(limit, 3) && loose.length) add(store.ftsNotes(db, anyTermQuery(loose, COMMON_SYNONYMS), filter, pool), 'fuzzy');
      }
    }
    const found = [...seen.values()];
    const texts = relativeTexts(found.map(({ hit, match }) => ({ text: hit.text, match })));
    const ranked = found
      .map(({ hit, match }, i) => {
        const lastUsedMs = fromDbTime(hit.row.touched_at);
        return { hit, match, lastUsedMs, score: rankScore({ text: texts[i], ...NEW_ITEM, recency: recencyOf(lastUsedMs, nowMs) }) };
      })
      .sort((a, b) => b.score - a.score || b.hit.row.id - a.hit.row.id)
      .slice(0, limit);
    const bodies = store.noteBodies(db, ranked.map((r) => r.hit.row.id), SCORED_CHARS);
    const hits = ranked.map((r) => ({ ...summary(r.hit.row), match: r.match, body: bodies.get(r.hit.row.id) ?? r.hit.row.body, lastUsedMs: r.lastUsedMs }));
    return { hits, wordStats };
  }

  /** Deleted notes go to BRAIN_NOTES_PATH/.trash, so a wrong delete can be undone by hand. */
  function remove(projects: string[], args: { path?: string; title?: string; baseHash?: string }) {
    const found = locate(projects, args);
    const file = noteFile(root, found.project, found.path);
    // As in write: the file moves to the trash last, and comes back if the commit fails.
    let moved: string | undefined;
    try {
      return db.transaction(() => {
        refuseSymlink(file, found.path);
        let bytes: Buffer;
        try {
          bytes = fs.readFileSync(file);
        } catch {
          store.deleteNote(db, found.id);
          return { row: found, trashed: undefined as string | undefined };
        }
        const hash = hashOf(bytes);
        if (args.baseHash && args.baseHash !== hash) throw new ConflictError(`"${found.path}" changed since you read it (your base_hash ${args.baseHash}, the file is now ${hash}); read it again before deleting.`);
        const stamp = new Date().toISOString().replace(/[:.]/g, '-');
        const trashed = path.join(root, '.trash', projectDir(found.project), `${found.path}.${stamp}`);
        store.deleteNote(db, found.id);
        fs.mkdirSync(path.dirname(trashed), { recursive: true, mode: 0o700 });
        fs.renameSync(file, trashed);
        moved = trashed;
        return { row: found, trashed };
      }).immediate();
    } catch (err) {
      const from = moved;
      if (from) takeBack(found.path, () => fs.renameSync(from, file));
      throw err;
    }
  }

  function recent(projects: string[], limit: number): store.NoteRow[] {
    sync.ensureFresh();
    return store.listNotes(db, { projects }, 0, limit);
  }

  /**
   * Tools await `settle` before their work, so core's handler timing (which stops at the first
   * await) does not see it: the work is timed here and reported to the slow-query log instead.
   */
  function timedFn<A extends unknown[], R>(label: string, fn: (...args: A) => R): (...args: A) => R {
    if (!opts.slow) return fn;
    const report = opts.slow;
    return (...args: A) => {
      const started = performance.now();
      try {
        return fn(...args);
      } finally {
        report(label, performance.now() - started);
      }
    };
  }

  return {
    sync,
    write: timedFn('notes write', write),
    read: timedFn('notes read', read),
    list: timedFn('notes list', list),
    search: timedFn('notes search', search),
    remove: timedFn('notes delete', remove),
    recent,
    locate,
    /** Notes in the full export (brain export / import): each file as it is, front matter and body. */
    transfer: noteTransfer(db, root, () => sync.ensureFresh()),
    /**
     * Lets file-watcher events that are already queued reach the index before a call looks at it:
     * an edit saved just before the request then counts (tools await this first).
     */
    settle: () => new Promise<void>((resolve) => setImmediate(resolve)),
    close: () => sync.close(),
  };
}
