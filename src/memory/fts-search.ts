// Recall's text ranking through SQLite FTS5: used while the in-process index (live-index.ts) is
// being built or catching up, and for queries of stopwords only, which that index leaves out.
//
// BM25 in FTS5 is computed for every row a MATCH finds, so each step is shaped to match few rows:
// stopwords are dropped, the any-word step leaves out words found in a large share of memories,
// and the fuzzy step looks words up in the word list (not in every memory).
import { stmt, type Db } from '../core/db.js';
import { allButOneQuery, allTermsQuery as allOf, anyTermQuery as anyOf, bm25Of, groupsQuery, quote } from '../text/fts.js';
import type { MatchKind } from '../text/rank.js';
import type { QueryStem, WordStats } from '../text/score.js';
import { COMMON_SYNONYMS } from '../text/synonyms.js';
import { candidateOf, CANDIDATE_COLUMNS, filterSql, type Candidate, type CandidateRow, type SearchFilter } from './candidates.js';
import { closeTerms } from './terms.js';

// A word matches its synonyms too ("k8s" finds "kubernetes").
const allTermsQuery = (terms: string[]) => allOf(terms, COMMON_SYNONYMS);
const anyTermQuery = (terms: string[]) => anyOf(terms, COMMON_SYNONYMS);

/** In the any-word step, words in more than this share of memories are left out (when others remain). */
const COMMON_WORD_SHARE = 0.05;
const COMMON_WORD_MIN_DOCS = 500;

// A word in the key counts most, then tags, then the body (as in word-index.ts).
const BM25 = bm25Of('memories_fts', ['title', 'body', 'tags']);

/**
 * Rows matching an FTS query, best first, that pass the filter. Ranks inside FTS first and
 * filters the top rows (cheap); only if the filter rejected too many does it rank with the
 * filter applied to every match.
 */
function ftsCandidates(db: Db, match: string, filter: SearchFilter, nowText: string, limit: number, kind: MatchKind): Candidate[] {
  const f = filterSql(filter, nowText);
  const top = stmt(db, `SELECT rowid AS id, -${BM25} AS score FROM memories_fts WHERE memories_fts MATCH ? ORDER BY ${BM25}, rowid DESC LIMIT ?`)
    .all(match, limit) as { id: number; score: number }[];
  if (top.length === 0) return [];
  const scores = new Map(top.map((t) => [t.id, t.score]));
  let rows = stmt(db, `SELECT ${CANDIDATE_COLUMNS} FROM memories m WHERE m.id IN (SELECT value FROM json_each(?)) AND ${f.sql}`)
    .all(JSON.stringify(top.map((t) => t.id)), ...f.params) as CandidateRow[];
  if (rows.length < top.length && top.length === limit) {
    const ranked = stmt(
      db,
      `SELECT ${CANDIDATE_COLUMNS}, -${BM25} AS _score FROM memories_fts JOIN memories m ON m.id = memories_fts.rowid
       WHERE memories_fts MATCH ? AND ${f.sql} ORDER BY ${BM25}, m.id DESC LIMIT ?`,
    ).all(match, ...f.params, limit) as (CandidateRow & { _score: number })[];
    for (const r of ranked) scores.set(r.id, r._score);
    rows = ranked;
  }
  return rows.map((row) => candidateOf(row, scores.get(row.id) ?? 0, kind));
}

/**
 * How many memories an FTS query of one word (and its synonyms) matches. Only used to judge
 * whether a word is common and for the combined search's word statistics, so counts are cached per connection until the store has grown or shrunk by a tenth; counting a
 * common word means walking its whole posting list.
 */
const dfCache = new WeakMap<Db, { total: number; counts: Map<string, number> }>();
const DF_CACHE_MAX = 20_000;

function documentFrequency(db: Db, match: string): number {
  const total = totalMemories(db);
  let cache = dfCache.get(db);
  if (!cache || Math.abs(total - cache.total) > Math.max(10, cache.total / 10) || cache.counts.size > DF_CACHE_MAX) {
    dfCache.set(db, (cache = { total, counts: new Map() }));
  }
  let n = cache.counts.get(match);
  if (n === undefined) {
    n = stmt(db, 'SELECT count(*) FROM memories_fts WHERE memories_fts MATCH ?').pluck().get(match) as number;
    // A word that matches nothing may be stored a moment later: only remember positive counts.
    if (n > 0) cache.counts.set(match, n);
  }
  return n;
}

/** How many memories hold each stem (counted by FTS5 through a word with that stem), for the combined search. */
export function ftsWordStats(db: Db, stems: QueryStem[][]): WordStats {
  const df = new Map<string, number>();
  for (const { stem, word } of stems.flat()) if (!df.has(stem)) df.set(stem, documentFrequency(db, quote(word)));
  return { docs: totalMemories(db), df };
}

function totalMemories(db: Db): number {
  return (stmt(db, 'SELECT max(id) FROM memories').pluck().get() as number | null) ?? 0;
}

/**
 * Candidates for the query words (lower-case, stopwords dropped), widest step last: all words;
 * then, when those are fewer than `few`, every word but one and any rare word; for words that
 * match nothing, their spelling corrections and then any close word.
 */
export function ftsSearchCandidates(db: Db, terms: string[], filter: SearchFilter, nowText: string, pool: number, few: number): Candidate[] {
  const seen = new Map<number, Candidate>();
  const add = (cs: Candidate[]) => {
    for (const c of cs) if (!seen.has(c.id)) seen.set(c.id, c);
  };
  const df = new Map(terms.map((t) => [t, documentFrequency(db, allTermsQuery([t]))]));
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
      for (const c of any) if (withAll.has(c.id)) c.match = 'all_words';
      add(any.filter((c) => c.match === 'all_words'));
      add(any);
    }
  } else if (unknown.length === 0) {
    add(ftsCandidates(db, allTermsQuery(terms), filter, nowText, pool, 'all_words'));
    // Widen only when all words together found too little to choose from: first to every word
    // but one (cheap: still intersections, and a common word still counts), then to any rare word.
    // Both run: a rare word alone (high weight) may say more than two common ones together.
    const widen = seen.size < few;
    if (widen && terms.length >= 3 && terms.length <= 6) {
      add(ftsCandidates(db, allButOneQuery(terms, COMMON_SYNONYMS), filter, nowText, pool, 'any_word'));
    }
    if (widen && terms.length > 1) add(ftsCandidates(db, anyTermQuery(rare), filter, nowText, pool, 'any_word'));
  } else {
    // Some words match nothing: a typo or a fragment. Each is replaced by the stored words closest
    // to it (terms.ts); first every word (or a correction of it) must match, then any of them.
    const groups = terms.map((t) => (df.get(t)! > 0 ? [t] : closeTerms(db, t)));
    if (groups.every((g) => g.length > 0)) {
      add(ftsCandidates(db, groupsQuery(groups, COMMON_SYNONYMS), filter, nowText, pool, 'corrected'));
    }
    const loose = [...new Set([...rare, ...groups.filter((g, i) => df.get(terms[i]) === 0).flat()])];
    if (seen.size < few && loose.length) add(ftsCandidates(db, anyTermQuery(loose), filter, nowText, pool, 'fuzzy'));
  }
  return [...seen.values()];
}
