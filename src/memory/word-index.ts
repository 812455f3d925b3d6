// An in-process inverted index over every memory's words, so that recall ranks in microseconds.
//
// Why: SQLite's FTS5 computes BM25 by walking the whole posting list of every query word (for its
// document frequency) and scores every matching row, which costs ~0.5-1 ms per recall at 10,000
// memories and several ms at 100,000. Here the posting lists are in memory and the same BM25
// formula as FTS5's bm25() (k1 = 1.2, b = 0.75, weighted columns) runs over them
// (test/recall-index.test.ts checks the scores against FTS5's). The database stays the source of
// truth and FTS5 the fallback; live-index.ts keeps this index in step with the file.
//
// Layout (what the bytes go to): posting lists live in immutable segments (sorted term ids,
// offsets, document numbers as varint gaps and weighted counts as bytes: about 2.5 bytes a
// posting, where 32-bit document numbers took 5 and arrays of JavaScript numbers about 26 with
// their growth slack), plus a small tail
// that new documents are appended to. A full tail becomes a segment; segments of similar size are
// merged (in slices, by the caller: mergeJob), dropping removed documents. Terms are numbered by a
// TermDict (term-dict.ts). A removed document is only flagged; its postings are skipped until a
// merge drops them, and document frequencies subtract the flagged ones (counted once per term and
// change). Nothing keeps a list of each document's terms (that alone took 37 MB at 100k memories).
//
// Words are cut, folded and stemmed by src/text/words.ts, for documents and queries alike, as
// FTS5's tokenizer does. Stopwords are not indexed (recall drops them from queries), but count
// towards a memory's length, as they do in FTS5.
import { BM25_B as B, BM25_K1 as K1, FIELD_WEIGHTS, fts5Idf } from '../text/rank.js';
import { isStopword, stemOf, wordsOf } from '../text/words.js';
import { IdMap } from './id-map.js';
import { grown, TermDict, type TermDictParts } from './term-dict.js';

/** The text of a memory in the index's three columns, weighted as in recall's bm25(). */
export interface IndexedText {
  key: string;
  content: string;
  tags: string;
}
const COLUMNS = [
  ['key', FIELD_WEIGHTS.title],
  ['content', FIELD_WEIGHTS.body],
  ['tags', FIELD_WEIGHTS.tags],
] as const;

/** Immutable posting lists of the documents added in one stretch, by term id. */
export interface Segment {
  /** Term ids with postings here, ascending. */
  terms: Uint32Array;
  /** Where each term's postings start, counted in postings: its counts in freqs (terms.length + 1 entries). */
  offsets: Uint32Array;
  /** Where each term's document numbers start in gaps, in bytes (terms.length + 1 entries). */
  starts: Uint32Array;
  /**
   * Document numbers, ascending within a term, each as its distance from the one before (the
   * first as itself) in 7-bit groups, low first, the high bit set on all but the last byte. The
   * postings of common words are close together: at a million memories a posting takes 1.4 bytes
   * here on average, where a 32-bit number took 4. Read a term's whole list at once (readDocs).
   */
  gaps: Uint8Array;
  /** Weighted count of the term in the document (4 × in key + 1 × in content + 2 × in tags), up to 255. */
  freqs: Uint8Array;
  /** Posting position -> count, for counts of 255 and more (long texts repeating a word). */
  over: Map<number, number>;
}

const FREQ_CAP = 255;

/** Writes `value` (below 2^32) as a varint at `at`; returns where the next one goes. */
function putVarint(bytes: Uint8Array, at: number, value: number): number {
  while (value > 127) {
    bytes[at++] = (value & 127) | 128;
    value >>>= 7;
  }
  bytes[at++] = value;
  return at;
}

/** Varint-coded document gaps, written one term's list after another (see Segment.gaps). Exported for tests. */
export class GapWriter {
  bytes: Uint8Array;
  at = 0;
  private last = 0;

  /** `bound`: at most how many bytes will be written (more only costs a copy). */
  constructor(bound: number) {
    this.bytes = new Uint8Array(Math.max(16, bound));
  }

  /** Starts a term's list; the next document is written as itself. */
  startTerm(): void {
    this.last = 0;
  }

