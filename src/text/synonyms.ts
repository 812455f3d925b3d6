// Words people use for the same thing, so an item written one way is found when asked another way
// ("k8s" finds "kubernetes", "vacation" finds "holiday"). Every search takes its list as a
// parameter: memories and notes use COMMON_SYNONYMS (one list, so the combined search matches the
// same words on both sides); the event log, searched for words that must appear in a message,
// uses none.
import { stemOf } from './words.js';

export interface Synonyms {
  /** Words that a word with this stem also finds (empty for most words). */
  wordsOf(stem: string): readonly string[];
  /** The stems of those words. */
  stemsOf(stem: string): readonly string[];
}

/**
 * A synonym list from [abbreviation, what it stands for] pairs (the abbreviation also finds the
 * long form, not the other way round) and pairs that mean the same either way. Keyed by stem, as
 * every search compares stems.
 */
export function synonymList(abbreviations: [string, string][], equivalents: [string, string][]): Synonyms {
  const byStem = new Map<string, string[]>();
  const add = (from: string, to: string) => {
    const key = stemOf(from);
    const list = byStem.get(key) ?? [];
    // Once only: each listed word adds its score again.
    if (!list.includes(to)) byStem.set(key, [...list, to]);
  };
  for (const [short, long] of abbreviations) add(short, long);
  for (const [a, b] of equivalents) {
    add(a, b);
    add(b, a);
  }
  const stems = new Map([...byStem].map(([stem, words]) => [stem, [...new Set(words.map(stemOf))]]));
  return {
    wordsOf: (stem) => byStem.get(stem) ?? [],
    stemsOf: (stem) => stems.get(stem) ?? [],
  };
}

export const NO_SYNONYMS: Synonyms = synonymList([], []);

/**
 * Kept short and general. An abbreviation finds its long form, not the other way round: "database"
 * does not look for every "db" (measured on man pages: that pulled in noise and cost precision).
 * Left out: pairs whose long form stems to another everyday word (production -> "product",
 * authorization -> "author", performance -> "perform", localization -> "local", dependencies ->
 * "depend", internationalization -> "internation"), since "prod" would then find every product.
 */
export const COMMON_SYNONYMS: Synonyms = synonymList(
  [
    ['k8s', 'kubernetes'],
    ['db', 'database'],
    ['repo', 'repository'],
    ['config', 'configuration'],
    ['auth', 'authentication'],
    ['js', 'javascript'],
    ['ts', 'typescript'],
    ['py', 'python'],
    ['docs', 'documentation'],
    ['infra', 'infrastructure'],
    ['tz', 'timezone'],
    ['pto', 'vacation'],
    ['bday', 'birthday'],
  ],
  [
    ['vacation', 'holiday'],
    ['daylight', 'dst'],
    ['email', 'mail'],
  ],
);
