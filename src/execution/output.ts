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
    const n = Math.max(0, Math.min(length, total - start));
    const buf = Buffer.alloc(n);
    fs.readSync(fd, buf, 0, n, start);
    const end = start + n;
    return { text: buf.toString('utf8'), offset: start, length: n, total, ...(end < total ? { next_offset: end } : {}) };
  } finally {
    fs.closeSync(fd);
  }
}
