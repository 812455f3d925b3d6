// A dictionary of strings (index terms, stored words) numbered 0, 1, 2, ... in the order they
// were added, held in a few typed arrays instead of one JavaScript string and Map entry each.
//
// Why: a Map<string, number> costs about 80-100 bytes per entry (the string object, the entry,
// the table's slack); at a million distinct terms that is 80-100 MB per process. Here a term costs
// its UTF-16 characters (2 bytes each), an offset, a hash and two table slots: about 30 bytes for a
// typical 8-letter term. The arrays can also be written to and read back from the index file as
// they are (index-file.ts), so loading needs no rehashing.

const EMPTY = 0;

/** Rows reused by distanceTo (one thread, no re-entry). */
let rowA = new Int32Array(64);
let rowB = new Int32Array(64);
let rowC = new Int32Array(64);

function hashOf(s: string): number {
  // FNV-1a over UTF-16 code units.
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The arrays that make up a dictionary (what the index file stores). */
export interface TermDictParts {
  chars: Uint16Array;
  /** Where term i starts in chars; offsets[size] is the end of the last one. */
  offsets: Uint32Array;
  hashes: Uint32Array;
  /** Open addressing, linear probing: term id + 1 per slot, 0 for an empty slot. Power-of-two size. */
  table: Int32Array;
}

export class TermDict {
  private chars: Uint16Array;
  private charCount: number;
  private offsets: Uint32Array;
  private hashes: Uint32Array;
  private table: Int32Array;
  private count: number;

  constructor(parts?: TermDictParts) {
    if (parts) {
      this.count = parts.offsets.length - 1;
      this.chars = parts.chars;
      this.charCount = parts.offsets[this.count];
      this.offsets = parts.offsets;
      this.hashes = parts.hashes;
      this.table = parts.table;
    } else {
      this.count = 0;
      this.chars = new Uint16Array(1024);
      this.charCount = 0;
      this.offsets = new Uint32Array(129);
      this.hashes = new Uint32Array(128);
      this.table = new Int32Array(256);
    }
  }

  get size(): number {
    return this.count;
  }

  /** The id of a term, or -1 when it is not in the dictionary. */
  get(term: string): number {
    return this.find(term, hashOf(term));
  }

  /** The id of a term, added when new. */
  add(term: string): number {
    const hash = hashOf(term);
    const found = this.find(term, hash);
    if (found >= 0) return found;
    const id = this.count;
    // Each array checked on its own: they grow by a factor of their own lengths, which differ.
    this.offsets = grown(this.offsets, id + 2);
    this.hashes = grown(this.hashes, id + 1);
    if (this.charCount + term.length > this.chars.length) this.chars = grown(this.chars, this.charCount + term.length);
    for (let i = 0; i < term.length; i++) this.chars[this.charCount + i] = term.charCodeAt(i);
    this.charCount += term.length;
    this.offsets[id] = this.charCount - term.length;
    this.offsets[id + 1] = this.charCount;
    this.hashes[id] = hash;
    this.count++;
    if (this.count * 2 > this.table.length) this.rehash(this.table.length * 2);
    else this.place(id, hash);
    return id;
  }

  /** The term with this id. */
  termAt(id: number): string {
    const start = this.offsets[id];
    const end = this.offsets[id + 1];
    // fromCharCode takes its arguments on the stack: fine for words (at most a few hundred characters).
    return String.fromCharCode.apply(null, this.chars.subarray(start, end) as unknown as number[]);
  }

  /**
   * editDistance (src/text/fuzzy.ts) from `word` to the term with this id, read in place: no
   * string is made, rows are reused, and only cells within `max` of the diagonal are computed (any
   * other is over max). Equal to editDistance whenever that is at most max; over max otherwise.
   * Typo lookups check hundreds of candidates a word: this took the 500 checks of a misspelled
   * word from about 0.5 ms to 0.05 ms.
   */
  distanceTo(id: number, word: string, max: number): number {
    const start = this.offsets[id];
    const n = this.offsets[id + 1] - start;
    const m = word.length;
    if (Math.abs(m - n) > max) return max + 1;
    if (rowA.length < n + 1) {
      rowA = new Int32Array(n + 1);
      rowB = new Int32Array(n + 1);
      rowC = new Int32Array(n + 1);
    }
    const chars = this.chars;
    const cap = max + 1;
    let prev2 = rowA;
    let prev = rowB;
    let cur = rowC;
    for (let j = 0; j <= n; j++) prev[j] = j <= max ? j : cap;
    for (let i = 1; i <= m; i++) {
      const lo = Math.max(1, i - max);
      const hi = Math.min(n, i + max);
      cur[0] = i <= max ? i : cap;
      if (lo > 1) cur[lo - 1] = cap;
      let rowMin = cur[0];
      const a = word.charCodeAt(i - 1);
      const aBefore = i > 1 ? word.charCodeAt(i - 2) : -1;
      for (let j = lo; j <= hi; j++) {
        const b = chars[start + j - 1];
        let v = prev[j - 1] + (a === b ? 0 : 1);
        if (prev[j] + 1 < v) v = prev[j] + 1;
        if (cur[j - 1] + 1 < v) v = cur[j - 1] + 1;
        if (j > 1 && a === chars[start + j - 2] && aBefore === b && prev2[j - 2] + 1 < v) v = prev2[j - 2] + 1;
        cur[j] = v > cap ? cap : v;
        if (v < rowMin) rowMin = v;
      }
      if (hi < n) cur[hi + 1] = cap;
      if (rowMin > max) return cap;
      const t = prev2;
      prev2 = prev;
      prev = cur;
      cur = t;
    }
    return prev[n];
  }

  /** Length of the term with this id, without making a string of it. */
  lengthOf(id: number): number {
    return this.offsets[id + 1] - this.offsets[id];
  }

  /** The arrays, trimmed to what is used (views, not copies: write them before the next add). */
  parts(): TermDictParts {
    return {
      chars: this.chars.subarray(0, this.charCount),
      offsets: this.offsets.subarray(0, this.count + 1),
      hashes: this.hashes.subarray(0, this.count),
      table: this.table,
    };
  }

  /** Bytes held (for memory statistics). */
  get bytes(): number {
    return this.chars.byteLength + this.offsets.byteLength + this.hashes.byteLength + this.table.byteLength;
  }

  private find(term: string, hash: number): number {
    const mask = this.table.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const entry = this.table[slot];
      if (entry === EMPTY) return -1;
      const id = entry - 1;
      if (this.hashes[id] === hash && this.equals(id, term)) return id;
    }
  }

  private equals(id: number, term: string): boolean {
    const start = this.offsets[id];
    if (this.offsets[id + 1] - start !== term.length) return false;
    for (let i = 0; i < term.length; i++) if (this.chars[start + i] !== term.charCodeAt(i)) return false;
    return true;
  }

  private place(id: number, hash: number): void {
    const mask = this.table.length - 1;
    let slot = hash & mask;
    while (this.table[slot] !== EMPTY) slot = (slot + 1) & mask;
    this.table[slot] = id + 1;
  }

  private rehash(size: number): void {
    this.table = new Int32Array(size);
    for (let id = 0; id < this.count; id++) this.place(id, this.hashes[id]);
  }
}

/** Arrays past this many elements grow by a quarter, smaller ones by half (see grown). */
const LARGE_ARRAY = 1 << 16;

/**
 * A copy of `a` with room for at least `need` elements (arrays loaded from a file have none
 * spare). Large arrays grow by a quarter: at a million memories the first writes after loading
 * the file grew every column and dictionary at once, and by half (or double, as the term
 * dictionaries did) that was 100 MB more resident memory for 1,300 new memories.
 */
export function grown<T extends Uint8Array | Uint16Array | Uint32Array | Int32Array | Float32Array | Float64Array>(a: T, need: number): T {
  if (need <= a.length) return a;
  const factor = a.length > LARGE_ARRAY ? 1.25 : 1.5;
  const next = new (a.constructor as new (n: number) => T)(Math.max(need, Math.ceil(a.length * factor), 16));
  next.set(a);
  return next;
}
