// One text score for items from different collections (memories and notes), so that they can be
// ranked in one list. Each area's own search ranks with BM25 against its own collection: its idf
// comes from its own counts and its scores are scaled against its own best result, so the best
// memory and the best note would both score 1 however well either matched. Here every item is
// scored again by the same formula (BM25 over title, tags and text with FIELD_WEIGHTS), with the
// same statistics (how many items of both collections hold each word) and the same average
// length, and scaled against the best item of the union.
import { isMisspelling } from './fuzzy.js';
import type { Query } from './query.js';
import { BM25_B, BM25_K1, FIELD_WEIGHTS, relativeTexts, type Field, type MatchKind } from './rank.js';
import type { Synonyms } from './synonyms.js';
import { isStopword, stemOf, wordsOf } from './words.js';

/** An item's text by field. */
export type ScoredText = Record<Field, string>;

/** A stem the query asks for, with a word that stems to it (for counting it with FTS5). */
export interface QueryStem {
  stem: string;
  word: string;
}

/** The stems a query asks for: a group a query term, its own stem first, then its synonyms'. */
export function queryStems(query: Query, synonyms: Synonyms): QueryStem[][] {
  return query.terms.map((term) => {
    const stem = stemOf(term);
    const group: QueryStem[] = [{ stem, word: term }];
    for (const word of synonyms.wordsOf(stem)) {
      if (!group.some((s) => s.stem === stemOf(word))) group.push({ stem: stemOf(word), word });
    }
    return group;
  });
}

/** How many items a collection holds, and how many of them hold each stem. */
export interface WordStats {
  docs: number;
  df: Map<string, number>;
}

export const NO_STATS: WordStats = { docs: 0, df: new Map() };

/** The statistics of two collections searched as one. */
export function addStats(a: WordStats, b: WordStats): WordStats {
  const df = new Map(a.df);
  for (const [stem, n] of b.df) df.set(stem, (df.get(stem) ?? 0) + n);
  return { docs: a.docs + b.docs, df };
}

/**
 * Only this much of a text is scored: a note may hold 1 MB, and the words that decide a ranking
 * are not at its end (tokenizing 1 MB takes ~30 ms; a search scores up to 100 texts).
 */
export const SCORED_CHARS = 100_000;

/**
 * idf that stays positive: FTS5's ln((N - df + 0.5) / (df + 0.5)) is floored near 0 for a word in
 * half the items, which in a small brain (a few dozen memories and notes) is most query words.
 */
const idfOf = (docs: number, df: number) => Math.log(1 + (docs - df + 0.5) / (df + 0.5));

/**
 * Scores texts for a query on a 0..1 scale (best of them = 1, weighed by match kind). A query word
 * that no item of either collection holds (a typo, a fragment, two words run together) matches
 * the words close to it, as the areas' own searches correct it: a word within a few edits, a word
 * it begins, or two neighbouring words it joins.
 */
export function scoreTexts(query: Query, stems: QueryStem[][], texts: ScoredText[], stats: WordStats): { text: number; match: MatchKind }[] {
  const wanted = new Set(stems.flat().map((s) => s.stem));
  const unknown = stems.map((group) => !query.stopwordsOnly && group.every((s) => !stats.df.get(s.stem)));
  const docs = texts.map((t) => read(t, wanted, stems, unknown, query));
  const avgLength = docs.reduce((sum, d) => sum + d.length, 0) / (docs.length || 1) || 1;
  const total = Math.max(stats.docs, texts.length);
  // A word nobody holds has no count: its stand-ins are counted among the texts scored.
  const closeDf = stems.map((_, g) => docs.filter((d) => d.close[g] > 0).length);
  const scored = docs.map((d) => {
    let bm25 = 0;
    let literal = 0;
    let close = 0;
    const norm = BM25_K1 * (1 - BM25_B + (BM25_B * d.length) / avgLength);
    const add = (df: number, tf: number) => (bm25 += (idfOf(total, df) * tf * (BM25_K1 + 1)) / (tf + norm));
    stems.forEach((group, g) => {
      let found = false;
      for (const { stem } of group) {
        const tf = d.tf.get(stem) ?? 0;
        if (tf === 0) continue;
        found = true;
        add(Math.max(1, stats.df.get(stem) ?? 0), tf);
      }
      if (found) literal++;
      else if (d.close[g] > 0) {
        close++;
        add(closeDf[g], d.close[g]);
      }
    });
    const match: MatchKind =
      literal === stems.length ? 'all_words' : literal + close === stems.length ? 'corrected' : literal > 0 ? 'any_word' : close > 0 ? 'fuzzy' : 'none';
    return { text: bm25, match };
  });
  const texts01 = relativeTexts(scored);
  return scored.map((s, i) => ({ text: texts01[i], match: s.match }));
}

interface ReadText {
  /** Words in all fields (stopwords too, as FTS5 counts them). */
  length: number;
  /** Field-weighted count of each wanted stem. */
  tf: Map<string, number>;
  /** Field-weighted count of words close to each unknown query word (by group). */
  close: number[];
}

function read(text: ScoredText, wanted: Set<string>, stems: QueryStem[][], unknown: boolean[], query: Query): ReadText {
  const out: ReadText = { length: 0, tf: new Map(), close: stems.map(() => 0) };
  const fuzzy = unknown.some(Boolean);
  for (const field of ['title', 'tags', 'body'] as const) {
    const weight = FIELD_WEIGHTS[field];
    const words = wordsOf(text[field].length > SCORED_CHARS ? text[field].slice(0, SCORED_CHARS) : text[field]);
    out.length += words.length;
    for (const [i, word] of words.entries()) {
      const stem = stemOf(word);
      if (wanted.has(stem)) out.tf.set(stem, (out.tf.get(stem) ?? 0) + weight);
      if (!fuzzy || isStopword(word)) continue;
      stems.forEach((_, g) => {
        if (unknown[g] && isClose(query.terms[g], word, words[i + 1])) out.close[g] += weight;
      });
    }
  }
  return out;
}

/** Whether a stored word (with the one after it) is what a query word that matches nothing meant. */
function isClose(term: string, word: string, next: string | undefined): boolean {
  if (term.length < 3) return false;
  // A fragment: "kubern" for "kubernetes".
  if (word.startsWith(term)) return true;
  // Two words run together: "ratelimit" for "rate limited".
  if (next !== undefined && word.length >= 3 && term.length - word.length >= 3 && term.startsWith(word) && (word + next).startsWith(term)) return true;
  // A misspelling: "keybindngs" for "keybindings".
  return isMisspelling(term, word);
}
