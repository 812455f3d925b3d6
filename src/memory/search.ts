// Recall: stemmed full-text search with BM25, widened when it finds too little (all words ->
// some of the words -> close words for fragments and misspellings), then re-ranked with what
// brain knows about each memory (tier, importance, use, recency).
//
// The text ranking normally comes from the in-process index (live-index.ts, word-index.ts):
// every memory holding a query word is scored in one pass over the words' posting lists, filters
// run on columns held in memory, and only the rows shown are read from SQLite. While that index is
// being built, FTS5 ranks instead (fts-search.ts).
import { fromDbTime, stmt, toDbTime, type Db } from '../core/db.js';
import type { Query } from '../text/query.js';
import { rankScore, recencyOf, relativeTexts, widestMatch, type MatchKind } from '../text/rank.js';
import type { QueryStem, WordStats } from '../text/score.js';
import { COMMON_SYNONYMS } from '../text/synonyms.js';
import { stemOf, wordsOf } from '../text/words.js';
import { candidateOf, CANDIDATE_COLUMNS, filterSql, type Candidate, type CandidateRow, type SearchFilter } from './candidates.js';
import { ftsSearchCandidates, ftsWordStats } from './fts-search.js';
import { keyHashOf, type DocTable } from './doc-table.js';
import type { IndexView } from './live-index.js';
import { closeTerms } from './terms.js';
import type { HitRow } from './types.js';
import { RankedList } from './word-index.js';

export type { SearchFilter } from './candidates.js';

/** Why a result ranked where it did: every part of the final score, rounded for reading. */
export interface RankParts {
  text: number;
  match: MatchKind;
  tier: number;
  importance: number;
  accesses: number;
  recency: number;
}

export interface Hit {
  row: HitRow;
  score: number;
  why: RankParts;
}

export interface SearchResult {
  hits: Hit[];
  /** Whether more results exist past this page. */
  more: boolean;
  /** How far the search had to widen for the results shown. */
  strategy: MatchKind;
  /** What ranked the text: the in-process index, or FTS5 while that index is not ready. */
  engine: 'index' | 'fts';
  /** How many memories there are and how many hold each of these stems (for the combined search). */
  wordStats(stems: QueryStem[][]): WordStats;
}

/**
 * The filter of filterSql, on memories held by the in-process index (by slot, see doc-table.ts).
 * Strings are compared by number and tag sets checked once per distinct set.
 */
function slotFilter(docs: DocTable, filter: SearchFilter, nowMs: number): (slot: number) => boolean {
  const projects = filter.projects && new Set(filter.projects.map((p) => docs.projectId(p)));
  const type = filter.type === undefined ? undefined : docs.typeId(filter.type);
  const tags = filter.tags?.length ? filter.tags : undefined;
  const tagSetPasses = new Map<number, boolean>();
  const min = filter.minImportance;
  const since = filter.since ? fromDbTime(filter.since) : undefined;
  const until = filter.until ? fromDbTime(filter.until) : undefined;
  return (slot) => {
    const expires = docs.expiresAt(slot);
    if (expires !== undefined && expires <= nowMs) return false;
    if (projects && !projects.has(docs.projectIdAt(slot))) return false;
    if (type !== undefined && docs.typeIdAt(slot) !== type) return false;
    if (tags) {
      const set = docs.tagsIdAt(slot);
      let ok = tagSetPasses.get(set);
      if (ok === undefined) {
        const have = docs.tagsOf(set);
        tagSetPasses.set(set, (ok = tags.every((t) => have.includes(t))));
      }
      if (!ok) return false;
    }
    if (min !== undefined && docs.importanceAt(slot) < min) return false;
    if (since !== undefined && docs.updatedAt(slot) < since) return false;
    if (until !== undefined && docs.updatedAt(slot) > until) return false;
    return true;
  };
}

