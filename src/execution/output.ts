// Keeping results small: what `execute` returns inline is the head and tail of each stream;
// the full capture stays in a file, readable page by page.
import fs from 'node:fs';

export function inline(head: string, tail: string, bytes: number, id: number, stream: string): string {
  if (!tail) return head;
  const shown = Buffer.byteLength(head) + Buffer.byteLength(tail);
  const omitted = Math.max(0, bytes - shown);
  if (omitted === 0) return head + tail;
  return `${head}\n…[${omitted} bytes omitted; read them with executions {"id": ${id}, "stream": "${stream}", "offset": ${Buffer.byteLength(head)}}]…\n${tail}`;
}

export interface Page {
  text: string;
  offset: number;
  length: number;
  total: number;
  next_offset?: number;
}

/** A slice of a stored stream, by byte offset. */
export function readPage(file: string, offset: number, length: number): Page {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return { text: '', offset, length: 0, total: 0 };
  }
  try {
    const total = fs.fstatSync(fd).size;
    const start = Math.min(offset, total);
    let n = Math.max(0, Math.min(length, total - start));
    const buf = Buffer.alloc(n);
    fs.readSync(fd, buf, 0, n, start);
    // A page that stops inside a UTF-8 character ends before it, so pages joined give the text back.
    if (start + n < total) n = wholeCharacters(buf, n);
    const end = start + n;
    return { text: buf.subarray(0, n).toString('utf8'), offset: start, length: n, total, ...(end < total ? { next_offset: end } : {}) };
  } finally {
    fs.closeSync(fd);
  }
}

/** How many of the first n bytes end on a character boundary (n itself when the last sequence is whole, or on bytes that are not UTF-8). */
function wholeCharacters(buf: Buffer, n: number): number {
  for (let i = n - 1; i >= Math.max(0, n - 4); i--) {
    const b = buf[i];
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: its lead is further back
    const size = b < 0x80 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return i + size > n && i > 0 ? i : n;
  }
  return n;
}
