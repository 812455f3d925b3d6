// An in-process inverted index over every memory's words, so that recall ranks in microseconds.
//
// Why: SQLite's FTS5 computes BM25 by walking the whole posting list of every query word (for its
// document frequency) and scores every matching row, which costs ~0.5-1 ms per recall at 10,000
// memories and several ms at 100,000. Here the posting lists are arrays in memory and the same
// BM25 formula as FTS5's bm25() (k1 = 1.2, b = 0.75, weighted columns) runs over them
// (test/recall-index.test.ts checks the scores against FTS5's). The database stays the source of
// truth and FTS5 the fallback; live-index.ts keeps this index in step with the file.
//
// Words are cut, folded and stemmed by src/text/words.ts, for documents and queries alike, as
// FTS5's tokenizer does. Stopwords are not indexed (recall drops them from queries), but count
// towards a memory's length, as they do in FTS5.
import { BM25_B as B, BM25_K1 as K1, FIELD_WEIGHTS, fts5Idf } from '../text/rank.js';
import { isStopword, stemOf, wordsOf } from '../text/words.js';

/** The text of a memory in the index's three columns, weighted as in recall's bm25(). */
export interface IndexedText {
  key: string;
  content: string;
  tags: string;
}
const COLUMN_WEIGHTS = { key: FIELD_WEIGHTS.title, content: FIELD_WEIGHTS.body, tags: FIELD_WEIGHTS.tags } as const;

// Posting lists and per-document term lists are plain arrays of small integers: V8 stores them
// packed, and most words occur in a few memories, where a typed array's fixed cost would dominate.
interface Postings {
  docs: number[];
  /** Weighted count of the word in the document (COLUMN_WEIGHTS: 4 × in key + 1 × in content + 2 × in tags). */
  freqs: number[];
  /** Entries whose document is still in the index (the rest wait for compaction). */
  live: number;
}

/** Matches of one query, best first within each list. */
export interface Ranked {
  ids: number[];
  scores: number[];
}

export interface IndexMatches {
  /** Memories with a word of every group. */
  full: RankedList;
  /** Memories with words of some groups only. */
  partial: RankedList;
}

function grow<T extends Int32Array | Float32Array | Float64Array | Uint16Array>(a: T, need: number): T {
  if (need <= a.length) return a;
  const next = new (a.constructor as new (n: number) => T)(Math.max(need, a.length * 2));
  next.set(a);
  return next;
}

export class WordIndex {
  private readonly termIds = new Map<string, number>();
  private postings: Postings[] = [];
  private readonly docOf = new Map<number, number>();
  // Memory ids are SQLite rowids (64-bit; imports may bring large ones): kept as doubles.
  private memoryIds = new Float64Array(1024);
  /** Tokens in each document; -1 once it is removed (its postings are skipped until compaction). */
  private lengths = new Float32Array(1024);
  /** Term ids of each document, to update document frequencies when it goes. */
  private docTerms: (number[] | undefined)[] = [];
  private docCount = 0;
  private liveDocs = 0;
  private totalLength = 0;
  private livePostings = 0;
  private deadPostings = 0;
  private deadDocs = 0;
  // Scratch space for one query, reused so that a query allocates little.
  private scores = new Float64Array(1024);
  private masks = new Uint16Array(1024);
  private touched = new Int32Array(1024);
  private readonly full = new RankedList();
  private readonly partial = new RankedList();

  /** Memories in the index. */
  get size(): number {
    return this.liveDocs;
  }

  /** In how many memories a stemmed word occurs. */
  documentFrequency(stem: string): number {
    const id = this.termIds.get(stem);
    return id === undefined ? 0 : this.postings[id].live;
  }

  has(memoryId: number): boolean {
    return this.docOf.has(memoryId);
  }

  /** Adds a memory, or replaces what the index holds for it. */
  set(memoryId: number, text: IndexedText): void {
    this.delete(memoryId);
    const freqs = new Map<number, number>();
    let length = 0;
    for (const column of ['key', 'content', 'tags'] as const) {
      const weight = COLUMN_WEIGHTS[column];
      for (const word of wordsOf(text[column])) {
        length++;
        if (isStopword(word)) continue;
        const term = this.termId(stemOf(word));
        freqs.set(term, (freqs.get(term) ?? 0) + weight);
      }
    }
    const doc = this.docCount++;
    if (doc >= this.memoryIds.length) {
      this.memoryIds = grow(this.memoryIds, doc + 1);
      this.lengths = grow(this.lengths, doc + 1);
    }
    this.memoryIds[doc] = memoryId;
    this.lengths[doc] = length;
    this.docOf.set(memoryId, doc);
    const terms: number[] = [];
    for (const [term, freq] of freqs) {
      terms.push(term);
      const p = this.postings[term];
      p.docs.push(doc);
      p.freqs.push(freq);
      p.live++;
    }
    this.docTerms[doc] = terms;
    this.liveDocs++;
    this.totalLength += length;
    this.livePostings += terms.length;
  }

  /** Removes a memory (a no-op if the index does not hold it). */
  delete(memoryId: number): void {
    const doc = this.docOf.get(memoryId);
    if (doc === undefined) return;
    this.docOf.delete(memoryId);
    const terms = this.docTerms[doc]!;
    for (const term of terms) this.postings[term].live--;
    this.docTerms[doc] = undefined;
    this.liveDocs--;
    this.totalLength -= this.lengths[doc];
    this.lengths[doc] = -1;
    this.livePostings -= terms.length;
    this.deadPostings += terms.length;
    this.deadDocs++;
    // Removed documents stay in posting lists (skipped when scoring) until they are a fifth of
    // them, or (memories without indexed words) until they outnumber the live ones.
    if ((this.deadPostings > 10_000 && this.deadPostings > this.livePostings / 4) || (this.deadDocs > 10_000 && this.deadDocs > this.liveDocs)) this.compact();
  }