function candidateOfSlot(docs: DocTable, slot: number, text: number, match: MatchKind): Candidate {
  return { id: docs.idAt(slot), text, match, importance: docs.importanceAt(slot), hot: docs.isHot(slot), accesses: docs.accessesAt(slot), lastUsedMs: docs.lastUsedAt(slot) };
}

/**
 * Without a query: the `count` best memories that pass the filter, scored as the final ranking
 * scores them. Every memory the index holds is looked at (SQL would read and sort the table).
 */
function bestWithoutQuery(view: IndexView, filter: SearchFilter, nowMs: number, shown: ReadonlySet<number>, count: number): Candidate[] {
  const { docs } = view;
  const passes = slotFilter(docs, filter, nowMs);
  const list = new RankedList();
  for (let slot = 0; slot < docs.capacity; slot++) {
    if (!docs.isLive(slot) || shown.has(docs.idAt(slot)) || !passes(slot)) continue;
    list.push(docs.idAt(slot), rankScore({ text: 0, hot: docs.isHot(slot), importance: docs.importanceAt(slot), accesses: docs.accessesAt(slot), recency: recencyOf(docs.lastUsedAt(slot), nowMs) }));
  }
  return list.top(count).ids.map((id) => candidateOfSlot(docs, docs.slotOf(id), 0, 'none'));
}

/**
 * The best `pool` memories of a ranked list that pass the filter, in ranked order. The filter is
 * applied to the top of the list first and reaches further down only when it rejected memories.
 */
function filteredTop(view: IndexView, list: RankedList, passes: (slot: number) => boolean, pool: number, kind: MatchKind): Candidate[] {
  const out: Candidate[] = [];
  let examined = 0;
  for (let want = pool; out.length < pool && examined < list.length; want *= 4) {
    const top = list.top(want);
    for (let i = examined; i < top.ids.length && out.length < pool; i++) {
      const slot = view.docs.slotOf(top.ids[i]);
      if (slot < 0 || !passes(slot)) continue;
      out.push(candidateOfSlot(view.docs, slot, top.scores[i], kind));
    }
    examined = top.ids.length;
  }
  return out;
}

/**
 * Candidates from the in-process index: the best memories with every query word (or a correction
 * of it), and, unless those fill the pool, the best with only some of the words. Both compete in
 * the final ranking: a short memory with the one rare word asked for can beat long ones that have
 * every word.
 */
function indexCandidates(db: Db, view: IndexView, words: string[], filter: SearchFilter, nowMs: number, pool: number): Candidate[] {
  const index = view.words;
  let corrected = false;
  const groups: string[][] = [];
  for (const [i, word] of words.entries()) {
    const stem = stemOf(word);
    const df = index.documentFrequency(stem);
    // A split word takes two groups: only while every word left still gets one of the MAX_GROUPS.
    const room = groups.length + (words.length - i) < MAX_GROUPS;
    // Words that mean the same ("k8s", "kubernetes") match too (synonyms.ts).
    const same = COMMON_SYNONYMS.stemsOf(stem).filter((s) => index.documentFrequency(s) > 0);
    if (df > 0 || same.length > 0) {
      // A word found in only a memory or two may still be two common words run together
      // ("ratelimit"): then it matches either way (as itself, or as both words).
      const split = room && df > 0 && df <= RARE_DF && word.length >= 8 ? splitWords(index, word, df * COMMON_FACTOR) : undefined;
      if (split) groups.push(...split.map((s) => [s, stem, ...same]));
      else groups.push(df > 0 ? [stem, ...same] : same);
      continue;
    }
    // A typo or a fragment: the stored words closest to it (terms.ts) stand in for it.
    // (Stored words keep their accents; the index's words do not: "zürich" is "zurich" there.)
    const alternatives = [...new Set(closeTerms(db, word, view.wordList).flatMap(wordsOf).map(stemOf))].filter((s) => index.documentFrequency(s) > 0);
    // Failing that, two words run together ("backupschedule"): both must match, as if typed apart.
    const split = alternatives.length || !room ? undefined : splitWords(index, word);
    if (alternatives.length || split) corrected = true;
    if (split) groups.push(...split.map((s) => [s]));
    else groups.push(alternatives);
  }
  const matches = index.match(groups);
  const inexact = corrected || groups.some((g) => g.length === 0);
  const passes = slotFilter(view.docs, filter, nowMs);
  const candidates = filteredTop(view, matches.full, passes, pool, corrected ? 'corrected' : 'all_words');
  if (candidates.length < pool) candidates.push(...filteredTop(view, matches.partial(), passes, pool, inexact ? 'fuzzy' : 'any_word'));
  return candidates;
}

