// What both ranking engines (the in-process index and FTS5) hand to recall's final ranking:
// a memory's text score with the few columns the rest of the score reads.
import { fromDbTime } from '../core/db.js';
import type { MatchKind } from '../text/rank.js';

export interface SearchFilter {
  /** Projects whose memories are visible ('' = global); undefined = every project. */
  projects?: string[];
  type?: string;
  tags?: string[];
  minImportance?: number;
  since?: string;
  until?: string;
}

export interface Candidate {
  id: number;
  /** BM25 of the memory for the query (0 without a query). */
  text: number;
  match: MatchKind;
  importance: number;
  hot: boolean;
  accesses: number;
  lastUsedMs: number;
}

/** The columns an SQL query selects to make a Candidate (memories aliased `m`). */
export const CANDIDATE_COLUMNS = 'm.id, m.importance, m.storage_tier, m.access_count, coalesce(m.accessed_at, m.updated_at) AS last_used';

export interface CandidateRow {
  id: number;
  importance: number;
  storage_tier: 'hot' | 'warm';
  access_count: number;
  last_used: string;
}

export function candidateOf(row: CandidateRow, text: number, match: MatchKind): Candidate {
  return {
    id: row.id,
    text,
    match,
    importance: row.importance,
    hot: row.storage_tier === 'hot',
    accesses: row.access_count,
    lastUsedMs: fromDbTime(row.last_used),
  };
}

/** The filter as an SQL condition on memories aliased `m`, expired memories always excluded. */
export function filterSql(filter: SearchFilter, nowText: string): { sql: string; params: unknown[] } {
  const clauses = ['(m.expires_at IS NULL OR m.expires_at > ?)'];
  const params: unknown[] = [nowText];
  if (filter.projects) {
    clauses.push('m.project IN (SELECT value FROM json_each(?))');
    params.push(JSON.stringify(filter.projects));
  }
  if (filter.type) {
    clauses.push('m.type = ?');
    params.push(filter.type);
  }
  for (const tag of filter.tags ?? []) {
    clauses.push('m.id IN (SELECT memory_id FROM memory_tags WHERE tag = ?)');
    params.push(tag);
  }
  if (filter.minImportance !== undefined) {
    clauses.push('m.importance >= ?');
    params.push(filter.minImportance);
  }
  if (filter.since) {
    clauses.push('m.updated_at >= ?');
    params.push(filter.since);
  }
  if (filter.until) {
    clauses.push('m.updated_at <= ?');
    params.push(filter.until);
  }
  return { sql: clauses.join(' AND '), params };
}
