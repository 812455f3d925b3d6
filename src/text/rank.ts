// How search results are ranked, the same way in every area: how a match kind weighs (the
// widening ladder), BM25's constants, and the blend of the text score with what else is known
// about an item (importance, tier, use, recency).

/** How an item matched the query, from the narrowest search to the widest. */
export type MatchKind = 'all_words' | 'corrected' | 'any_word' | 'prefix' | 'fuzzy' | 'none';

/**
 * How much a match kind's text score counts: every word (as typed, then corrected) beats some of
 * the words, which beat word beginnings and close words.
 */
export const MATCH_WEIGHT: Readonly<Record<MatchKind, number>> = { all_words: 1, corrected: 0.95, any_word: 0.8, prefix: 0.7, fuzzy: 0.6, none: 0 };

/** Match kinds from the narrowest search to the widest. */
const WIDENING: MatchKind[] = ['all_words', 'corrected', 'any_word', 'prefix', 'fuzzy'];

/** How far a search had to widen for these results ('all_words' when it did not). */
export function widestMatch(kinds: Iterable<MatchKind>): MatchKind {
  let widest: MatchKind = 'all_words';
  for (const kind of kinds) if (WIDENING.indexOf(kind) > WIDENING.indexOf(widest)) widest = kind;
  return widest;
}

/**
 * Text scores (BM25, unbounded) on a 0..1 scale: against the best of the items compared, weighed
 * by how each matched (MATCH_WEIGHT).
 */
export function relativeTexts(items: { text: number; match: MatchKind }[]): number[] {
  let best = 0;
  for (const item of items) best = Math.max(best, item.text);
  return items.map((item) => (item.text / (best || 1)) * MATCH_WEIGHT[item.match]);
}

/** The three searchable fields of memories (key, content, tags) and notes (title, body, tags). */
export type Field = 'title' | 'body' | 'tags';

/**
 * How much a word counts in each field, for every ranking in brain (FTS5's bm25() and the
 * in-process scorers): a word in a memory's key or a note's title says most about what it is
 * about, then its tags, then its text.
 */
export const FIELD_WEIGHTS: Readonly<Record<Field, number>> = { title: 4, tags: 2, body: 1 };

// BM25 as SQLite FTS5's bm25() computes it (k1 = 1.2, b = 0.75).
export const BM25_K1 = 1.2;
export const BM25_B = 0.75;

/** FTS5's idf: ln((N - df + 0.5) / (df + 0.5)), floored at 1e-6 for words in over half the items. */
export function fts5Idf(docs: number, df: number): number {
  return Math.max(Math.log((docs - df + 0.5) / (df + 0.5)), 1e-6);
}

/** Days over which recency decays to ~37%. */
export const RECENCY_DAYS = 30;
/** Uses at which frequency reaches ~63% of its weight. */
export const FREQUENCY_SCALE = 5;

/** 1 for an item used just now, decaying with the days since. */
export function recencyOf(lastUsedMs: number, nowMs: number): number {
  return Math.exp(-Math.max(0, nowMs - lastUsedMs) / 86_400_000 / RECENCY_DAYS);
}

/** 0 for an item never used, towards 1 the more it is used. */
export function frequencyOf(accesses: number): number {
  return 1 - Math.exp(-accesses / FREQUENCY_SCALE);
}

/** What a result's score is made of. */
export interface RankSignals {
  /** The text score on a 0..1 scale (relativeTexts), 0 without a query. */
  text: number;
  /** 0..1. */
  importance: number;
  /** Whether it is kept in the hot tier. */
  hot: boolean;
  /** How often it was used. */
  accesses: number;
  /** recencyOf its last use. */
  recency: number;
}

export const RANK_WEIGHTS = { text: 0.7, importance: 0.1, tier: 0.08, recency: 0.07, accesses: 0.05 } as const;

/**
 * The signals an item has no way to carry (a note has no importance, tier or use count) take the
 * values a memory starts with: default importance, warm, never used. Such an item then ranks as a
 * memory that says the same would.
 */
export const NEW_ITEM = { importance: 0.5, hot: false, accesses: 0 } as const;

const round = (x: number) => Math.round(x * 1000) / 1000;

/** A result's score, 0..1: mostly its text score, then what else is known about the item. */
export function rankScore(s: RankSignals): number {
  return round(
    RANK_WEIGHTS.text * s.text +
      RANK_WEIGHTS.tier * (s.hot ? 1 : 0) +
      RANK_WEIGHTS.importance * s.importance +
      RANK_WEIGHTS.accesses * frequencyOf(s.accesses) +
      RANK_WEIGHTS.recency * round(s.recency),
  );
}
