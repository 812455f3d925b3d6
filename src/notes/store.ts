// The notes index: SQL only. The files are the truth; these rows are rebuilt from them.
import { stmt, toDbTime, type Db } from '../core/db.js';
import { bm25Of, quote } from '../text/fts.js';
import { allowedEdits, editDistance } from '../text/fuzzy.js';
import type { QueryStem, WordStats } from '../text/score.js';

export interface NoteRow {
  id: number;
  project: string;
  path: string;
  title: string;
  tags: string;
  body: string;
  created_at: string;
  updated_at: string;
  accessed_at: string | null;
  touched_at: string;
  hash: string;
  size_bytes: number;
  mtime_ms: number;
  problems: string | null;
}

export interface IndexEntry {
  project: string;
  path: string;
  title: string;
  tags: string[];
  body: string;
  created: string;
  updated: string;
  hash: string;
  size: number;
  mtimeMs: number;
  problems: string[];
  links: string[];
  /** What the note answers to (noteKeys): path, file name, title, aliases. */
  names: string[];
}

export type StatRow = Pick<NoteRow, 'id' | 'project' | 'path' | 'size_bytes' | 'mtime_ms' | 'hash'>;

export function getNote(db: Db, project: string, path: string): NoteRow | undefined {
  return stmt(db, `SELECT * FROM notes WHERE project = ? AND path = ?`).get(project, path) as NoteRow | undefined;
}

/** Notes in the projects whose title is this (case-insensitive). */
export function findByTitle(db: Db, projects: string[], title: string): NoteRow[] {
  return stmt(db, `SELECT * FROM notes WHERE title = ? COLLATE NOCASE AND project IN (SELECT value FROM json_each(?)) ORDER BY project DESC`).all(title, JSON.stringify(projects)) as NoteRow[];
}

export function statRows(db: Db): StatRow[] {
  return stmt(db, `SELECT id, project, path, size_bytes, mtime_ms, hash FROM notes`).all() as StatRow[];
}

/** Inserts or refreshes one note's row and its links. Call inside a transaction. */
export function putNote(db: Db, e: IndexEntry): number {
  const row = {
    project: e.project,
    path: e.path,
    title: e.title,
    tags: JSON.stringify(e.tags),
    body: e.body,
    created_at: toDbTime(Date.parse(e.created)),
    updated_at: toDbTime(Date.parse(e.updated)),
    hash: e.hash,
    size_bytes: e.size,
    mtime_ms: e.mtimeMs,
    problems: e.problems.length ? JSON.stringify(e.problems) : null,
  };
  const id = stmt(
    db,
    `INSERT INTO notes (project, path, title, tags, body, created_at, updated_at, touched_at, hash, size_bytes, mtime_ms, problems)
     VALUES (@project, @path, @title, @tags, @body, @created_at, @updated_at, @updated_at, @hash, @size_bytes, @mtime_ms, @problems)
     ON CONFLICT (project, path) DO UPDATE SET title = excluded.title, tags = excluded.tags, body = excluded.body,
       created_at = excluded.created_at, updated_at = excluded.updated_at, hash = excluded.hash,
       touched_at = max(excluded.updated_at, coalesce(notes.accessed_at, '')),
       size_bytes = excluded.size_bytes, mtime_ms = excluded.mtime_ms, problems = excluded.problems
     RETURNING id`,
  ).pluck().get(row) as number;
  stmt(db, `DELETE FROM note_links WHERE source_id = ?`).run(id);
  const link = stmt(db, `INSERT OR IGNORE INTO note_links (target, source_id) VALUES (?, ?)`);
  for (const target of e.links) link.run(target, id);
  stmt(db, `DELETE FROM note_names WHERE note_id = ?`).run(id);
  const name = stmt(db, `INSERT OR IGNORE INTO note_names (key, note_id) VALUES (?, ?)`);
  for (const key of e.names) name.run(key, id);
  return id;
}

/** The names a note answers to (path, file name, title, aliases; normalised). */
export function namesOf(db: Db, id: number): string[] {
  return stmt(db, `SELECT key FROM note_names WHERE note_id = ?`).pluck().all(id) as string[];
}

