// Notes bench: search latency with 10,000 Markdown notes on disk, and start-up with them (first
// index build, and a restart where every file is only stat'ed). Corpus cached in .bench-data/.
import fs from 'node:fs';
import path from 'node:path';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/core/config.js';
import { brainEnv, CLI, connectStdio, DATA_DIR, ms, summarize, table, tempDir, timeCalls, type BenchSection } from './lib.js';

const PROJECTS = ['apollo', 'gemini', 'mercury', 'skylab', 'artemis', '_global'];

/** Deterministic pseudo-random numbers, so every run searches the same corpus. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function vocabulary(n: number): string[] {
  const syll = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'ze', 'pa', 'qu', 'dor', 'len', 'mar', 'tis', 'gal', 'bri', 'fen'];
  const rand = rng(7);
  const words = new Set<string>();
  while (words.size < n) {
    const k = 2 + Math.floor(rand() * 3);
    let w = '';
    for (let i = 0; i < k; i++) w += syll[Math.floor(rand() * syll.length)];
    words.add(w);
  }
  return [...words];
}

/** Zipf-like pick: a few words are common, most are rare (like real text). */
const pick = (words: string[], r: number) => words[Math.floor(words.length * r ** 2.5)];

function corpus(count: number): string {
  const root = path.join(DATA_DIR, `notes-${count}`, 'notes');
  const marker = path.join(DATA_DIR, `notes-${count}`, 'complete');
  if (fs.existsSync(marker)) return root;
  fs.rmSync(path.dirname(root), { recursive: true, force: true });
  const words = vocabulary(5000);
  const rand = rng(42);
  for (let i = 0; i < count; i++) {
    const project = PROJECTS[i % PROJECTS.length];
    const folder = i % 3 === 0 ? `topic-${i % 20}/` : '';
    const title = `${pick(words, rand())} ${pick(words, rand())} ${i}`;
    const bodyWords: string[] = [];
    const n = 80 + Math.floor(rand() * 220);
    for (let w = 0; w < n; w++) bodyWords.push(pick(words, rand()));
    const link = i > 10 && rand() < 0.3 ? `\n\nSee [[${pick(words, rand())} note ${Math.floor(rand() * i)}]].` : '';
    const text = `---\ntitle: ${title}\ntags: [${pick(words, rand())}, bench]\ncreated: 2026-01-01T00:00:00.000Z\nupdated: 2026-01-02T00:00:00.000Z\n---\n# ${title}\n\n${bodyWords.join(' ')}${link}\n`;
    const file = path.join(root, project, folder + `note-${i}.md`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
  fs.writeFileSync(marker, new Date().toISOString());
  return root;
}

export const notesBench: BenchSection = {
  name: 'notes',
  async run(ctx) {
    const count = ctx.quick ? 1000 : 10_000;
    const samples = ctx.quick ? 100 : 300;
    const t0 = performance.now();
    const notesPath = corpus(count);
    console.log(`corpus: ${count} notes in ${notesPath} (${((performance.now() - t0) / 1000).toFixed(1)} s to prepare)`);
    const dir = tempDir('brain-bench-notes-');
    const env = brainEnv(dir, { BRAIN_NOTES_PATH: notesPath });
    const words = vocabulary(5000);
    const rand = rng(99);
    const queries = Array.from({ length: samples }, () => {
      const k = 1 + Math.floor(rand() * 3);
      return Array.from({ length: k }, () => pick(words, rand())).join(' ');
    });

    try {
      const startRows: (string | number)[][] = [];
      // 0. Baseline: the same server with no notes at all.
      {
        const emptyDir = tempDir('brain-bench-notes-empty-');
        try {
          const p0 = await connectStdio(process.execPath, [CLI], brainEnv(emptyDir));
          const s = performance.now();
          await p0.client.callTool({ name: 'note', arguments: { action: 'list', limit: 1 } });
          const firstCall = performance.now() - s;
          startRows.push(['baseline: no notes', ms(p0.startupMs), ms(firstCall), ms(p0.startupMs + firstCall)]);
          await p0.close();
        } finally {
          fs.rmSync(emptyDir, { recursive: true, force: true });
        }
      }
      // 1. Cold: empty database, every file read, parsed and indexed.
      let peer = await connectStdio(process.execPath, [CLI], env);
      let t = performance.now();
      let first = await peer.client.callTool({ name: 'note', arguments: { action: 'list', project: '*', limit: 1 } });
      const coldFirst = performance.now() - t;
      const total = (first.structuredContent as { total: number }).total;
      if (total !== count) throw new Error(`indexed ${total} notes, expected ${count}`);
      startRows.push(['first start (index built)', ms(peer.startupMs), ms(coldFirst), ms(peer.startupMs + coldFirst)]);

      const all = summarize(await timeCalls(peer.client, 'search', (i) => ({ query: queries[i], in: 'notes', project: '*' }), samples));
      const scoped = summarize(await timeCalls(peer.client, 'search', (i) => ({ query: queries[i], project: 'apollo' }), samples));
      const list = summarize(await timeCalls(peer.client, 'note', () => ({ action: 'list', limit: 30 }), Math.min(samples, 100)));
      const read = summarize(await timeCalls(peer.client, 'note', (i) => ({ action: 'read', path: `note-${i * 6 + 1}`, project: 'gemini' }), Math.min(samples, 100)));

      // A note edited by hand: the next search must find its new words (through the watcher).
      const edited = path.join(notesPath, 'apollo', 'topic-6', 'note-6.md');
      const original = fs.readFileSync(edited, 'utf8');
      const editSamples: number[] = [];
      try {
        for (let i = 0; i < 20; i++) {
          const word = `handedit${i}zz`;
          fs.writeFileSync(edited, original + `\n${word}\n`);
          const s = performance.now();
          const r = await peer.client.callTool({ name: 'search', arguments: { query: word, in: 'notes', project: 'apollo' } });
          editSamples.push(performance.now() - s);
          if ((r.structuredContent as { results: unknown[] }).results.length !== 1) throw new Error('a hand edit was not found by the next search');
        }
      } finally {
        fs.writeFileSync(edited, original);
      }
      const edit = summarize(editSamples);
      await peer.close();

      // 2. Warm: the index exists; start-up only stats every file.
      peer = await connectStdio(process.execPath, [CLI], env);
      t = performance.now();
      first = await peer.client.callTool({ name: 'search', arguments: { query: queries[0], in: 'notes', project: '*' } });
      const warmFirst = performance.now() - t;
      startRows.push(['restart (files stat\'ed)', ms(peer.startupMs), ms(warmFirst), ms(peer.startupMs + warmFirst)]);
      await peer.close();

      // 3. The backstop pass alone, in process: what a full size/mtime check of every file costs.
      const app = createApp(loadConfig({ ...env, BRAIN_NOTES_WATCH: 'false', BRAIN_NOTES_POLL_MS: '0' }));
      const passes: number[] = [];
      try {
        for (let i = 0; i < 5; i++) {
          const s = performance.now();
          app.notes.sync.ensureFresh();
          passes.push(performance.now() - s);
        }
        if (app.notes.sync.stats.passes !== 5) throw new Error('expected a full pass per call with BRAIN_NOTES_POLL_MS=0');
      } finally {
        app.close();
      }
      const pass = summarize(passes);

      table(`notes: start-up with ${count} notes on disk (ms)`, ['case', 'initialize', 'first notes call', 'total'], startRows);
      table(`notes: latency with ${count} notes (ms, round trip over stdio)`, ['call', 'n', 'p50', 'p95', 'p99'], [
        ['search notes, all projects', all.n, ms(all.p50), ms(all.p95), ms(all.p99)],
        ['search memories+notes, one project', scoped.n, ms(scoped.p50), ms(scoped.p95), ms(scoped.p99)],
        ['note list (30)', list.n, ms(list.p50), ms(list.p95), ms(list.p99)],
        ['note read', read.n, ms(read.p50), ms(read.p95), ms(read.p99)],
        ['search right after a hand edit', edit.n, ms(edit.p50), ms(edit.p95), ms(edit.p99)],
      ]);
      table('notes: one full reconcile pass, nothing changed (in process; ms)', ['files', 'n', 'p50', 'max'], [[count, pass.n, ms(pass.p50), ms(Math.max(...passes))]]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
