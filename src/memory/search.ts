// Recall: stemmed full-text search with BM25, widened step by step when it finds too little
// (all words -> any of the rarer words -> close words for fragments and misspellings), then
// re-ranked with what brain knows about each memory (tier, importance, use, recency).
//
// Speed: BM25 is computed for every row a MATCH finds, so each step is shaped to match few rows:
// stopwords are dropped, the any-word step leaves out words found in a large share of memories,
// and the fuzzy step looks words up in the word list (not in every memory).
import { stmt, toDbTime, fromDbTime, type Db } from '../core/db.js';
import { allTermsQuery, anyTermQuery, meaningfulTerms, queryTerms } from './fts-query.js';
import { closeTerms } from './terms.js';
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
  match: 'all_words' | 'corrected' | 'any_word' | 'fuzzy' | 'none';
  tier: number;
  importance: number;
  accesses: number;
  recency: number;
}

export interface Hit {
  row: MemoryRow;
  score: number;
  why: RankParts;
}

export const RANK_WEIGHTS = { text: 0.7, importance: 0.1, tier: 0.08, recency: 0.07, accesses: 0.05 } as const;
/** Relative weight of each match kind's best hit: a word match beats a partial or fuzzy one. */
const KIND_WEIGHT = { all_words: 1, corrected: 0.95, any_word: 0.8, fuzzy: 0.6, none: 0 } as const;
/** In the any-word step, words in more than this share of memories are left out (when others remain). */
const COMMON_WORD_SHARE = 0.05;
const COMMON_WORD_MIN_DOCS = 500;