/** Notes in the projects answering to this name (file name, title or alias, normalised), newest first. */
export function findByName(db: Db, projects: string[], key: string): NoteRow[] {
  return stmt(
    db,
    `SELECT n.* FROM note_names k JOIN notes n ON n.id = k.note_id
     WHERE k.key = ? AND n.project IN (SELECT value FROM json_each(?)) ORDER BY n.updated_at DESC`,
  ).all(key, JSON.stringify(projects)) as NoteRow[];
}

/** Same bytes, new mtime (touched, or copied back): only the stat columns change. */
export function restat(db: Db, id: number, size: number, mtimeMs: number): void {
  stmt(db, `UPDATE notes SET size_bytes = ?, mtime_ms = ? WHERE id = ?`).run(size, mtimeMs, id);
}

export function deleteNote(db: Db, id: number): void {
  stmt(db, `DELETE FROM notes WHERE id = ?`).run(id);
}

export function touchNote(db: Db, id: number, nowMs = Date.now()): void {
  const now = toDbTime(nowMs);
  stmt(db, `UPDATE notes SET accessed_at = ?, touched_at = max(updated_at, ?) WHERE id = ?`).run(now, now, id);
}

export interface ListFilter {
  projects?: string[];
  tag?: string;
  /** Only notes carrying every one of these tags. */
  tags?: string[];
  prefix?: string;
}

function where(f: ListFilter): { sql: string; params: unknown[] } {
  const clauses: string[] = ['1'];
  const params: unknown[] = [];
  if (f.projects) {
    clauses.push(`n.project IN (SELECT value FROM json_each(?))`);
    params.push(JSON.stringify(f.projects));
  }
  for (const tag of new Set([...(f.tag ? [f.tag] : []), ...(f.tags ?? [])])) {
    clauses.push(`EXISTS (SELECT 1 FROM json_each(n.tags) WHERE value = ?)`);
    params.push(tag);
  }
  if (f.prefix) {
    clauses.push(`substr(n.path, 1, ?) = ?`);
    params.push(f.prefix.length, f.prefix);
  }
  return { sql: clauses.join(' AND '), params };
}

const LIST_COLUMNS = `n.id, n.project, n.path, n.title, n.tags, substr(n.body, 1, 400) AS body, n.created_at, n.updated_at, n.accessed_at, n.touched_at, n.hash, n.size_bytes, n.mtime_ms, n.problems`;

/** Most recently touched first (edited, or read through brain). */
export function listNotes(db: Db, f: ListFilter, offset: number, limit: number): NoteRow[] {
  const w = where(f);
  return stmt(db, `SELECT ${LIST_COLUMNS} FROM notes n WHERE ${w.sql} ORDER BY n.touched_at DESC LIMIT ? OFFSET ?`)
    .all(...w.params, limit, offset) as NoteRow[];
}

export function countNotes(db: Db, f: ListFilter): number {
  const w = where(f);
  return stmt(db, `SELECT count(*) FROM notes n WHERE ${w.sql}`).pluck().get(...w.params) as number;
}

export interface FtsHit {
  row: NoteRow;
  text: number;
}

// Title weighs most, then tags, then the body (FIELD_WEIGHTS, as for memories).
const BM25 = bm25Of('notes_fts', ['title', 'body', 'tags']);

/**
 * BM25 over title, tags and body; `match` must be built by src/text/fts.ts. Rows carry the
 * first 400 characters of the body: the whole text is read for the few notes shown (noteBodies).
 */
export function ftsNotes(db: Db, match: string, f: ListFilter, limit: number): FtsHit[] {
  const w = where(f);
  const rows = stmt(
    db,
    `SELECT ${LIST_COLUMNS}, -${BM25} AS _text
     FROM notes_fts JOIN notes n ON n.id = notes_fts.rowid
     WHERE notes_fts MATCH ? AND ${w.sql}
     ORDER BY ${BM25} LIMIT ?`,
  ).all(match, ...w.params, limit) as (NoteRow & { _text: number })[];
  return rows.map(({ _text, ...row }) => ({ row, text: _text }));
}

