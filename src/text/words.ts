// Words as every search in brain sees them: documents and queries, memories, notes and events.
// One tokenizer, so a word cut one way when stored is never cut another way when asked for.
//
// It follows SQLite FTS5's `unicode61 remove_diacritics 2` tokenizer, which the FTS tables use:
// letters, digits and marks make words (marks belong to the word they are in, as Devanagari vowel
// signs do), everything else separates them (an apostrophe too: "doesn't" is "doesn" and "t");
// words are lower-cased and Latin letters lose their accents ("Zürich" is "zurich"), while marks in
// other scripts tell words apart and stay.
import { stemmer } from 'stemmer';

const WORD = /[\p{L}\p{N}\p{M}]+/gu;
const NON_ASCII = /[^\x00-\x7f]/;
/** Latin letters with diacritics (Latin-1 Supplement to Latin Extended-B, Latin Extended Additional). */
const ACCENTED_LATIN = /[\u00c0-\u024f\u1e00-\u1eff]/g;
const COMBINING_MARKS = /[\u0300-\u036f]/g;
const ASCII_WORD = /^[a-z]+$/;

/** A text lower-cased with Latin accents removed, as words are compared. */
export function foldText(text: string): string {
  const lower = text.toLowerCase();
  if (!NON_ASCII.test(lower)) return lower;
  return lower
    .normalize('NFC')
    .replace(ACCENTED_LATIN, (ch) => ch.normalize('NFD'))
    .replace(COMBINING_MARKS, '');
}

/** The words of a text, folded (foldText), in order, repeats kept. */
export function wordsOf(text: string): string[] {
  return foldText(text).match(WORD) ?? [];
}

const stems = new Map<string, string>();
const STEM_CACHE_MAX = 200_000;

/**
 * Porter stem of a folded word, as FTS5's `porter` tokenizer stems it (English words only; other
 * words are kept as they are).
 */
export function stemOf(word: string): string {
  let stem = stems.get(word);
  if (stem === undefined) {
    stem = word.length > 2 && ASCII_WORD.test(word) ? stemmer(word) : word;
    if (stems.size >= STEM_CACHE_MAX) stems.clear();
    stems.set(word, stem);
  }
  return stem;
}

/**
 * Words too common to say anything about which item is meant. They are dropped from a query that
 * has other words, which keeps "what does the user like about editors" about editors, and the
 * in-process memory index does not keep them.
 */
const STOPWORDS = new Set(
  ('a about above after again all am an and any are as at be because been before being below between both but by can could did do does ' +
    'doing down during each few for from further had has have having he her here hers him his how i if in into is it its itself just ' +
    'me more most my no nor not now of off on once only or other our ours out over own same she should so some such than that the their ' +
    'theirs them then there these they this those through to too under until up very was we were what when where which while who whom ' +
    'why will with would you your yours').split(' '),
);

export const isStopword = (word: string): boolean => STOPWORDS.has(word);