  push(doc: number): void {
    if (this.at + 5 > this.bytes.length) this.bytes = grown(this.bytes, this.at + 5);
    this.at = putVarint(this.bytes, this.at, doc - this.last);
    this.last = doc;
  }

  /** The bytes written, copied unless they fill most of the buffer. */
  done(): Uint8Array {
    return this.at > this.bytes.length * 0.9 ? this.bytes.subarray(0, this.at) : this.bytes.slice(0, this.at);
  }
}

/**
 * Decodes the document numbers of a segment's `k`th term into `into` (grown when too small;
 * the array used is returned): a tight loop over bytes, then the callers index it as they did the
 * plain array.
 */
export function readDocs(seg: Segment, k: number, into: Uint32Array): Uint32Array {
  const count = seg.offsets[k + 1] - seg.offsets[k];
  if (into.length < count) into = new Uint32Array(Math.max(count, into.length * 2));
  const { gaps } = seg;
  let at = seg.starts[k];
  let doc = 0;
  for (let i = 0; i < count; i++) {
    let b = gaps[at++];
    if (b < 128) {
      // Most gaps (those of common words) fit in a byte.
      doc += b;
    } else {
      let gap = b & 127;
      for (let shift = 7; b > 127; shift += 7) {
        b = gaps[at++];
        gap |= (b & 127) << shift;
      }
      doc += gap >>> 0;
    }
    into[i] = doc;
  }
  return into;
}