  /**
   * Scores every memory holding a word of the query with BM25. `groups` are alternatives for
   * each query word (the word's stem, or stems of spelling corrections); a memory matching every
   * group is a full match. The lists are reused: they are valid until the next call.
   */
  match(groups: string[][]): IndexMatches {
    const n = this.liveDocs;
    const avgLength = n > 0 ? this.totalLength / n : 1;
    if (this.scores.length < this.docCount) {
      this.scores = grow(this.scores, this.docCount);
      this.masks = grow(this.masks, this.docCount);
    }
    const { scores, masks, lengths } = this;
    // K1 * (1 - B + B * length / avgLength), as a + b * length.
    const normBase = K1 * (1 - B);
    const normPerToken = (K1 * B) / avgLength;
    let touchedCount = 0;
    let fullMask = 0;
    for (let g = 0; g < groups.length && g < 16; g++) {
      const bit = 1 << g;
      fullMask |= bit;
      for (const stem of groups[g]) {
        const term = this.termIds.get(stem);
        if (term === undefined) continue;
        const p = this.postings[term];
        if (p.live === 0) continue;
        const weight = fts5Idf(n, p.live) * (K1 + 1);
        const { docs, freqs } = p;
        const size = docs.length;
        if (this.touched.length < touchedCount + size) this.touched = grow(this.touched, touchedCount + size);
        const { touched } = this;
        for (let j = 0; j < size; j++) {
          const doc = docs[j];
          const length = lengths[doc];
          if (length < 0) continue;
          const f = freqs[j];
          if (masks[doc] === 0) touched[touchedCount++] = doc;
          masks[doc] |= bit;
          scores[doc] += (weight * f) / (f + normBase + normPerToken * length);
        }
      }
    }
    const { full, partial } = this;
    full.clear();
    partial.clear();
    for (let i = 0; i < touchedCount; i++) {
      const doc = this.touched[i];
      (masks[doc] === fullMask ? full : partial).push(this.memoryIds[doc], scores[doc]);
      scores[doc] = 0;
      masks[doc] = 0;
    }
    return { full, partial };
  }

  private termId(stem: string): number {
    let id = this.termIds.get(stem);
    if (id === undefined) {
      id = this.postings.length;
      this.termIds.set(stem, id);
      this.postings.push({ docs: [], freqs: [], live: 0 });
    }
    return id;
  }

  /** Drops removed documents from the posting lists and renumbers the rest densely. */
  private compact(): void {
    const renumber = new Int32Array(this.docCount).fill(-1);
    let next = 0;
    for (let doc = 0; doc < this.docCount; doc++) {
      if (this.lengths[doc] < 0) continue;
      renumber[doc] = next;
      this.memoryIds[next] = this.memoryIds[doc];
      this.lengths[next] = this.lengths[doc];
      this.docTerms[next] = this.docTerms[doc];
      this.docOf.set(this.memoryIds[next], next);
      next++;
    }
    this.docTerms.length = next;
    this.docCount = next;
    for (const p of this.postings) {
      let kept = 0;
      for (let j = 0; j < p.docs.length; j++) {
        const doc = renumber[p.docs[j]];
        if (doc < 0) continue;
        p.docs[kept] = doc;
        p.freqs[kept] = p.freqs[j];
        kept++;
      }
      p.docs.length = kept;
      p.freqs.length = kept;
    }
    this.deadPostings = 0;
    this.deadDocs = 0;
  }
}

/** Memories with their scores; the best few are picked without sorting them all. */
export class RankedList {
  private ids = new Float64Array(256);
  private scores = new Float64Array(256);
  length = 0;

  clear(): void {
    this.length = 0;
  }

  push(memoryId: number, score: number): void {
    if (this.length === this.ids.length) {
      this.ids = grow(this.ids, this.length + 1);
      this.scores = grow(this.scores, this.length + 1);
    }
    this.ids[this.length] = memoryId;
    this.scores[this.length++] = score;
  }

  /** The best `count` as memory ids and scores, best first (ties: the newer memory first). */
  top(count: number): Ranked {
    const { ids, scores, length } = this;
    const before = (a: number, b: number) => scores[a] > scores[b] || (scores[a] === scores[b] && ids[a] > ids[b]);
    // A heap of the best `count` seen so far with the worst on top: one pass over the list, and
    // most entries are turned away by a single comparison with the worst kept score.
    const heap: number[] = [];
    let worst = -Infinity;
    for (let i = 0; i < length; i++) {
      if (heap.length < count) {
        heap.push(i);
        for (let c = heap.length - 1; c > 0; ) {
          const parent = (c - 1) >> 1;
          if (!before(heap[parent], heap[c])) break;
          [heap[parent], heap[c]] = [heap[c], heap[parent]];
          c = parent;
        }
        worst = scores[heap[0]];
        continue;
      }
      if (scores[i] < worst || !before(i, heap[0])) continue;
      heap[0] = i;
      for (let p = 0; ; ) {
        const l = 2 * p + 1;
        const r = l + 1;
        let m = p;
        if (l < heap.length && before(heap[m], heap[l])) m = l;
        if (r < heap.length && before(heap[m], heap[r])) m = r;
        if (m === p) break;
        [heap[p], heap[m]] = [heap[m], heap[p]];
        p = m;
      }
      worst = scores[heap[0]];
    }
    heap.sort((a, b) => (before(a, b) ? -1 : 1));
    return { ids: heap.map((i) => ids[i]), scores: heap.map((i) => scores[i]) };
  }
}
