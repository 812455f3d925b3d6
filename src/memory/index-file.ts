// The recall index saved next to the database (`<database>.recall`), so that a process starting on
// a large file loads the index in a fraction of a second instead of building it from every row
// (a minute of CPU at a million memories), and processes sharing a file build it once between them.
//
// The file is a snapshot as of one memory_changes.seq; a process that loads it applies the logged
// changes since (live-index.ts). Which database a snapshot belongs to is recorded in that database
// (recall_index_file: the snapshot's random token and seq, written in the same transaction that
// puts the file in place). A file whose token is not the database's (a restored backup, a copied
// file, a crash between the two steps) is still used, but checked row by row against the database
// before it serves a search. The file is only ever replaced whole (written aside, then renamed),
// so a reader never sees half of one.
//
// Layout: "BRAINRIX", the header's length (4 bytes, little-endian) and the header (JSON), then
// every array at an 8-byte aligned offset the header gives. Arrays are written as they are in
// memory and read back into arrays of their own (no copy of the whole file stays around).
import fs from 'node:fs';
import type { DocTableParts } from './doc-table.js';
import type { TermDictParts } from './term-dict.js';
import type { Segment, WordIndexParts } from './word-index.js';
import type { WordListParts } from './word-list.js';

const MAGIC = 'BRAINRIX';
/**
 * Bump when the layout or what the index holds changes (the tokenizer, stopwords, stemming, column
 * weights): a file of another format is ignored and the index is built again.
 */
export const INDEX_FORMAT = 2;

export interface Snapshot {
  token: string;
  /** The last memory_changes.seq the snapshot reflects. */
  seq: number;
  /** When it was written (ms): access statistics recorded since are read again on load. */
  writtenAt: number;
  words: WordIndexParts;
  docs: DocTableParts;
  wordList: WordListParts;
}

type Kind = 'f64' | 'u32' | 'i32' | 'u16' | 'u8';
type AnyArray = Float64Array | Uint32Array | Int32Array | Uint16Array | Uint8Array;
const CONSTRUCTORS: Record<Kind, new (n: number) => AnyArray> = { f64: Float64Array, u32: Uint32Array, i32: Int32Array, u16: Uint16Array, u8: Uint8Array };

function kindOf(a: AnyArray): Kind {
  if (a instanceof Float64Array) return 'f64';
  if (a instanceof Uint32Array) return 'u32';
  if (a instanceof Int32Array) return 'i32';
  if (a instanceof Uint16Array) return 'u16';
  return 'u8';
}

interface Header {
  magic: typeof MAGIC;
  format: number;
  token: string;
  seq: number;
  writtenAt: number;
  segments: number;
  lastTermId: number;
  strings: DocTableParts['strings'];
  arrays: { name: string; kind: Kind; offset: number; length: number }[];
  /** Where the file ends: a shorter file was cut off. */
  end: number;
}

function overPairs(over: Map<number, number>): Float64Array {
  const pairs = new Float64Array(over.size * 2);
  let i = 0;
  for (const [pos, f] of over) {
    pairs[i++] = pos;
    pairs[i++] = f;
  }
  return pairs;
}

function dictArrays(prefix: string, d: TermDictParts): [string, AnyArray][] {
  return [
    [`${prefix}.chars`, d.chars],
    [`${prefix}.offsets`, d.offsets],
    [`${prefix}.hashes`, d.hashes],
    [`${prefix}.table`, d.table],
  ];
}

function arraysOf(s: Snapshot): [string, AnyArray][] {
  const out: [string, AnyArray][] = [...dictArrays('terms', s.words.dict)];
  s.words.segments.forEach((seg, i) => {
    out.push(
      [`seg${i}.terms`, seg.terms], [`seg${i}.offsets`, seg.offsets], [`seg${i}.starts`, seg.starts], [`seg${i}.gaps`, seg.gaps],
      [`seg${i}.freqs`, seg.freqs], [`seg${i}.over`, overPairs(seg.over)],
    );
  });
  out.push(['doc.memoryIds', s.words.memoryIds], ['doc.lengths', s.words.lengths], ['doc.dead', s.words.dead]);
  const d = s.docs;
  out.push(
    ['mem.ids', d.ids], ['mem.project', d.project], ['mem.type', d.type], ['mem.tags', d.tags], ['mem.tier', d.tier],
    ['mem.importance', d.importance], ['mem.access', d.access], ['mem.lastUsed', d.lastUsed], ['mem.updated', d.updated],
    ['mem.version', d.version], ['mem.keyHash', d.keyHash], ['mem.expires', d.expires],
  );
  out.push(...dictArrays('words', s.wordList.words), ...dictArrays('grams', s.wordList.grams));
  out.push(['wordList.offsets', s.wordList.offsets], ['wordList.postings', s.wordList.postings]);
  return out;
}

const align = (n: number) => Math.ceil(n / 8) * 8;