/** Where a term's postings are in a segment (its index in `terms`), or -1. */
function findTerm(seg: Segment, term: number): number {
  const { terms } = seg;
  let lo = 0;
  let hi = terms.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const t = terms[mid];
    if (t === term) return mid;
    if (t < term) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Matches of one query, best first within each list. */
export interface Ranked {
  ids: number[];
  scores: number[];
}

export interface IndexMatches {
  /** Memories with a word of every group. */
  full: RankedList;
  /**
   * Memories with words of some groups only: listed when asked for (most queries find enough full
   * matches, and at a million memories three common words touch ~190,000 memories, nearly all partial).
   */
  partial(): RankedList;
}

/** Everything an index holds, as arrays (what the index file stores; see index-file.ts). */
export interface WordIndexParts {
  dict: TermDictParts;
  segments: Segment[];
  memoryIds: Float64Array;
  lengths: Uint32Array;
  dead: Uint8Array;
}

/** A merge of segments run a slice at a time (mergeJob). */
export interface MergeJob {
  /** Works for about `budgetMs`; true once the merge is done and in use. */
  step(budgetMs: number): boolean;
}

export interface WordIndexOptions {
  /** Postings the tail holds before it becomes a segment. */
  tailMax?: number;
  /** Removed documents needed (besides a quarter of all) before everything is merged and renumbered. */
  renumberAfter?: number;
}

/** Postings in the tail before it becomes a segment: about 2,000 memories of a few hundred characters; turning it into a segment takes ~2 ms. */
const TAIL_MAX = 65_536;

export class WordIndex {
  private dict: TermDict;
  private segments: Segment[];
  // The tail: postings of the newest documents, in the order added, chained per term (newest first).
  private tailTerm = new Uint32Array(1024);
  private tailDoc = new Uint32Array(1024);
  private tailFreq = new Uint32Array(1024);
  private tailNext = new Int32Array(1024);
  private tailSize = 0;
  private readonly tailHead = new Map<number, number>();
  private readonly tailCount = new Map<number, number>();
  private readonly tailMax: number;
  private readonly renumberAfter: number;
  // Per document: its memory, its length in tokens, whether it was removed.
  private memoryIds: Float64Array;
  private lengths: Uint32Array;
  private dead: Uint8Array;
  private docCount: number;
  private docOf = new IdMap();
  private liveDocs = 0;
  private totalLength = 0;
  /** Removed documents whose postings may still be in segments or the tail. */
  private deadDocs = 0;
  /** Changes when postings of removed documents come or go: flagged counts per term are valid for one epoch. */
  private epoch = 0;
  private deadCacheEpoch = -1;
  private readonly deadCache = new Map<number, number>();
  private job?: MergeJob & { renumbers: boolean };
  // Scratch space for one query, reused so that a query allocates little.
  private scores = new Float64Array(1024);
  private masks = new Uint16Array(1024);
  private touched = new Int32Array(1024);
  /** A term's document numbers in one segment, decoded (readDocs). */
  private decoded: Uint32Array = new Uint32Array(1024);
  /** Memories the last match touched whose scores and masks are not cleared yet (see match). */
  private pendingTouched = 0;
  private readonly full = new RankedList();
  private readonly partial = new RankedList();
  private readonly docFreqs = new Map<number, number>();

  constructor(opts: WordIndexOptions = {}, parts?: WordIndexParts) {
    this.tailMax = opts.tailMax ?? TAIL_MAX;
    this.renumberAfter = opts.renumberAfter ?? 1_000;
    this.dict = new TermDict(parts?.dict);
    this.segments = parts?.segments ?? [];
    this.memoryIds = parts?.memoryIds ?? new Float64Array(1024);
    this.lengths = parts?.lengths ?? new Uint32Array(1024);
    this.dead = parts?.dead ?? new Uint8Array(1024);
    this.docCount = parts ? parts.memoryIds.length : 0;
    for (let doc = 0; doc < this.docCount; doc++) {
      if (this.dead[doc]) {
        this.deadDocs++;
        continue;
      }
      this.docOf.set(this.memoryIds[doc], doc, this.docCount);
      this.liveDocs++;
      this.totalLength += this.lengths[doc];
    }
  }

  /** Memories in the index. */
  get size(): number {
    return this.liveDocs;
  }

  has(memoryId: number): boolean {
    return this.docOf.get(memoryId) >= 0;
  }

  /** In how many memories a stemmed word occurs. */
  documentFrequency(stem: string): number {
    const term = this.dict.get(stem);
    return term < 0 ? 0 : this.liveCount(term);
  }

  /** Adds a memory, or replaces what the index holds for it. */
  set(memoryId: number, text: IndexedText): void {
    this.delete(memoryId);
    const freqs = this.docFreqs;
    freqs.clear();
    let length = 0;
    for (const [column, weight] of COLUMNS) {
      for (const word of wordsOf(text[column])) {
        length++;
        if (isStopword(word)) continue;
        const term = this.dict.add(stemOf(word));
        freqs.set(term, (freqs.get(term) ?? 0) + weight);
      }
    }
    const doc = this.docCount++;
    if (doc >= this.memoryIds.length) {
      this.memoryIds = grown(this.memoryIds, doc + 1);
      this.lengths = grown(this.lengths, doc + 1);
      this.dead = grown(this.dead, doc + 1);
    }
    this.memoryIds[doc] = memoryId;
    this.lengths[doc] = length;
    this.dead[doc] = 0;
    this.docOf.set(memoryId, doc, this.docCount);
    if (this.tailSize + freqs.size > this.tailTerm.length) {
      const need = this.tailSize + freqs.size;
      this.tailTerm = grown(this.tailTerm, need);
      this.tailDoc = grown(this.tailDoc, need);
      this.tailFreq = grown(this.tailFreq, need);
      this.tailNext = grown(this.tailNext, need);
    }
    for (const [term, freq] of freqs) {
      const at = this.tailSize++;
      this.tailTerm[at] = term;
      this.tailDoc[at] = doc;
      this.tailFreq[at] = freq;
      this.tailNext[at] = this.tailHead.get(term) ?? -1;
      this.tailHead.set(term, at);
      this.tailCount.set(term, (this.tailCount.get(term) ?? 0) + 1);
    }
    this.liveDocs++;
    this.totalLength += length;
    // A renumbering merge expects every posting it did not see to be in the tail.
    if (this.tailSize >= this.tailMax && !this.job?.renumbers) this.freeze();
  }

  /** Removes a memory (a no-op if the index does not hold it). */
  delete(memoryId: number): void {
    const doc = this.docOf.get(memoryId);
    if (doc < 0) return;
    this.docOf.delete(memoryId);
    this.dead[doc] = 1;
    this.liveDocs--;
    this.totalLength -= this.lengths[doc];
    this.deadDocs++;
    this.epoch++;
  }

  /**
   * Scores every memory holding a word of the query with BM25. `groups` are alternatives for
   * each query word (the word's stem, or stems of spelling corrections); a memory matching every
   * group is a full match. The lists are reused: they are valid until the next call.
   */
  match(groups: string[][]): IndexMatches {
    this.clearScratch();
    const n = this.liveDocs;
    const avgLength = n > 0 ? this.totalLength / n : 1;
    if (this.scores.length < this.docCount) {
      this.scores = grown(this.scores, this.docCount);
      this.masks = grown(this.masks, this.docCount);
    }
    const { scores, masks, lengths } = this;
    // Most indexes have no removed documents between merges: then nothing needs checking.
    const dead = this.deadDocs > 0 ? this.dead : undefined;
    // K1 * (1 - B + B * length / avgLength), as a + b * length.
    const normBase = K1 * (1 - B);
    const normPerToken = (K1 * B) / avgLength;
    let touchedCount = 0;
    let fullMask = 0;
    const add = (doc: number, f: number, bit: number, weight: number) => {
      if (masks[doc] === 0) this.touched[touchedCount++] = doc;
      masks[doc] |= bit;
      scores[doc] += (weight * f) / (f + normBase + normPerToken * lengths[doc]);
    };
    for (let g = 0; g < groups.length && g < 16; g++) {
      const bit = 1 << g;
      fullMask |= bit;
      for (const stem of groups[g]) {
        const term = this.dict.get(stem);
        if (term < 0) continue;
        const live = this.liveCount(term);
        if (live === 0) continue;
        const weight = fts5Idf(n, live) * (K1 + 1);
        const need = touchedCount + this.rawCount(term);
        if (this.touched.length < need) this.touched = grown(this.touched, need);
        for (const seg of this.segments) {
          const k = findTerm(seg, term);
          if (k < 0) continue;
          // The gaps decoded in place (as readDocs does): the hottest loop of recall.
          const { gaps, freqs, over } = seg;
          const end = seg.offsets[k + 1];
          let at = seg.starts[k];
          let doc = 0;
          for (let j = seg.offsets[k]; j < end; j++) {
            let b = gaps[at++];
            if (b < 128) doc += b;
            else {
              let gap = b & 127;
              for (let shift = 7; b > 127; shift += 7) {
                b = gaps[at++];
                gap |= (b & 127) << shift;
              }
              doc += gap >>> 0;
            }
            if (dead !== undefined && dead[doc]) continue;
            const f = freqs[j];
            add(doc, f === FREQ_CAP ? over.get(j)! : f, bit, weight);
          }
        }
        for (let at = this.tailHead.get(term) ?? -1; at >= 0; at = this.tailNext[at]) {
          const doc = this.tailDoc[at];
          if (dead === undefined || !dead[doc]) add(doc, this.tailFreq[at], bit, weight);
        }
      }
    }
    const { full, partial, touched, memoryIds } = this;
    full.clear();
    for (let i = 0; i < touchedCount; i++) {
      const doc = touched[i];
      if (masks[doc] === fullMask) full.push(memoryIds[doc], scores[doc]);
    }
    // The partial matches' scores stay in the scratch arrays until they are listed or the next
    // match clears them.
    this.pendingTouched = touchedCount;
    let listed = false;
    return {
      full,
      partial: () => {
        if (listed) return partial;
        listed = true;
        partial.clear();
        for (let i = 0; i < this.pendingTouched; i++) {
          const doc = touched[i];
          if (masks[doc] !== fullMask) partial.push(memoryIds[doc], scores[doc]);
        }
        return partial;
      },
    };
  }

  /** Zeroes the scores and masks the last match left (they must be zero before the next one). */
  private clearScratch(): void {
    const { touched, scores, masks } = this;
    for (let i = 0; i < this.pendingTouched; i++) {
      const doc = touched[i];
      scores[doc] = 0;
      masks[doc] = 0;
    }
    this.pendingTouched = 0;
  }

  /** Postings of a term, removed documents included. */
  private rawCount(term: number): number {
    let n = this.tailCount.get(term) ?? 0;
    for (const seg of this.segments) {
      const k = findTerm(seg, term);
      if (k >= 0) n += seg.offsets[k + 1] - seg.offsets[k];
    }
    return n;
  }

  /** Live documents with a term: its postings less those of removed documents (counted once per epoch). */
  private liveCount(term: number): number {
    const raw = this.rawCount(term);
    if (this.deadDocs === 0 || raw === 0) return raw;
    if (this.deadCacheEpoch !== this.epoch || this.deadCache.size > 100_000) {
      this.deadCache.clear();
      this.deadCacheEpoch = this.epoch;
    }
    let flagged = this.deadCache.get(term);
    if (flagged === undefined) {
      flagged = 0;
      const { dead } = this;
      for (const seg of this.segments) {
        const k = findTerm(seg, term);
        if (k < 0) continue;
        const docs = (this.decoded = readDocs(seg, k, this.decoded));
        const count = seg.offsets[k + 1] - seg.offsets[k];
        for (let i = 0; i < count; i++) flagged += dead[docs[i]];
      }
      for (let at = this.tailHead.get(term) ?? -1; at >= 0; at = this.tailNext[at]) flagged += dead[this.tailDoc[at]];
      this.deadCache.set(term, flagged);
    }
    return raw - flagged;
  }

  /** Turns the tail into a segment (postings of removed documents left out). */
  freeze(): void {
    // A renumbering merge moves the tail's documents when it ends: the tail stays until then.
    if (this.tailSize === 0 || this.job?.renumbers) return;
    const terms = Uint32Array.from(this.tailHead.keys()).sort();
    const slot = new Map<number, number>();
    const offsets = new Uint32Array(terms.length + 1);
    let total = 0;
    for (let i = 0; i < terms.length; i++) {
      slot.set(terms[i], i);
      offsets[i] = total;
      total += this.tailCount.get(terms[i])!;
    }
    offsets[terms.length] = total;
    const cursor = offsets.slice(0, terms.length);
    const docs = new Uint32Array(total);
    const counts = new Uint32Array(total);
    // In the order added, so documents ascend within each term.
    for (let at = 0; at < this.tailSize; at++) {
      const pos = cursor[slot.get(this.tailTerm[at])!]++;
      docs[pos] = this.tailDoc[at];
      counts[pos] = this.tailFreq[at];
    }
    // Without the postings of removed documents, coded as gaps.
    const keptTerms: number[] = [];
    const keptOffsets: number[] = [];
    const starts: number[] = [];
    const writer = new GapWriter(total * 2);
    const freqs = new Uint8Array(total);
    const over = new Map<number, number>();
    let np = 0;
    for (let k = 0; k < terms.length; k++) {
      const begin = np;
      const byteBegin = writer.at;
      writer.startTerm();
      for (let j = offsets[k]; j < offsets[k + 1]; j++) {
        const doc = docs[j];
        if (this.dead[doc]) continue;
        writer.push(doc);
        freqs[np] = Math.min(counts[j], FREQ_CAP);
        if (counts[j] >= FREQ_CAP) over.set(np, counts[j]);
        np++;
      }
      if (np === begin) continue;
      keptTerms.push(terms[k]);
      keptOffsets.push(begin);
      starts.push(byteBegin);
    }
    keptOffsets.push(np);
    starts.push(writer.at);
    this.segments.push({
      terms: Uint32Array.from(keptTerms),
      offsets: Uint32Array.from(keptOffsets),
      starts: Uint32Array.from(starts),
      gaps: writer.done(),
      freqs: freqs.slice(0, np),
      over,
    });
    this.tailSize = 0;
    this.tailHead.clear();
    this.tailCount.clear();
    if (this.tailTerm.length > 4 * this.tailMax) {
      // A tail that grew during a renumbering merge goes back to its usual size.
      this.tailTerm = new Uint32Array(this.tailMax);
      this.tailDoc = new Uint32Array(this.tailMax);
      this.tailFreq = new Uint32Array(this.tailMax);
      this.tailNext = new Int32Array(this.tailMax);
    }
    this.epoch++;
  }

  /**
   * The merge the index needs next, if any (the caller runs it a slice at a time): segments of
   * similar size are merged, so there are about log2(postings / tail) of them and a posting is
   * copied about as many times; and once removed documents are a quarter of all, everything is
   * merged and renumbered so their slots go too.
   */
  mergeJob(): MergeJob | undefined {
    if (this.job) return this.job;
    const segs = this.segments;
    if (this.deadDocs > this.renumberAfter && this.deadDocs * 4 > this.docCount) {
      this.freeze();
      return (this.job = this.merging(0, segs.length - 1, true));
    }
    // Sizes should fall by half or more from each segment to the next (merges that finish while
    // newer segments were added leave a smaller one before a larger one): the cheapest pair that
    // breaks the order is merged, or the cheapest pair of all past 16 segments.
    let best = -1;
    const postings = (i: number) => segs[i].freqs.length;
    const cost = (i: number) => postings(i) + postings(i + 1);
    for (let i = 0; i + 1 < segs.length; i++) if (postings(i + 1) * 2 > postings(i) && (best < 0 || cost(i) < cost(best))) best = i;
    if (best < 0 && segs.length > 16) for (let i = 0; i + 1 < segs.length; i++) if (best < 0 || cost(i) < cost(best)) best = i;
    if (best >= 0) return (this.job = this.merging(best, best + 1, false));
    return undefined;
  }

  /** Merges everything into one segment and renumbers the documents (what tests and small indexes use). */
  compact(): void {
    this.freeze();
    this.job?.step(Infinity);
    if (this.segments.length > 1 || this.deadDocs > 0) (this.job = this.merging(0, this.segments.length - 1, true)).step(Infinity);
  }

  /** The index as arrays, for the index file: the tail becomes a segment first. Arrays that change later are copied. */
  parts(): WordIndexParts {
    this.job?.step(Infinity);
    this.freeze();
    const dict = this.dict.parts();
    return {
      dict: { ...dict, table: dict.table.slice() },
      segments: [...this.segments],
      memoryIds: this.memoryIds.subarray(0, this.docCount),
      lengths: this.lengths.subarray(0, this.docCount),
      dead: this.dead.slice(0, this.docCount),
    };
  }

  /** What the index holds, for statistics. */
  stats(): { terms: number; postings: number; segments: number; documents: number; removed: number; bytes: number } {
    let postings = this.tailSize;
    let bytes = this.dict.bytes + this.docOf.bytes;
    for (const s of this.segments) {
      postings += s.freqs.length;
      bytes += s.terms.byteLength + s.offsets.byteLength + s.starts.byteLength + s.gaps.byteLength + s.freqs.byteLength + s.over.size * 40;
    }
    bytes += this.tailTerm.byteLength * 4 + this.tailHead.size * 80;
    bytes += this.memoryIds.byteLength + this.lengths.byteLength + this.dead.byteLength;
    bytes += this.scores.byteLength + this.masks.byteLength + this.touched.byteLength;
    return { terms: this.dict.size, postings, segments: this.segments.length, documents: this.docCount, removed: this.deadDocs, bytes };
  }

  /**
   * Merges segments from..to into one. Without renumbering, documents keep their numbers and
   * postings of removed ones are dropped. Renumbering (every segment, tail empty when it starts)
   * also gives the documents alive at the start consecutive numbers, so removed ones stop taking
   * room; documents added meanwhile are in the tail and move down with the rest.
   */
  private merging(from: number, to: number, renumber: boolean): MergeJob & { renumbers: boolean } {
    const parts = this.segments.slice(from, to + 1);
    const startDocs = this.docCount;
    let map: Int32Array | undefined;
    let kept = 0;
    if (renumber) {
      map = new Int32Array(startDocs);
      for (let doc = 0; doc < startDocs; doc++) map[doc] = this.dead[doc] ? -1 : kept++;
    }
    let termBound = 0;
    let postingBound = 0;
    let byteBound = 0;
    for (const p of parts) {
      termBound += p.terms.length;
      postingBound += p.freqs.length;
      byteBound += p.gaps.length;
    }
    const terms = new Uint32Array(termBound);
    const offsets = new Uint32Array(termBound + 1);
    const starts = new Uint32Array(termBound + 1);
    // Dropping or renumbering documents never makes a gap take more bytes than the ones it
    // replaces, and a part's first document was written as itself: the parts' bytes are a bound.
    const gaps = new GapWriter(byteBound);
    const freqs = new Uint8Array(postingBound);
    const over = new Map<number, number>();
    const cursors = new Uint32Array(parts.length);
    let decoded: Uint32Array = new Uint32Array(1024);
    let nt = 0;
    let np = 0;
    const dead = () => this.dead;

    const finish = () => {
      offsets[nt] = np;
      starts[nt] = gaps.at;
      const trim = <T extends Uint8Array | Uint32Array>(a: T, n: number): T => (n > a.length * 0.9 ? (a.subarray(0, n) as T) : (a.slice(0, n) as T));
      const merged: Segment = { terms: trim(terms, nt), offsets: trim(offsets, nt + 1), starts: trim(starts, nt + 1), gaps: gaps.done(), freqs: trim(freqs, np), over };
      this.segments.splice(from, to - from + 1, merged);
      if (map) this.renumbered(map, kept, startDocs);
      this.epoch++;
      this.job = undefined;
    };

    const step = (budgetMs: number): boolean => {
      const started = performance.now();
      const flags = dead();
      for (let round = 1; ; round++) {
        let term = Infinity;
        for (let k = 0; k < parts.length; k++) if (cursors[k] < parts[k].terms.length && parts[k].terms[cursors[k]] < term) term = parts[k].terms[cursors[k]];
        if (term === Infinity) {
          finish();
          return true;
        }
        const begin = np;
        const byteBegin = gaps.at;
        gaps.startTerm();
        // Parts in order: each one's documents come after the one before's.
        for (let k = 0; k < parts.length; k++) {
          const p = parts[k];
          const c = cursors[k];
          if (c >= p.terms.length || p.terms[c] !== term) continue;
          cursors[k]++;
          decoded = readDocs(p, c, decoded);
          const first = p.offsets[c];
          const count = p.offsets[c + 1] - first;
          for (let i = 0; i < count; i++) {
            const doc = decoded[i];
            const to = map ? map[doc] : flags[doc] ? -1 : doc;
            if (to < 0) continue;
            gaps.push(to);
            const f = p.freqs[first + i];
            freqs[np] = f;
            if (f === FREQ_CAP) over.set(np, p.over.get(first + i)!);
            np++;
          }
        }
        if (np > begin) {
          terms[nt] = term;
          offsets[nt] = begin;
          starts[nt] = byteBegin;
          nt++;
        }
        if ((round & 63) === 0 && performance.now() - started > budgetMs) return false;
      }
    };
    return { step, renumbers: renumber };
  }

  /** Gives documents their numbers after a renumbering merge (see merging). */
  private renumbered(map: Int32Array, kept: number, startDocs: number): void {
    const shift = startDocs - kept;
    const count = this.docCount - shift;
    const memoryIds = new Float64Array(Math.max(1024, count));
    const lengths = new Uint32Array(memoryIds.length);
    const dead = new Uint8Array(memoryIds.length);
    for (let doc = 0; doc < this.docCount; doc++) {
      const to = doc < startDocs ? map[doc] : doc - shift;
      if (to < 0) continue;
      memoryIds[to] = this.memoryIds[doc];
      lengths[to] = this.lengths[doc];
      dead[to] = this.dead[doc];
    }
    for (let at = 0; at < this.tailSize; at++) this.tailDoc[at] -= shift;
    this.memoryIds = memoryIds;
    this.lengths = lengths;
    this.dead = dead;
    this.docCount = count;
    this.docOf = new IdMap();
    this.deadDocs = 0;
    for (let doc = 0; doc < count; doc++) {
      if (dead[doc]) this.deadDocs++;
      else this.docOf.set(memoryIds[doc], doc, count);
    }
    this.scores = new Float64Array(Math.max(1024, count));
    this.masks = new Uint16Array(this.scores.length);
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
      this.ids = grown(this.ids, this.length * 2);
      this.scores = grown(this.scores, this.length * 2);
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
