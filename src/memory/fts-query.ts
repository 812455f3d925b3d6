// Turning what a person typed into FTS5 queries. User text is never spliced into MATCH syntax:
// it is cut into words and each word is quoted, so `foo AND (`, stray quotes, `*`, `NEAR` or any
// unicode become plain terms.

// Apostrophes split words, as in the index's tokenizer ("doesn't" is "doesn" and "t" there too).
const WORD = /[\p{L}\p{N}]+/gu;
const MAX_TERMS = 16;

/** Words of a query, lower-cased, in order, without repeats. */
export function queryTerms(query: string): string[] {
  const seen = new Set<string>();
  for (const m of query.normalize('NFKC').toLowerCase().matchAll(WORD)) {
    seen.add(m[0]);
    if (seen.size >= MAX_TERMS) break;
  }
  return [...seen];
}

const quote = (term: string) => `"${term.replace(/"/g, '""')}"`;

/** Other words a term may match instead (synonyms); none by default. */
export type Alternatives = (term: string) => readonly string[];
const none: Alternatives = () => [];

/** A term, or any of its alternatives. */
function termQuery(term: string, alternatives: Alternatives): string {
  const others = alternatives(term);
  return others.length ? `(${[term, ...others].map(quote).join(' OR ')})` : quote(term);
}

/** Every term (or an alternative of it) must appear (stemmed). */
export function allTermsQuery(terms: string[], alternatives = none): string {
  return terms.map((t) => termQuery(t, alternatives)).join(' AND ');
}

/** Any term may appear; BM25 ranks documents with more of them higher. */
export function anyTermQuery(terms: string[], alternatives = none): string {
  return terms.map((t) => termQuery(t, alternatives)).join(' OR ');
}

/** Distinct trigrams of the terms (terms shorter than 3 characters have none). */
export function termTrigrams(terms: string[]): string[] {
  const grams = new Set<string>();
  for (const term of terms) {
    const chars = [...term];
    for (let i = 0; i + 3 <= chars.length; i++) grams.add(chars.slice(i, i + 3).join(''));
  }
  return [...grams];
}

/** Trigram query: documents sharing the most trigrams with the query rank first. */
export function trigramQuery(grams: string[]): string {
  return grams.map(quote).join(' OR ');
}

/**
 * Words too common to say anything about which memory is meant. They are dropped from a query
 * that has other words, which keeps "what does the user like about editors" about editors.
 */
const STOPWORDS = new Set(
  ('a about above after again all am an and any are as at be because been before being below between both but by can could did do does ' +
    'doing down during each few for from further had has have having he her here hers him his how i if in into is it its itself just ' +
    'me more most my no nor not now of off on once only or other our ours out over own same she should so some such than that the their ' +
    'theirs them then there these they this those through to too under until up very was we were what when where which while who whom ' +
    'why will with would you your yours').split(' '),
);

export const isStopword = (word: string): boolean => STOPWORDS.has(word);

/** Query terms without stopwords, unless that would leave nothing. */
export function meaningfulTerms(terms: string[]): string[] {
  const kept = terms.filter((t) => !STOPWORDS.has(t));
  return kept.length > 0 ? kept : terms;
}