/** Writes a snapshot to `file` (a temporary name: the caller renames it into place). */
export async function writeIndexFile(file: string, s: Snapshot): Promise<void> {
  const arrays = arraysOf(s);
  const layout: Header['arrays'] = [];
  // The header's size depends on the offsets in it: lay out after a generous guess, then check.
  let headerRoom = 4096 + arrays.length * 80 + JSON.stringify(s.docs.strings).length * 2;
  for (;;) {
    layout.length = 0;
    let at = align(12 + headerRoom);
    for (const [name, a] of arrays) {
      layout.push({ name, kind: kindOf(a), offset: at, length: a.length });
      at = align(at + a.byteLength);
    }
    const header: Header = {
      magic: MAGIC, format: INDEX_FORMAT, token: s.token, seq: s.seq, writtenAt: s.writtenAt, segments: s.words.segments.length,
      lastTermId: s.wordList.lastTermId, strings: s.docs.strings, arrays: layout, end: at,
    };
    const json = Buffer.from(JSON.stringify(header));
    if (json.length > headerRoom) {
      headerRoom = json.length * 2;
      continue;
    }
    const handle = await fs.promises.open(file, 'w', 0o600);
    try {
      const lead = Buffer.alloc(12);
      lead.write(MAGIC, 0, 'latin1');
      lead.writeUInt32LE(json.length, 8);
      await handle.write(lead, 0, 12, 0);
      await handle.write(json, 0, json.length, 12);
      for (const [i, [, a]] of arrays.entries()) {
        // In pieces, so one write never holds a large copy (the arrays are written as they are).
        const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
        for (let off = 0; off < bytes.length; off += 8 << 20) {
          const piece = bytes.subarray(off, Math.min(bytes.length, off + (8 << 20)));
          await handle.write(piece, 0, piece.length, layout[i].offset + off);
        }
      }
      await handle.truncate(at);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    return;
  }
}

/** Reads a snapshot, or undefined when there is none or it is of another format or damaged. */
export async function readIndexFile(file: string): Promise<Snapshot | undefined> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const { size } = await handle.stat();
    const lead = Buffer.alloc(12);
    if (size < 12 || (await handle.read(lead, 0, 12, 0)).bytesRead < 12 || lead.toString('latin1', 0, 8) !== MAGIC) return undefined;
    const jsonLength = lead.readUInt32LE(8);
    if (jsonLength > size) return undefined;
    const json = Buffer.alloc(jsonLength);
    await handle.read(json, 0, jsonLength, 12);
    const header = JSON.parse(json.toString()) as Header;
    if (header.magic !== MAGIC || header.format !== INDEX_FORMAT || header.end !== size) return undefined;
    const arrays = new Map<string, AnyArray>();
    for (const entry of header.arrays) {
      const a = new CONSTRUCTORS[entry.kind](entry.length);
      const bytes = new Uint8Array(a.buffer);
      let done = 0;
      while (done < bytes.length) {
        const { bytesRead } = await handle.read(bytes, done, bytes.length - done, entry.offset + done);
        if (bytesRead === 0) return undefined;
        done += bytesRead;
      }
      arrays.set(entry.name, a);
    }
    return snapshotOf(header, arrays);
  } catch {
    return undefined;
  } finally {
    await handle.close();
  }
}

function snapshotOf(h: Header, arrays: Map<string, AnyArray>): Snapshot | undefined {
  const get = <T extends AnyArray>(name: string): T => {
    const a = arrays.get(name);
    if (!a) throw new Error(`index file: no array ${name}`);
    return a as T;
  };
  const dict = (prefix: string): TermDictParts => ({ chars: get(`${prefix}.chars`), offsets: get(`${prefix}.offsets`), hashes: get(`${prefix}.hashes`), table: get(`${prefix}.table`) });
  const segments: Segment[] = [];
  for (let i = 0; i < h.segments; i++) {
    const pairs = get<Float64Array>(`seg${i}.over`);
    const over = new Map<number, number>();
    for (let j = 0; j + 1 < pairs.length; j += 2) over.set(pairs[j], pairs[j + 1]);
    segments.push({ terms: get(`seg${i}.terms`), offsets: get(`seg${i}.offsets`), starts: get(`seg${i}.starts`), gaps: get(`seg${i}.gaps`), freqs: get(`seg${i}.freqs`), over });
  }
  return {
    token: h.token,
    seq: h.seq,
    writtenAt: h.writtenAt,
    words: { dict: dict('terms'), segments, memoryIds: get('doc.memoryIds'), lengths: get('doc.lengths'), dead: get('doc.dead') },
    docs: {
      ids: get('mem.ids'), project: get('mem.project'), type: get('mem.type'), tags: get('mem.tags'), tier: get('mem.tier'),
      importance: get('mem.importance'), access: get('mem.access'), lastUsed: get('mem.lastUsed'), updated: get('mem.updated'),
      version: get('mem.version'), keyHash: get('mem.keyHash'), expires: get('mem.expires'), strings: h.strings,
    },
    wordList: { words: dict('words'), grams: dict('grams'), offsets: get('wordList.offsets'), postings: get('wordList.postings'), lastTermId: h.lastTermId },
  };
}