/** Query word groups match() can tell apart (a bit each in a 16-bit mask; queries have at most MAX_QUERY_TERMS words). */
const MAX_GROUPS = 16;
/** A stored word this rare (in how many memories) may be two words run together... */
const RARE_DF = 2;
/** ...when both parts are at least this many times more common. */
const COMMON_FACTOR = 10;

/**
 * Stems of two stored words that make up `word` ("ratelimit" -> rate, limit), the most even cut
 * first, each in more than `minDf` memories.
 */
function splitWords(index: IndexView['words'], word: string, minDf = 0): [string, string] | undefined {
  if (word.length < 6 || !/^[a-z]+$/.test(word)) return undefined;
  const middle = Math.floor(word.length / 2);
  // Cuts nearest the middle first, each part at least 3 letters.
  for (let offset = 0; offset <= middle - 3; offset++) {
    for (const at of offset === 0 ? [middle] : [middle - offset, middle + offset]) {
      if (at < 3 || word.length - at < 3) continue;
      const parts: [string, string] = [stemOf(word.slice(0, at)), stemOf(word.slice(at))];
      if (parts.every((p) => index.documentFrequency(p) > minDf)) return parts;
    }
  }
  return undefined;
}

const round = (x: number) => Math.round(x * 1000) / 1000;

interface Scored {
  c: Candidate;
  /** The text part of the score, scaled and weighted by match kind. */
  text: number;
  score: number;
}

/** Candidates by their score: the text score (scaled against the best) blended with what brain knows about each memory. */
function rank(candidates: Candidate[], nowMs: number): Scored[] {
  const texts = relativeTexts(candidates);
  return candidates
    .map((c, i) => ({ c, text: texts[i], score: rankScore({ text: texts[i], hot: c.hot, importance: c.importance, accesses: c.accesses, recency: recencyOf(c.lastUsedMs, nowMs) }) }))
    .sort((a, b) => b.score - a.score || b.c.id - a.c.id);
}

/** The parts of a result's score, for the results shown. */
function explainRank(s: Scored, nowMs: number): RankParts {
  return {
    text: round(s.text),
    match: s.c.match,
    tier: s.c.hot ? 1 : 0,
    importance: s.c.importance,
    accesses: s.c.accesses,
    recency: round(recencyOf(s.c.lastUsedMs, nowMs)),
  };
}

/**
 * The rows of the given memories, by id (a memory deleted meanwhile is missing). Through the
 * index, a row is only used when it is still the memory the index ranked: another process may
 * have changed the file since the index was checked, and ids can be reused after the newest
 * memory is forgotten. Its use count includes this process's uses not yet written.
 */
function readRows(db: Db, ids: number[], view?: IndexView): Map<number, HitRow> {
  const rows = new Map<number, HitRow>();
  if (ids.length === 0) return rows;
  if (!view) {
    for (const row of stmt(db, 'SELECT * FROM memories WHERE id IN (SELECT value FROM json_each(?))').all(JSON.stringify(ids)) as HitRow[]) rows.set(row.id, row);
    return rows;
  }
  const read = stmt(db, `SELECT ${HIT_COLUMNS} FROM memories WHERE id IN (SELECT value FROM json_each(?))`);
  for (const row of read.all(JSON.stringify(ids)) as HitRow[]) {
    const slot = view.docs.slotOf(row.id);
    if (slot < 0 || view.docs.projectAt(slot) !== row.project || view.docs.keyHashAt(slot) !== keyHashOf(row.key)) continue;
    row.access_count = Math.max(row.access_count, view.docs.accessesAt(slot));
    rows.set(row.id, row);
  }
  return rows;
}
const HIT_COLUMNS = 'id, project, key, content, type, tags, importance, storage_tier, access_count, version, updated_at, expires_at';

