// Words people use for the same thing, so a memory written one way is found when asked another
// way ("k8s" finds "kubernetes", "vacation" finds "holiday"). Kept short and general.
// - An abbreviation finds its long form, not the other way round: "database" does not look for
//   every "db" (measured on man pages: that pulled in noise and cost precision).
// - The everyday pairs work both ways.
import type { Alternatives } from './fts-query.js';
import { stemOf } from './word-index.js';

/**
 * [abbreviation, what it stands for]: the abbreviation also finds the long form. Left out: pairs
 * whose long form stems to another everyday word (production -> "product", authorization ->
 * "author", performance -> "perform", localization -> "local", dependencies -> "depend",
 * internationalization -> "internation"), since "prod" would then find every product.
 */
const ABBREVIATIONS: [string, string][] = [
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
];

/** Words that mean the same either way. */
const EQUIVALENTS: [string, string][] = [
  ['vacation', 'holiday'],
  ['daylight', 'dst'],
  ['email', 'mail'],
];

/** A word's stem -> the words it also finds (both search paths compare stems). */
const byStem = new Map<string, string[]>();
function add(from: string, to: string) {
  const key = stemOf(from);
  const list = byStem.get(key) ?? [];
  // Once only: each listed word adds its score again.
  if (!list.includes(to)) byStem.set(key, [...list, to]);
}
for (const [short, long] of ABBREVIATIONS) add(short, long);
for (const [a, b] of EQUIVALENTS) {
  add(a, b);
  add(b, a);
}

/** Words that a word with this stem also finds (empty for most words). */
export function synonymsOf(stem: string): readonly string[] {
  return byStem.get(stem) ?? [];
}

/** For FTS5 queries (allTermsQuery, anyTermQuery): a query word also matches these words. */
export const synonymWords: Alternatives = (word) => synonymsOf(stemOf(word));
