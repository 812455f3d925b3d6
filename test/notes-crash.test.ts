// Crash safety: the real server is killed with SIGKILL in the middle of many note writes. Every
// note file must then be whole (the old or the new version, never a mix), every acknowledged write
// must be on disk, and after a restart the index must agree with the files.
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { brainEnv, call, startBrain, tempDir, type Connected } from './helpers/brain.js';

const NOTES = 8;
const ROUNDS = 3;
const FILLER_LINES = 3000; // ~200 KB per note: a write takes long enough to be cut in half
const FILLER = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor\n';

const token = (i: number, v: number) => `zq${i}v${v}x`;
const body = (i: number, v: number) => `note ${i} version ${v} ${token(i, v)}\n${FILLER.repeat(FILLER_LINES)}END ${i} ${v}\n`;
const WHOLE = /^---\n[\s\S]*?\n---\nnote (\d+) version (\d+) zq\d+v\d+x\n((?:lorem[^\n]*\n)*)END (\d+) (\d+)\n$/;

let dir: string;
let brain: Connected | undefined;

// The SDK's stdio client waits for 'drain' once per write the pipe cannot take at once: eight
// writers of 200 KB notes, and the writes still queued when the server is killed, pass the
// default limit of 10 listeners, which only prints a warning about a leak that is not one.
const defaultMaxListeners = EventEmitter.defaultMaxListeners;
beforeEach(() => {
  dir = tempDir('brain-crash-');
  EventEmitter.defaultMaxListeners = 4 * NOTES;
});
afterEach(async () => {
  EventEmitter.defaultMaxListeners = defaultMaxListeners;
  await brain?.close().catch(() => {});
  brain = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

const folder = () => path.join(dir, 'notes', '_global');

interface OnDisk {
  version: number;
  hash: string;
  body: string;
}

/** Every note file is one whole version, at least the last acknowledged one. */
function checkFiles(acked: number[]): OnDisk[] {
  const files = fs.readdirSync(folder()).filter((f) => !f.startsWith('.'));
  expect(files.sort()).toEqual(Array.from({ length: NOTES }, (_, i) => `crash-note-${i}.md`).sort());
  return acked.map((last, i) => {
    const bytes = fs.readFileSync(path.join(folder(), `crash-note-${i}.md`));
    const m = WHOLE.exec(bytes.toString('utf8'));
    expect(m, `crash-note-${i}.md is whole`).not.toBeNull();
    const version = Number(m![2]);
    expect([Number(m![1]), Number(m![4]), Number(m![5])]).toEqual([i, i, version]);
    expect(m![3].length).toBe(FILLER.length * FILLER_LINES);
    // An acknowledged write is on disk; at most the one in flight may have landed beyond it.
    expect(version).toBeGreaterThanOrEqual(last);
    expect(version).toBeLessThanOrEqual(last + 1);
    return { version, hash: createHash('sha256').update(bytes).digest('hex').slice(0, 16), body: body(i, version) };
  });
}

/** After a restart the index (list hashes, search words) matches the files exactly. */
async function checkIndex(c: Connected['client'], onDisk: OnDisk[]) {
  const listed = await call<{ total: number; notes: { path: string; hash: string }[] }>(c, 'note', { action: 'list', limit: 50 });
  expect(listed.total).toBe(NOTES);
  for (let i = 0; i < NOTES; i++) {
    expect(listed.notes.find((n) => n.path === `crash-note-${i}.md`)?.hash, `index hash of note ${i}`).toBe(onDisk[i].hash);
    const found = await call<{ results: { path: string }[] }>(c, 'search', { query: token(i, onDisk[i].version), in: 'notes' });
    expect(found.results.map((r) => r.path)).toEqual([`crash-note-${i}.md`]);
    if (onDisk[i].version > 0) {
      // The previous version's words are gone from the index. (Asked through search, the stale
      // token would now be corrected to the current one, one letter away.)
      const db = new Database(path.join(dir, 'brain.db'), { readonly: true });
      try {
        const stale = db.prepare('SELECT count(*) FROM notes_fts WHERE notes_fts MATCH ?').pluck().get(`"${token(i, onDisk[i].version - 1)}"`);
        expect(stale, `stale token of note ${i}`).toBe(0);
      } finally {
        db.close();
      }
    }
  }
  let content = '';
  for (let offset: number | undefined = 0; offset !== undefined; ) {
    const page: { content: string; next_offset?: number } = await call(c, 'note', { action: 'read', path: 'crash-note-0', offset });
    content += page.content;
    offset = page.next_offset;
  }
  expect(content).toBe(onDisk[0].body);
}

describe('notes crash safety', () => {
  it('SIGKILL during many note writes leaves whole files and a consistent index after restart', async () => {
    const env = brainEnv(dir);
    brain = await startBrain(env);
    await call(brain.client, 'init', {});
    const hashes: string[] = [];
    const acked: number[] = [];
    for (let i = 0; i < NOTES; i++) {
      const w = await call<{ hash: string }>(brain.client, 'note', { action: 'write', title: `crash-note-${i}`, content: body(i, 0) });
      hashes.push(w.hash);
      acked.push(0);
    }

    // Several rounds: each kill lands at a different point of a write.
    for (let round = 0; round < ROUNDS; round++) {
      const c = brain.client;
      let done = 0;
      let killed = false;
      const pid = brain.transport.pid!;
      const chain = async (i: number) => {
        while (!killed) {
          const v = acked[i] + 1;
          const w = await call<{ hash: string }>(c, 'note', { action: 'write', title: `crash-note-${i}`, content: body(i, v), mode: 'replace', base_hash: hashes[i] });
          hashes[i] = w.hash;
          acked[i] = v;
          if (++done >= 25 && !killed) {
            killed = true;
            process.kill(pid, 'SIGKILL');
          }
        }
      };
      const results = await Promise.allSettled(Array.from({ length: NOTES }, (_, i) => chain(i)));
      expect(killed).toBe(true);
      expect(results.some((r) => r.status === 'rejected')).toBe(true);
      await brain.close().catch(() => {});

      const onDisk = checkFiles(acked);
      brain = await startBrain(env);
      await checkIndex(brain.client, onDisk);
      // The next round continues from what is on disk (a write in flight may have landed).
      onDisk.forEach((d, i) => {
        acked[i] = d.version;
        hashes[i] = d.hash;
      });
    }
  }, 120_000);
});
