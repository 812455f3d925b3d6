// Recall: stemmed full-text search with BM25, widened step by step when it finds too little
// (all words -> any word -> trigrams for fragments and misspellings), filtered in SQL and then
// re-ranked with what brain knows about each memory (tier, importance, use, recency).
import { stmt, toDbTime, fromDbTime, type Db } from '../core/db.js';
import { allTermsQuery, anyTermQuery, queryTerms, termTrigrams, trigramQuery } from './fts-query.js';
import { frequencyOf, recencyOf } from './tiers.js';
import type { MemoryRow } from './types.js';

export interface SearchFilter {
  /** Projects whose memories are visible ('' = global); undefined = every project. */
  projects?: string[];
  type?: string;
  tags?: string[];
  minImportance?: number;
  since?: string;
  until?: string;
}

/** Why a result ranked where it did: every part of the final score, rounded for reading. */
export interface RankParts {
  text: number;
  match: 'all_words' | 'any_word' | 'fuzzy' | 'none';
  tier: number;
  importance: number;
  accesses: number;
  recency: number;
}

export interface Hit {
  row: MemoryRow;
  score: number;
  why: RankParts;
  snippet?: string;
}

export const RANK_WEIGHTS = { text: 0.7, importance: 0.1, tier: 0.08, recency: 0.07, accesses: 0.05 } as const;
/** A fuzzy (trigram) hit counts for less than a real word match of the same strength. */
const FUZZY_DISCOUNT = 0.6;
/** Share of a query's trigrams a memory must contain to count as a fuzzy match. */
const FUZZY_MIN_OVERLAP = 0.5;

function filterSql(filter: SearchFilter, nowText: string, alias = 'm'): { sql: string; params: unknown[] } {
  const clauses = [`(${alias}.expires_at IS NULL OR ${alias}.expires_at > ?)`];
  const params: unknown[] = [nowText];
  if (filter.projects) {
    clauses.push(`${alias}.project IN (SELECT value FROM json_each(?))`);
    params.push(JSON.stringify(filter.projects));
  }
  if (filter.type) {
    clauses.push(`${alias}.type = ?`);
    params.push(filter.type);
  }
  for (const tag of filter.tags ?? []) {
    clauses.push(`${alias}.id IN (SELECT memory_id FROM memory_tags WHERE tag = ?)`);
    params.push(tag);
  }
  if (filter.minImportance !== undefined) {
    clauses.push(`${alias}.importance >= ?`);
    params.push(filter.minImportance);
  }
  if (filter.since) {
    clauses.push(`${alias}.updated_at >= ?`);
    params.push(filter.since);
  }
  if (filter.until) {
    clauses.push(`${alias}.updated_at <= ?`);
    params.push(filter.until);
  }
  return { sql: clauses.join(' AND '), params };
}

interface Candidate {
  row: MemoryRow;
  text: number;
  match: RankParts['match'];
  snippet?: string;
}

const SNIPPET_TOKENS = 40;

function ftsCandidates(db: Db, match: string, filter: SearchFilter, nowText: string, limit: number, kind: RankParts['match']): Candidate[] {
  const f = filterSql(filter, nowText);
  // bm25 weights: a word in the key counts most, then tags, then the body.
  const rows = stmt(
    db,
    `SELECT m.*, -bm25(memories_fts, 4.0, 1.0, 2.0) AS _text,
            snippet(memories_fts, 1, '', '', '…', ${SNIPPET_TOKENS}) AS _snippet
     FROM memories_fts JOIN memories m ON m.id = memories_fts.rowid
     WHERE memories_fts MATCH ? AND ${f.sql}
     ORDER BY bm25(memories_fts, 4.0, 1.0, 2.0) LIMIT ?`,
  ).all(match, ...f.params, limit) as (MemoryRow & { _text: number; _snippet: string })[];
  return rows.map(({ _text, _snippet, ...row }) => ({ row, text: _text, match: kind, snippet: _snippet }));
}