/** The bodies of these notes, up to `maxChars` characters each. */
export function noteBodies(db: Db, ids: number[], maxChars: number): Map<number, string> {
  const rows = stmt(db, `SELECT id, substr(body, 1, ?) AS body FROM notes WHERE id IN (SELECT value FROM json_each(?))`).all(maxChars, JSON.stringify(ids)) as { id: number; body: string }[];
  return new Map(rows.map((r) => [r.id, r.body]));
}

/** Whether any note holds the word (after stemming, as FTS5 matches it). */
export function hasWord(db: Db, word: string): boolean {
  return stmt(db, 'SELECT 1 FROM notes_fts WHERE notes_fts MATCH ? LIMIT 1').get(quote(word)) !== undefined;
}

/** How many notes there are, and how many hold each stem (counted by FTS5 through a word with that stem). */
export function noteWordStats(db: Db, stems: QueryStem[][]): WordStats {
  const count = stmt(db, 'SELECT count(*) FROM notes_fts WHERE notes_fts MATCH ?').pluck();
  const df = new Map<string, number>();
  for (const { stem, word } of stems.flat()) if (!df.has(stem)) df.set(stem, count.get(quote(word)) as number);
  return { docs: stmt(db, 'SELECT count(*) FROM notes').pluck().get() as number, df };
}

const vocabularies = new WeakMap<Db, { version: Buffer; terms: { term: string; doc: number }[] }>();

/**
 * Every (stemmed) word of the notes with the number of notes holding it. Reading it walks the
 * whole index (~45 ms for 10,000 notes), so it is kept until the index changes: FTS5 rewrites its
 * structure record (rowid 10 of notes_fts_data, part of its file format) on every change.
 */
function noteVocabulary(db: Db): { term: string; doc: number }[] {
  const version = (stmt(db, 'SELECT block FROM notes_fts_data WHERE id = 10').pluck().get() as Buffer | undefined) ?? Buffer.alloc(0);
  const cached = vocabularies.get(db);
  if (cached && cached.version.equals(version)) return cached.terms;
  const terms = stmt(db, 'SELECT term, doc FROM notes_fts_vocab').all() as { term: string; doc: number }[];
  vocabularies.set(db, { version, terms });
  return terms;
}

/**
 * The notes' (stemmed) words closest to a misspelled one, closest and most used first. It reads
 * the notes' vocabulary, which only a search that found nothing else needs.
 */
export function closeNoteWords(db: Db, word: string, max = 3): string[] {
  const edits = allowedEdits(word.length);
  const candidates = noteVocabulary(db).filter((c) => Math.abs(c.term.length - word.length) <= edits);
  return candidates
    .map((c) => ({ ...c, d: editDistance(word, c.term, edits) }))
    .filter((c) => c.d <= edits)
    .sort((a, b) => a.d - b.d || b.doc - a.doc)
    .slice(0, max)
    .map((c) => c.term);
}

/** Notes (in the visible projects) linking to any of the keys. */
export function backlinks(db: Db, keys: string[], projects: string[] | undefined, excludeId: number): Pick<NoteRow, 'project' | 'path' | 'title'>[] {
  return stmt(
    db,
    `SELECT DISTINCT n.project, n.path, n.title FROM note_links l JOIN notes n ON n.id = l.source_id
     WHERE l.target IN (SELECT value FROM json_each(?)) AND n.id != ? AND (? IS NULL OR n.project IN (SELECT value FROM json_each(?)))
     ORDER BY n.updated_at DESC LIMIT 100`,
  ).all(JSON.stringify(keys), excludeId, projects ? 1 : null, JSON.stringify(projects ?? [])) as Pick<NoteRow, 'project' | 'path' | 'title'>[];
}

export function linksOf(db: Db, id: number): string[] {
  return stmt(db, `SELECT target FROM note_links WHERE source_id = ? ORDER BY target`).pluck().all(id) as string[];
}
