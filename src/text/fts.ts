// Building SQLite FTS5 queries. User text is never spliced into MATCH syntax: it is cut into words
// (words.ts) and every word goes through quote(), the one quoting rule, so `foo AND (`, stray
// quotes, `*`, `NEAR` or any unicode become plain terms.
import { FIELD_WEIGHTS, type Field } from './rank.js';
import type { Synonyms } from './synonyms.js';
import { stemOf } from './words.js';

/** A word as an FTS5 string: in double quotes, a double quote inside doubled. */
export const quote = (word: string): string => `"${word.replace(/"/g, '""')}"`;

/** A word, or any of its synonyms. */
function wordQuery(word: string, synonyms: Synonyms): string {
  const others = synonyms.wordsOf(stemOf(word));
  return others.length ? `(${[word, ...others].map(quote).join(' OR ')})` : quote(word);
}

/** Every word (or a synonym of it) must appear (stemmed). */
export function allTermsQuery(words: string[], synonyms: Synonyms): string {
  return words.map((w) => wordQuery(w, synonyms)).join(' AND ');
}

/** Any word (or a synonym of it) may appear; BM25 ranks documents with more of them higher. */
export function anyTermQuery(words: string[], synonyms: Synonyms): string {
  return words.map((w) => wordQuery(w, synonyms)).join(' OR ');
}

/** Every word but one (any one) must appear. */
export function allButOneQuery(words: string[], synonyms: Synonyms): string {
  return words.map((_, skip) => `(${allTermsQuery(words.filter((__, i) => i !== skip), synonyms)})`).join(' OR ');
}

/** One word (or a synonym of it) of every group must appear (a group: the stand-ins for one query word). */
export function groupsQuery(groups: string[][], synonyms: Synonyms): string {
  return groups.map((g) => `(${anyTermQuery(g, synonyms)})`).join(' AND ');
}

/** Words starting with any of these. */
export function prefixQuery(words: string[]): string {
  return words.map((w) => `${quote(w)}*`).join(' OR ');
}

/** Trigram query: documents sharing the most trigrams with the query rank first. */
export function trigramQuery(grams: string[]): string {
  return grams.map(quote).join(' OR ');
}

/** FTS5's bm25() of a table whose columns hold these fields (in this order), with FIELD_WEIGHTS. */
export function bm25Of(table: string, columns: Field[]): string {
  return `bm25(${table}, ${columns.map((c) => FIELD_WEIGHTS[c].toFixed(1)).join(', ')})`;
}