function filterSql(filter: SearchFilter, nowText: string): { sql: string; params: unknown[] } {
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

interface Candidate {
  row: MemoryRow;
  text: number;
  match: RankParts['match'];
}

// bm25 weights: a word in the key counts most, then tags, then the body.
const BM25 = 'bm25(memories_fts, 4.0, 1.0, 2.0)';

/**
 * Rows matching an FTS query, best first, that pass the filter. Ranks inside FTS first and
 * filters the top rows (cheap); only if the filter rejected too many does it rank with the
 * filter applied to every match.
 */
function ftsCandidates(db: Db, match: string, filter: SearchFilter, nowText: string, limit: number, kind: RankParts['match']): Candidate[] {
  const f = filterSql(filter, nowText);
  const top = stmt(db, `SELECT rowid AS id, -${BM25} AS score FROM memories_fts WHERE memories_fts MATCH ? ORDER BY ${BM25}, rowid DESC LIMIT ?`)
    .all(match, limit) as { id: number; score: number }[];
  if (top.length === 0) return [];
  const scores = new Map(top.map((t) => [t.id, t.score]));
  let rows = stmt(db, `SELECT m.* FROM memories m WHERE m.id IN (SELECT value FROM json_each(?)) AND ${f.sql}`)
    .all(JSON.stringify(top.map((t) => t.id)), ...f.params) as MemoryRow[];
  if (rows.length < top.length && top.length === limit) {
    const ranked = stmt(
      db,
      `SELECT m.*, -${BM25} AS _score FROM memories_fts JOIN memories m ON m.id = memories_fts.rowid
       WHERE memories_fts MATCH ? AND ${f.sql} ORDER BY ${BM25}, m.id DESC LIMIT ?`,
    ).all(match, ...f.params, limit) as (MemoryRow & { _score: number })[];
    for (const r of ranked) scores.set(r.id, r._score);
    rows = ranked.map(({ _score, ...row }) => row);
  }
  return rows.map((row) => ({ row, text: scores.get(row.id) ?? 0, match: kind }));
}

/**
 * How many memories contain a word (after stemming). Only used to judge whether a word is common,
 * so counts are cached per connection until the store has grown or shrunk by a tenth; counting a
 * common word means walking its whole posting list.
 */
const dfCache = new WeakMap<Db, { total: number; counts: Map<string, number> }>();
const DF_CACHE_MAX = 20_000;

function documentFrequency(db: Db, term: string): number {
  const total = totalMemories(db);
  let cache = dfCache.get(db);
  if (!cache || Math.abs(total - cache.total) > Math.max(10, cache.total / 10) || cache.counts.size > DF_CACHE_MAX) {
    dfCache.set(db, (cache = { total, counts: new Map() }));
  }
  let n = cache.counts.get(term);
  if (n === undefined) {
    n = stmt(db, 'SELECT count(*) FROM memories_fts WHERE memories_fts MATCH ?').pluck().get(allTermsQuery([term])) as number;
    // A word that matches nothing may be stored a moment later: only remember positive counts.
    if (n > 0) cache.counts.set(term, n);
  }
  return n;
}

function totalMemories(db: Db): number {
  return stmt(db, 'SELECT max(id) FROM memories').pluck().get() as number | null ?? 0;
}

const round = (x: number) => Math.round(x * 1000) / 1000;

function rank(candidates: Candidate[], nowMs: number): Hit[] {
  // BM25 is unbounded; scale each match kind against its best hit so the blend stays comparable.
  const best = new Map<string, number>();
  for (const c of candidates) best.set(c.match, Math.max(best.get(c.match) ?? 0, c.text));
  return candidates
    .map((c) => {
      const top = best.get(c.match) || 1;
      const text = c.match === 'none' ? 0 : (c.text / top) * KIND_WEIGHT[c.match];
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
      return { row: c.row, score: round(score), why };
    })
    .sort((a, b) => b.score - a.score || b.row.id - a.row.id);
}

export interface SearchResult {
  hits: Hit[];
  /** Whether more results exist past this page. */
  more: boolean;
  /** The widest step that contributed results. */
  strategy: RankParts['match'];
  /** The words the search used (for snippets). */
  terms: string[];
}

/**
 * Ranked search. Paging passes the ids already shown (`shown`): the next page is the best of the
 * rest, so no result repeats and none is skipped even though a deeper page ranks a larger pool.
 */
export function searchMemories(db: Db, query: string | undefined, filter: SearchFilter, limit: number, shown: ReadonlySet<number> = new Set(), nowMs = Date.now()): SearchResult {
  const nowText = toDbTime(nowMs);
  const want = shown.size + limit + 1;
  // Candidates re-ranked per page: text weighs 70% of the score, so the best results come from
  // the top of the text ranking; half a page more leaves room for tier/importance/recency to reorder.
  const pool = Math.max(want + Math.ceil(want / 2), 16);
  const terms = query ? meaningfulTerms(queryTerms(query)) : [];
  // A query of only punctuation or symbols asks for nothing in particular: nothing matches it.
  if (query !== undefined && query.trim() !== '' && terms.length === 0) return { hits: [], more: false, strategy: 'none', terms };

  if (terms.length === 0) {
    // No words: filters only, best-scored first.
    const f = filterSql(filter, nowText);
    const rows = stmt(
      db,
      `SELECT m.* FROM memories m WHERE ${f.sql} AND m.id NOT IN (SELECT value FROM json_each(?))
       ORDER BY m.memory_score DESC, m.updated_at DESC, m.id DESC LIMIT ?`,
    ).all(...f.params, JSON.stringify([...shown]), limit + 1) as MemoryRow[];
    const hits = rank(rows.map((row) => ({ row, text: 0, match: 'none' as const })), nowMs);
    return { hits: hits.slice(0, limit), more: rows.length > limit, strategy: 'none', terms };
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
  const df = new Map(terms.map((t) => [t, documentFrequency(db, t)]));
  const known = terms.filter((t) => df.get(t)! > 0);
  const unknown = terms.filter((t) => df.get(t) === 0);
  // The words worth an any-word search: common ones are left out while rarer ones remain.
  const cap = Math.max(COMMON_WORD_MIN_DOCS, totalMemories(db) * COMMON_WORD_SHARE);
  let rare = known.filter((t) => df.get(t)! <= cap);
  if (rare.length === 0 && known.length > 0) rare = [...known].sort((a, b) => df.get(a)! - df.get(b)!).slice(0, 1);

  if (unknown.length === 0 && terms.length > 1 && rare.length === terms.length) {
    // Every word is rare, so "any word" costs little: one ranked query over any of them, and an
    // unranked one over all of them that only tells which results have every word.
    const any = ftsCandidates(db, anyTermQuery(terms), filter, nowText, pool, 'any_word');
    if (any.length) {
      const withAll = new Set(stmt(db, 'SELECT rowid FROM memories_fts WHERE memories_fts MATCH ? LIMIT 10000').pluck().all(allTermsQuery(terms)) as number[]);
      for (const c of any) if (withAll.has(c.row.id)) c.match = 'all_words';
      add(any.filter((c) => c.match === 'all_words'), 'all_words');
      add(any, 'any_word');
    }
  } else if (unknown.length === 0) {
    add(ftsCandidates(db, allTermsQuery(terms), filter, nowText, pool, 'all_words'), 'all_words');
    // Widen only when all words together found too little to choose from: first to every word
    // but one (cheap: still intersections, and a common word still counts), then to any rare word.
    // Both run: a rare word alone (high weight) may say more than two common ones together.
    const few = seen.size < Math.min(want, 5);
    if (few && terms.length >= 3 && terms.length <= 6) {
      const allButOne = terms.map((_, skip) => `(${allTermsQuery(terms.filter((__, i) => i !== skip))})`).join(' OR ');
      add(ftsCandidates(db, allButOne, filter, nowText, pool, 'any_word'), 'any_word');
    }
    if (few && terms.length > 1) add(ftsCandidates(db, anyTermQuery(rare), filter, nowText, pool, 'any_word'), 'any_word');
  } else {
    // Some words match nothing: a typo or a fragment. Each is replaced by the stored words closest
    // to it (terms.ts); first every word (or a correction of it) must match, then any of them.
    const groups = terms.map((t) => (df.get(t)! > 0 ? [t] : closeTerms(db, t)));
    if (groups.every((g) => g.length > 0)) {
      add(ftsCandidates(db, groups.map((g) => `(${anyTermQuery(g)})`).join(' AND '), filter, nowText, pool, 'corrected'), 'corrected');
    }
    const loose = [...new Set([...rare, ...groups.filter((g, i) => df.get(terms[i]) === 0).flat()])];
    if (seen.size < Math.min(want, 5) && loose.length) add(ftsCandidates(db, anyTermQuery(loose), filter, nowText, pool, 'fuzzy'), 'fuzzy');
  }
  const ranked = rank([...seen.values()], nowMs).filter((h) => !shown.has(h.row.id));
  return { hits: ranked.slice(0, limit), more: ranked.length > limit, strategy, terms };
}

/** A window of the content around the first query word it contains (or its start). */
export function snippetOf(content: string, terms: string[], maxChars: number): string {
  if (content.length <= maxChars) return content;
  const lower = content.toLowerCase();
  let at = -1;
  for (const term of terms) {
    // Match the start of the stem, so "deploy" also finds "deployments".
    const i = lower.indexOf(term.slice(0, Math.max(3, term.length - 2)));
    if (i >= 0 && (at < 0 || i < at)) at = i;
  }
  const start = at <= maxChars / 3 ? 0 : content.lastIndexOf(' ', at - Math.floor(maxChars / 3)) + 1;
  const end = Math.min(content.length, start + maxChars);
  return (start > 0 ? '…' : '') + content.slice(start, end).trim() + (end < content.length ? '…' : '');
}
