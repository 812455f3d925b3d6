// The stored words (memory_terms, see terms.ts) with a trigram index, in memory: what typo and
// fragment tolerance look words up in once the recall index is ready.
//
// Why: the same lookups through SQLite (the trigram FTS5 table over memory_terms) took 2-20 ms a
// word at 100,000 memories, so a query with every word misspelled cost five times a plain one.
// Here a word's trigrams are looked up in arrays: its rarest trigrams name the candidates, the
// candidates that share most of them (weighted by rarity) are checked with edit distance.
// Memory: the words in a TermDict, and per trigram the words holding it (4 bytes each): about
// 2 MB at 50,000 words.
import { allowedEdits } from '../text/fuzzy.js';
import { grown, TermDict, type TermDictParts } from './term-dict.js';

/** Everything a word list holds, as arrays (the index file stores them). */
export interface WordListParts {
  words: TermDictParts;
  grams: TermDictParts;
  /** Per trigram id, where its words start in `postings` (grams + 1 entries). */
  offsets: Uint32Array;
  /** Word ids, ascending within a trigram. */
  postings: Uint32Array;
  /** The last memory_terms.id the list holds. */
  lastTermId: number;
}

/** Rarest trigrams of a word that name candidates (as many as the SQL lookup probed). */
const PROBE_GRAMS = 6;
/** Candidates checked with edit distance, those sharing the most (rarest) trigrams first. */
const PROBE_WORDS = 500;

/** Distinct trigrams of a word, by code point (as trigramsOf in src/text/fuzzy.ts cuts them). */
function gramsOf(word: string): string[] {
  const chars = [...word];
  const out = new Set<string>();
  for (let i = 0; i + 3 <= chars.length; i++) out.add(chars[i] + chars[i + 1] + chars[i + 2]);
  return [...out];
}

export class WordList {
  private readonly words: TermDict;
  private readonly grams: TermDict;
  private offsets: Uint32Array;
  private postings: Uint32Array;
  /** Words added since the arrays were built, per trigram id. */
  private readonly recent = new Map<number, number[]>();
  /** The last memory_terms.id the list holds. */
  lastTermId: number;
  private scores = new Float64Array(1024);

  constructor(parts?: WordListParts) {
    this.words = new TermDict(parts?.words);
    this.grams = new TermDict(parts?.grams);
    this.offsets = parts?.offsets ?? new Uint32Array(1);
    this.postings = parts?.postings ?? new Uint32Array(0);
    this.lastTermId = parts?.lastTermId ?? 0;
  }

  get size(): number {
    return this.words.size;
  }

  /** Adds a stored word (a row of memory_terms). */
  add(word: string, termId: number): void {
    if (termId > this.lastTermId) this.lastTermId = termId;
    if (this.words.get(word) >= 0) return;
    const id = this.words.add(word);
    for (const g of gramsOf(word)) {
      const gram = this.grams.add(g);
      const list = this.recent.get(gram);
      if (list) list.push(id);
      else this.recent.set(gram, [id]);
    }
  }

  /** Stored words containing `word` (a fragment), shortest first. */
  containing(word: string, max: number): string[] {
    const grams = gramsOf(word);
    if (grams.length === 0) return [];
    // Every trigram of the fragment is in the words that contain it: the rarest names the fewest.
    let rarest = -1;
    let rarestCount = Infinity;
    for (const g of grams) {
      const id = this.grams.get(g);
      if (id < 0) return [];
      const n = this.countOf(id);
      if (n < rarestCount) {
        rarest = id;
        rarestCount = n;
      }
    }
    const found: string[] = [];
    this.forEachWord(rarest, (w) => {
      const term = this.words.termAt(w);
      if (term.includes(word)) found.push(term);
    });
    return found.sort((a, b) => a.length - b.length).slice(0, max);
  }

  /**
   * Stored words within allowedEdits of `word` (a misspelling), with their distance. The
   * candidates share at least one of its rarest trigrams; those sharing the most (rarest first)
   * are checked.
   */
  misspelt(word: string): Map<string, number> {
    const out = new Map<string, number>();
    const max = allowedEdits(word.length);
    const probes = gramsOf(word)
      .map((g) => this.grams.get(g))
      .filter((id) => id >= 0)
      .map((id) => ({ id, n: this.countOf(id) }))
      .filter((p) => p.n > 0)
      .sort((a, b) => a.n - b.n)
      .slice(0, PROBE_GRAMS);
    if (probes.length === 0) return out;
    if (this.scores.length < this.words.size) this.scores = grown(this.scores, this.words.size);
    const { scores } = this;
    const touched: number[] = [];
    const total = this.words.size;
    const length = word.length;
    for (const p of probes) {
      const weight = Math.log(1 + total / p.n);
      this.forEachWord(p.id, (w) => {
        // A word whose length is too far off cannot be within reach.
        if (Math.abs(this.words.lengthOf(w) - length) > max) return;
        if (scores[w] === 0) touched.push(w);
        scores[w] += weight;
      });
    }
    if (touched.length > PROBE_WORDS) touched.sort((a, b) => scores[b] - scores[a] || a - b);
    const checked = touched.length > PROBE_WORDS ? touched.slice(0, PROBE_WORDS) : touched;
    for (const w of checked) {
      const d = this.words.distanceTo(w, word, max);
      if (d === 0 || d > max) continue;
      out.set(this.words.termAt(w), d);
    }
    for (const w of touched) scores[w] = 0;
    return out;
  }

  /** The list as arrays, the recent words merged in. */
  parts(): WordListParts {
    const gramCount = this.grams.size;
    const offsets = new Uint32Array(gramCount + 1);
    let total = 0;
    for (let g = 0; g < gramCount; g++) {
      offsets[g] = total;
      total += this.countOf(g);
    }
    offsets[gramCount] = total;
    const postings = new Uint32Array(total);
    for (let g = 0; g < gramCount; g++) {
      let at = offsets[g];
      this.forEachWord(g, (w) => (postings[at++] = w));
    }
    const words = this.words.parts();
    const grams = this.grams.parts();
    return { words: { ...words, table: words.table.slice() }, grams: { ...grams, table: grams.table.slice() }, offsets, postings, lastTermId: this.lastTermId };
  }

  get bytes(): number {
    let recent = 0;
    for (const list of this.recent.values()) recent += 16 + list.length * 8;
    return this.words.bytes + this.grams.bytes + this.offsets.byteLength + this.postings.byteLength + this.scores.byteLength + recent;
  }

  private countOf(gram: number): number {
    const base = gram + 1 < this.offsets.length ? this.offsets[gram + 1] - this.offsets[gram] : 0;
    return base + (this.recent.get(gram)?.length ?? 0);
  }

  private forEachWord(gram: number, fn: (word: number) => void): void {
    if (gram + 1 < this.offsets.length) for (let j = this.offsets[gram]; j < this.offsets[gram + 1]; j++) fn(this.postings[j]);
    const recent = this.recent.get(gram);
    if (recent) for (const w of recent) fn(w);
  }
}
