// Projects: a name, a description and structured context the assistant keeps up to date.
import { stmt, toDbTime, type Db } from '../core/db.js';

export const CONTEXT_KEYS = ['goals', 'decisions', 'conventions', 'open_questions'] as const;
export type ContextKey = (typeof CONTEXT_KEYS)[number];
export type ProjectContext = Record<ContextKey, string[]>;

export interface ProjectRow {
  name: string;
  description: string;
  context: string;
  status: 'active' | 'archived';
  version: number;
  created_at: string;
  updated_at: string;
  archived_at: string | null;
}

export function emptyContext(): ProjectContext {
  return { goals: [], decisions: [], conventions: [], open_questions: [] };
}

/** Stored JSON -> context with every key present (a hand-edited row may lack some). */
export function parseContext(text: string): ProjectContext {
  const out = emptyContext();
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return out;
  }
  if (raw && typeof raw === 'object') {
    for (const key of CONTEXT_KEYS) {
      const v = (raw as Record<string, unknown>)[key];
      if (Array.isArray(v)) out[key] = v.filter((x): x is string => typeof x === 'string');
    }
  }
  return out;
}

export function getProject(db: Db, name: string): ProjectRow | undefined {
  return stmt(db, `SELECT * FROM projects WHERE name = ?`).get(name) as ProjectRow | undefined;
}

/** The project whose name differs only in case, if any (they would share a notes folder). */
export function getProjectNoCase(db: Db, name: string): ProjectRow | undefined {
  return stmt(db, `SELECT * FROM projects WHERE name = ? COLLATE NOCASE`).get(name) as ProjectRow | undefined;
}

export function listProjects(db: Db, includeArchived: boolean): ProjectRow[] {
  return stmt(db, `SELECT * FROM projects WHERE status = 'active' OR ? ORDER BY updated_at DESC, name`).all(includeArchived ? 1 : 0) as ProjectRow[];
}

export function insertProject(db: Db, name: string, description: string, context: ProjectContext, nowMs = Date.now()): ProjectRow {
  const now = toDbTime(nowMs);
  stmt(db, `INSERT INTO projects (name, description, context, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`).run(name, description, JSON.stringify(context), now, now);
  return getProject(db, name)!;
}

export function saveProject(db: Db, name: string, description: string, context: ProjectContext, nowMs = Date.now()): ProjectRow {
  stmt(db, `UPDATE projects SET description = ?, context = ?, version = version + 1, updated_at = ? WHERE name = ?`).run(description, JSON.stringify(context), toDbTime(nowMs), name);
  return getProject(db, name)!;
}

export function setArchived(db: Db, name: string, archived: boolean, nowMs = Date.now()): ProjectRow {
  const now = toDbTime(nowMs);
  stmt(db, `UPDATE projects SET status = ?, archived_at = ?, version = version + 1, updated_at = ? WHERE name = ?`).run(archived ? 'archived' : 'active', archived ? now : null, now, name);
  return getProject(db, name)!;
}