function fuzzyCandidates(db: Db, terms: string[], filter: SearchFilter, nowText: string, limit: number): Candidate[] {
  const grams = termTrigrams(terms);
  if (grams.length === 0) return [];
  const f = filterSql(filter, nowText);
  const rows = stmt(
    db,
    `SELECT m.* FROM (SELECT rowid AS id FROM memories_trgm WHERE memories_trgm MATCH ? ORDER BY rank LIMIT ?) t
     JOIN memories m ON m.id = t.id WHERE ${f.sql}`,
  ).all(trigramQuery(grams), Math.max(limit * 4, 100), ...f.params) as MemoryRow[];
  const out: Candidate[] = [];
  for (const row of rows) {
    const text = (row.key + ' ' + row.content.slice(0, 4000)).normalize('NFKC').toLowerCase();
    // Score each term by the share of its trigrams present, so one misspelled word among
    // correctly spelled ones still counts, and a fragment matches what contains it.
    let total = 0;
    let counted = 0;
    for (const term of terms) {
      const tg = termTrigrams([term]);
      if (tg.length === 0) continue;
      counted++;
      total += tg.filter((g) => text.includes(g)).length / tg.length;
    }
    const overlap = counted ? total / counted : 0;
    if (overlap >= FUZZY_MIN_OVERLAP) out.push({ row, text: overlap, match: 'fuzzy' });
  }
  return out.sort((a, b) => b.text - a.text).slice(0, limit);
}

const round = (x: number) => Math.round(x * 1000) / 1000;

function rank(candidates: Candidate[], nowMs: number): Hit[] {
  // BM25 is unbounded; scale each match kind against its best hit so the blend stays comparable.
  const best = new Map<string, number>();
  for (const c of candidates) best.set(c.match, Math.max(best.get(c.match) ?? 0, c.text));
  const kindWeight = { all_words: 1, any_word: 0.8, fuzzy: FUZZY_DISCOUNT, none: 0 } as const;
  return candidates.map((c) => {
    const top = best.get(c.match) || 1;
    const text = c.match === 'none' ? 0 : (c.text / top) * kindWeight[c.match];
    const lastUsed = fromDbTime(c.row.accessed_at ?? c.row.updated_at);
    const why: RankParts = {
      text: round(text),
      match: c.match,
      tier: c.row.storage_tier === 'hot' ? 1 : 0,
      importance: c.row.importance,
      accesses: c.row.access_count,
      recency: round(recencyOf(lastUsed, nowMs)),
    };
    const score =
      RANK_WEIGHTS.text * text +
      RANK_WEIGHTS.tier * why.tier +
      RANK_WEIGHTS.importance * why.importance +
      RANK_WEIGHTS.accesses * frequencyOf(c.row.access_count) +
      RANK_WEIGHTS.recency * why.recency;
    return { row: c.row, score: round(score), why, snippet: c.snippet };
  }).sort((a, b) => b.score - a.score || b.row.id - a.row.id);
}

export interface SearchResult {
  hits: Hit[];
  /** Whether more results exist past this page. */
  more: boolean;
  /** The widest step the search had to take. */
  strategy: RankParts['match'];
}

/**
 * Ranked search. `offset`/`limit` page through the ranked list; the candidate pool is large enough
 * for the page asked for, so paging is stable for the same query and data.
 */
export function searchMemories(db: Db, query: string | undefined, filter: SearchFilter, offset: number, limit: number, nowMs = Date.now()): SearchResult {
  const nowText = toDbTime(nowMs);
  const want = offset + limit + 1;
  const pool = Math.max(want * 3, 30);
  const terms = query ? queryTerms(query) : [];

  if (terms.length === 0) {
    // No words: filters only, best-scored first.
    const f = filterSql(filter, nowText);
    const rows = stmt(db, `SELECT m.* FROM memories m WHERE ${f.sql} ORDER BY m.memory_score DESC, m.updated_at DESC LIMIT ? OFFSET ?`)
      .all(...f.params, limit + 1, offset) as MemoryRow[];
    const hits = rank(rows.map((row) => ({ row, text: 0, match: 'none' as const })), nowMs);
    return { hits: hits.slice(0, limit), more: rows.length > limit, strategy: 'none' };
  }

  const seen = new Map<number, Candidate>();
  let strategy: RankParts['match'] = 'all_words';
  const add = (cs: Candidate[], step: RankParts['match']) => {
    for (const c of cs) {
      if (seen.has(c.row.id)) continue;
      seen.set(c.row.id, c);
      strategy = step;
    }
  };
  add(ftsCandidates(db, allTermsQuery(terms), filter, nowText, pool, 'all_words'), 'all_words');
  if (seen.size < want && terms.length > 1) add(ftsCandidates(db, anyTermQuery(terms), filter, nowText, pool, 'any_word'), 'any_word');
  // Trigrams only when words found almost nothing: they are the slowest step and the loosest match.
  if (seen.size < Math.min(want, 3)) add(fuzzyCandidates(db, terms, filter, nowText, pool), 'fuzzy');
  const ranked = rank([...seen.values()], nowMs);
  return { hits: ranked.slice(offset, offset + limit), more: ranked.length > offset + limit, strategy };
}
