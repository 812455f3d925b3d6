// Turning what a person typed into FTS5 queries. User text is never spliced into MATCH syntax:
// it is cut into words and each word is quoted, so `foo AND (`, stray quotes, `*`, `NEAR` or any
// unicode become plain terms.

const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}]+)?/gu;
const MAX_TERMS = 16;

/** Words of a query, lower-cased, in order, without repeats. */
export function queryTerms(query: string): string[] {
  const seen = new Set<string>();
  for (const m of query.normalize('NFKC').toLowerCase().matchAll(WORD)) {
    const word = m[0].replace(/['’]/g, '');
    if (word) seen.add(word);
    if (seen.size >= MAX_TERMS) break;
  }
  return [...seen];
}

const quote = (term: string) => `"${term.replace(/"/g, '""')}"`;

/** Every term must appear (stemmed). */
export function allTermsQuery(terms: string[]): string {
  return terms.map(quote).join(' AND ');
}

/** Any term may appear; BM25 ranks documents with more of them higher. */
export function anyTermQuery(terms: string[]): string {
  return terms.map(quote).join(' OR ');
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