/** One page of ranked candidates as hits: only the rows shown are read. */
function page(db: Db, candidates: Candidate[], shown: ReadonlySet<number>, limit: number, nowMs: number, view?: IndexView) {
  const ranked = rank(candidates, nowMs).filter((s) => !shown.has(s.c.id));
  const picked = ranked.slice(0, limit);
  const rows = readRows(db, picked.map((s) => s.c.id), view);
  const hits: Hit[] = [];
  for (const s of picked) {
    const row = rows.get(s.c.id);
    if (row) hits.push({ row, score: s.score, why: explainRank(s, nowMs) });
  }
  return { hits, more: ranked.length > limit };
}

/**
 * Ranked search. Paging passes the ids already shown (`shown`): the next page is the best of the
 * rest, so no result repeats and none is skipped even though a deeper page ranks a larger pool.
 * `index` is the in-process index when it is ready and up to date (LiveIndex.current()).
 */
export function searchMemories(
  db: Db,
  query: Query | undefined,
  filter: SearchFilter,
  limit: number,
  shown: ReadonlySet<number> = new Set(),
  index?: IndexView,
  nowMs = Date.now(),
): SearchResult {
  const nowText = toDbTime(nowMs);
  const want = shown.size + limit + 1;
  // Candidates re-ranked per page: text weighs 70% of the score, so the best results come from
  // the top of the text ranking; half a page more leaves room for tier/importance/recency to reorder.
  const pool = Math.max(want + Math.ceil(want / 2), 16);
  const few = Math.min(want, 5);
  const terms = query?.terms ?? [];
  const wordStats = (stems: QueryStem[][]): WordStats =>
    index ? { docs: index.words.size, df: new Map(stems.flat().map((s) => [s.stem, index.words.documentFrequency(s.stem)])) } : ftsWordStats(db, stems);
  // A query of only punctuation or symbols asks for nothing in particular: nothing matches it.
  if (query && query.text.trim() !== '' && terms.length === 0) return { hits: [], more: false, strategy: 'none', engine: 'fts', wordStats };

  if (terms.length === 0 && index) {
    const candidates = bestWithoutQuery(index, filter, nowMs, shown, limit + 1);
    return { ...page(db, candidates, shown, limit, nowMs, index), strategy: 'none', engine: 'index', wordStats };
  }
  if (terms.length === 0) {
    // No words: filters only, best-scored first.
    const f = filterSql(filter, nowText);
    const rows = stmt(
      db,
      `SELECT ${CANDIDATE_COLUMNS} FROM memories m WHERE ${f.sql} AND m.id NOT IN (SELECT value FROM json_each(?))
       ORDER BY m.memory_score DESC, m.updated_at DESC, m.id DESC LIMIT ?`,
    ).all(...f.params, JSON.stringify([...shown]), limit + 1) as CandidateRow[];
    const candidates = rows.map((row) => candidateOf(row, 0, 'none'));
    return { ...page(db, candidates, shown, limit, nowMs), strategy: 'none', engine: 'fts', wordStats };
  }

  // The in-process index serves every query with a word it holds (it leaves out stopwords).
  const viaIndex = index !== undefined && !query!.stopwordsOnly;
  const candidates = viaIndex ? indexCandidates(db, index, terms, filter, nowMs, pool) : ftsSearchCandidates(db, terms, filter, nowText, pool, few);
  const found = page(db, candidates, shown, limit, nowMs, viaIndex ? index : undefined);
  // How far the search had to widen for the results it shows.
  return { ...found, strategy: widestMatch(found.hits.map((h) => h.why.match)), engine: viaIndex ? 'index' : 'fts', wordStats };
}
