// What a person typed, cut into words once per call: the tool (or service) that receives the text
// parses it, and every layer below reads this value instead of cutting the text again.
import { isStopword, wordsOf } from './words.js';

export interface Query {
  /** The text as typed. */
  text: string;
  /** Its distinct words (words.ts), in order. */
  words: string[];
  /**
   * The words to search for: stopwords dropped, unless nothing else was typed ("the who"); at
   * most MAX_QUERY_TERMS.
   */
  terms: string[];
  /** Whether `terms` are stopwords (the query had no other words). */
  stopwordsOnly: boolean;
}

/**
 * More words than this make a pasted text, not a query: the first ones carry it, and every search
 * step costs per word (the memory index also tells at most 16 words apart in one pass).
 */
export const MAX_QUERY_TERMS = 16;

export function parseQuery(text: string): Query {
  const words = [...new Set(wordsOf(text))];
  const meaningful = words.filter((w) => !isStopword(w));
  const stopwordsOnly = meaningful.length === 0 && words.length > 0;
  return { text, words, terms: (stopwordsOnly ? words : meaningful).slice(0, MAX_QUERY_TERMS), stopwordsOnly };
}

/** Whether the text has anything to search for (a query of only punctuation has not). */
export const hasWords = (query: Query): boolean => query.terms.length > 0;
