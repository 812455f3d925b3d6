// Memory benchmark: remember/recall latency over real stdio at 10k and 100k memories,
// beside the protocol floor (a no-op SDK server) and @modelcontextprotocol/server-memory on the
// same data, start-up time, recall@10 on a relevance set and the combined search's cases (a memory
// or a note must rank first) among those memories. The floor is timed in blocks that
// alternate with brain's, so slow drifts of a shared machine do not read as differences.
// Two more baselines show what no server could avoid: brain's recall answers sent back by a server
// that does no work (replay-server.ts), and remember's INSERT alone, committed by a server that does
// nothing else (insert-server.ts) on a copy of the same database.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import Database from 'better-sqlite3';
import { loadCorpus, type Doc } from './corpus.js';
import {
  brainEnv,
  CLI,
  connectStdio,
  freePort,
  measuredOwnTime,
  ms,
  noopCall,
  ROOT,
  startFloor,
  summarize,
  table,
  tempDir,
  timeAlternating,
  timeCalls,
  WARM_UP_CALLS,
  type BenchContext,
  type BenchSection,
  type StdioPeer,
  type Summary,
  type Timed,
} from './lib.js';
import { COMBINED_CASES, NEEDLES, NOTE_NEEDLES, relevancePairs } from './relevance.js';
import { secretCheckTable } from './secrets.js';
import { findSecret } from '../src/text/secrets.js';

const require = createRequire(import.meta.url);

/** Deterministic pseudo-random numbers, so two runs time the same queries. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** Two or three distinctive words of a document: what someone half-remembering it would type. */
export function queriesFrom(docs: Doc[], n: number, seed = 7): string[] {
  const rand = rng(seed);
  const out: string[] = [];
  while (out.length < n) {
    const doc = docs[Math.floor(rand() * docs.length)];
    const words = [...new Set((doc.text.match(/[A-Za-z]{5,}/g) ?? []).map((w) => w.toLowerCase()))];
    if (words.length < 3) continue;
    const k = 2 + Math.floor(rand() * 2);
    const picked = new Set<string>();
    while (picked.size < k) picked.add(words[Math.floor(rand() * words.length)]);
    out.push([...picked].join(' '));
  }
  return out;
}

/**
 * The timed calls run the credential check like any remember; the few man pages that show example
 * credentials (`--password=123456`, `user:password@` URLs) say allow_secrets, as a user storing
 * them on purpose would.
 */
function rememberArgs(doc: Doc) {
  return { key: doc.key, content: doc.text, type: 'reference', tags: [doc.section], allow_secrets: findSecret(doc.text) !== undefined };
}

/** Loads documents with several calls in flight (as a busy client would), returns docs/s. */
async function load(client: Client, docs: Doc[], concurrency = 32): Promise<number> {
  const started = performance.now();
  let next = 0;
  async function lane() {
    while (next < docs.length) {
      const doc = docs[next++];
      const r = await client.callTool({ name: 'remember', arguments: rememberArgs(doc) });
      if (r.isError) throw new Error(`remember failed while loading: ${JSON.stringify(r.content).slice(0, 200)}`);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, lane));
  return docs.length / ((performance.now() - started) / 1000);
}

/** The admin token the bench's brain takes, so its ops port answers memory-stats. */
const BENCH_TOKEN = 'bench-admin-token-0123456789';

/** Waits until brain reports no background indexing left (its ops port's memory-stats), returns how long that took. */
async function settled(port: number, timeoutMs = 300_000): Promise<number> {
  const started = performance.now();
  for (;;) {
    const r = await fetch(`http://127.0.0.1:${port}/admin/memory-stats`, { method: 'POST', headers: { authorization: `Bearer ${BENCH_TOKEN}` } }).catch(() => undefined);
    const s = r?.ok ? ((await r.json()) as { recall_index: { state: string; changes_behind: number }; words_pending: number }) : undefined;
    if (s && s.recall_index.state === 'ready' && s.recall_index.changes_behind === 0 && s.words_pending === 0) return performance.now() - started;
    if (performance.now() - started > timeoutMs) throw new Error(`brain still indexing ${timeoutMs / 1000} s after the load: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function startupMs(env: Record<string, string>, runs: number): Promise<Summary> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const peer = await connectStdio(process.execPath, [CLI], env);
    samples.push(peer.startupMs);
    await peer.close();
  }
  return summarize(samples);
}

interface Quality {
  recallAt10: number;
  mrr: number;
  misses: string[];
}

async function relevance(client: Client): Promise<Quality> {
  const pairs = relevancePairs();
  let hits = 0;
  let rr = 0;
  const misses: string[] = [];
  for (const { query, key } of pairs) {
    const r = await client.callTool({ name: 'recall', arguments: { query, limit: 10 } });
    const keys = ((r.structuredContent as { results: { key: string }[] }).results ?? []).map((x) => x.key);
    const rank = keys.indexOf(key);
    if (rank >= 0) {
      hits++;
      rr += 1 / (rank + 1);
    } else misses.push(`${query} -> ${key}`);
  }
  return { recallAt10: hits / pairs.length, mrr: rr / pairs.length, misses };
}

interface CombinedQuality {
  /** Cases whose expected memory or note ranked first, by the kind expected. */
  firstRight: { memory: number; note: number };
  cases: { memory: number; note: number };
  mrr: number;
  misses: string[];
}

/** The combined search's cases (relevance.ts): notes are written beside the memories, then each query goes to `search`. */
async function combinedRelevance(client: Client): Promise<CombinedQuality> {
  for (const n of NOTE_NEEDLES) {
    const r = await client.callTool({ name: 'note', arguments: { action: 'write', title: n.title, content: n.content, tags: n.tags } });
    if (r.isError) throw new Error(`note write failed: ${JSON.stringify(r.content).slice(0, 200)}`);
  }
  const out: CombinedQuality = { firstRight: { memory: 0, note: 0 }, cases: { memory: 0, note: 0 }, mrr: 0, misses: [] };
  for (const { query, first } of COMBINED_CASES) {
    const r = await client.callTool({ name: 'search', arguments: { query, limit: 10 } });
    const results = (r.structuredContent as { results: { kind: string; title: string }[] }).results ?? [];
    const rank = results.findIndex((x) => x.kind === first.kind && x.title === first.title);
    out.cases[first.kind]++;
    if (rank === 0) out.firstRight[first.kind]++;
    else out.misses.push(`${query} -> ${first.kind} "${first.title}" ranked ${rank < 0 ? 'past 10' : rank + 1}, first: ${results[0] ? `${results[0].kind} "${results[0].title}"` : 'nothing'}`);
    if (rank >= 0) out.mrr += 1 / (rank + 1) / COMBINED_CASES.length;
  }
  return out;
}

/**
 * Starts the insert-only server (insert-server.ts) on a copy of brain's database as it is now,
 * warmed up with inserts of its own.
 */
async function startInsertOnly(brainDb: string, dir: string, docs: Doc[]): Promise<StdioPeer> {
  const copy = path.join(dir, 'insert-only.db');
  const source = new Database(brainDb, { readonly: true, fileMustExist: true });
  try {
    await source.backup(copy);
  } finally {
    source.close();
  }
  const peer = await connectStdio(process.execPath, [path.join(ROOT, 'dist', 'bench', 'insert-server.js')], { PATH: process.env.PATH ?? '', INSERT_DB: copy });
  await timeCalls(peer.client, 'remember', (i) => ({ ...rememberArgs(docs[i % docs.length]), key: `warm-up-${i}` }), WARM_UP_CALLS);
  return peer;
}

/** Starts the replay server (replay-server.ts) with recorded results. */
async function startReplay(results: unknown[], dir: string): Promise<StdioPeer> {
  const file = path.join(dir, 'replay.json');
  fs.writeFileSync(file, JSON.stringify(results));
  const peer = await connectStdio(process.execPath, [path.join(ROOT, 'dist', 'bench', 'replay-server.js')], { PATH: process.env.PATH ?? '', REPLAY_FILE: file });
  await timeCalls(peer.client, 'replay', () => ({}), WARM_UP_CALLS);
  return peer;
}

interface BrainRun {
  size: number;
  ownRememberMs: number;
  ownRecallMs: number;
  loadRate: number;
  /** How long background indexing ran on after the load's last call returned. */
  settleMs: number;
  remember: Summary;
  recall: Summary;
  /** The floor's latencies in the blocks beside remember and beside recall (when a floor was given). */
  floorBesideRemember: number[];
  floorBesideRecall: number[];
  /** brain's recall answers sent back by a server that does no work (when a floor was given). */
  replay: number[];
  /** remember's INSERT alone, by a server that does nothing else (when a floor was given). */
  insertOnly: number[];
  startup: Summary;
  quality?: Quality;
  combined?: CombinedQuality;
  dbBytes: number;
}

async function benchBrain(corpus: Doc[], size: number, opts: { timed: number; quality: boolean; floor?: Client }): Promise<BrainRun> {
  const dir = tempDir('brain-bench-');
  try {
    const port = await freePort();
    const env = brainEnv(dir);
    const peer = await connectStdio(process.execPath, [CLI], { ...env, BRAIN_METRICS_PORT: String(port), BRAIN_HTTP_TOKEN: BENCH_TOKEN });
    const base = corpus.slice(0, size);
    const extra = corpus.slice(size, size + opts.timed);
    if (extra.length < opts.timed) throw new Error(`the corpus has only ${corpus.length} documents; need ${size + opts.timed}`);
    if (opts.quality) {
      for (const n of NEEDLES) {
        await peer.client.callTool({ name: 'remember', arguments: { key: n.key, content: n.content, type: n.type ?? 'general', tags: n.tags ?? [] } });
      }
    }
    const loadRate = await load(peer.client, base);
    // After a bulk load brain still indexes it in the background; timing starts once that is done.
    const settleMs = await settled(port);
    // Timed one at a time on a store that already holds `size` memories, beside the floor if given.
    const timed = async (part: Timed, n: number, beside: Timed[] = []) => {
      const [brain, ...others] = await timeAlternating([part, ...(opts.floor ? [noopCall(opts.floor), ...beside] : [])], n);
      return { brain, floor: others[0] ?? [], others: others.slice(1) };
    };
    const insertOnly = opts.floor ? await startInsertOnly(path.join(dir, 'brain.db'), dir, extra) : undefined;
    let remember = { brain: [] as number[], floor: [] as number[], others: [] as number[][] };
    const ownRememberMs = await measuredOwnTime(port, 'remember', async () => {
      const beside = insertOnly ? [{ client: insertOnly.client, name: 'remember', args: (i: number) => rememberArgs(extra[i]) }] : [];
      remember = await timed({ client: peer.client, name: 'remember', args: (i) => rememberArgs(extra[i]) }, extra.length, beside);
    });
    await insertOnly?.close();
    // Warm-up on other queries; its first answers are what the replay server sends back.
    const warmUp = queriesFrom(base, WARM_UP_CALLS, 11);
    const recorded: unknown[] = [];
    for (const [i, query] of warmUp.entries()) {
      const r = await peer.client.callTool({ name: 'recall', arguments: { query } });
      if (i < 200) recorded.push(r);
    }
    const replay = opts.floor ? await startReplay(recorded, dir) : undefined;
    const queries = queriesFrom(base, opts.timed);
    let recall = { brain: [] as number[], floor: [] as number[], others: [] as number[][] };
    const ownRecallMs = await measuredOwnTime(port, 'recall', async () => {
      const beside = replay ? [{ client: replay.client, name: 'replay', args: () => ({}) }] : [];
      recall = await timed({ client: peer.client, name: 'recall', args: (i) => ({ query: queries[i] }) }, queries.length, beside);
    });
    await replay?.close();
    const quality = opts.quality ? await relevance(peer.client) : undefined;
    const combined = opts.quality ? await combinedRelevance(peer.client) : undefined;
    await peer.close();
    const dbBytes = fs.statSync(path.join(dir, 'brain.db')).size;
    const startup = await startupMs(env, 5);
    return {
      size,
      ownRememberMs,
      ownRecallMs,
      loadRate,
      settleMs,
      remember: summarize(remember.brain),
      recall: summarize(recall.brain),
      replay: recall.others[0] ?? [],
      insertOnly: remember.others[0] ?? [],
      floorBesideRemember: remember.floor,
      floorBesideRecall: recall.floor,
      startup,
      quality,
      combined,
      dbBytes,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** server-memory rewrites its whole JSONL file on every write, so it is preloaded on disk. */
async function benchServerMemory(corpus: Doc[], size: number, n: number): Promise<{ remember: Summary; recall: Summary }> {
  const dir = tempDir('server-memory-bench-');
  try {
    const file = path.join(dir, 'memory.jsonl');
    fs.writeFileSync(
      file,
      corpus.slice(0, size).map((d) => JSON.stringify({ type: 'entity', name: d.key, entityType: d.section, observations: [d.text] })).join('\n') + '\n',
    );
    const script = require.resolve('@modelcontextprotocol/server-memory/dist/index.js');
    const peer = await connectStdio(process.execPath, [script], { PATH: process.env.PATH ?? '', MEMORY_FILE_PATH: file });
    const extra = corpus.slice(size, size + n);
    const remember = summarize(
      await timeCalls(peer.client, 'create_entities', (i) => ({ entities: [{ name: extra[i].key, entityType: extra[i].section, observations: [extra[i].text] }] }), n),
    );
    const queries = queriesFrom(corpus.slice(0, size), n);
    const recall = summarize(await timeCalls(peer.client, 'search_nodes', (i) => ({ query: queries[i] }), n));
    await peer.close();
    return { remember, recall };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');
const median = (xs: number[]) => summarize(xs).p50;

const section: BenchSection = {
  name: 'memory',
  async run(ctx: BenchContext) {
    const small = ctx.quick ? 2_000 : 10_000;
    const large = ctx.quick ? 20_000 : 100_000;
    const timed = ctx.quick ? 300 : 1_000;
    const corpus = loadCorpus(large + timed);
    console.log(`corpus: ${corpus.length} paragraphs of man pages / Python docstrings (avg ${Math.round(corpus.reduce((a, d) => a + d.text.length, 0) / corpus.length)} chars)`);
    secretCheckTable(corpus);

    const floorServer = await startFloor();
    const b10 = await benchBrain(corpus, small, { timed, quality: true, floor: floorServer.peer.client });
    await floorServer.peer.close();
    const floorRemember = summarize(b10.floorBesideRemember);
    const floorRecall = summarize(b10.floorBesideRecall);
    const floor = { call: summarize([...b10.floorBesideRemember, ...b10.floorBesideRecall]), startup: floorServer.startup };
    ctx.shared.floor = floor;
    const sm = await benchServerMemory(corpus, small, ctx.quick ? 50 : 200);
    const b100 = await benchBrain(corpus, large, { timed, quality: false });

    table(
      'Latency over real stdio, ms (client round trip)',
      ['what', 'p50', 'p95', 'p99', 'n'],
      [
        ['no-op MCP tool (protocol floor)', ms(floor.call.p50), ms(floor.call.p95), ms(floor.call.p99), floor.call.n],
        ['  floor in the blocks beside remember', ms(floorRemember.p50), ms(floorRemember.p95), ms(floorRemember.p99), floorRemember.n],
        ['  floor in the blocks beside recall', ms(floorRecall.p50), ms(floorRecall.p95), ms(floorRecall.p99), floorRecall.n],
        [`brain remember @${small}`, ms(b10.remember.p50), ms(b10.remember.p95), ms(b10.remember.p99), b10.remember.n],
        ['  its INSERT alone, from a server doing nothing else', ms(summarize(b10.insertOnly).p50), ms(summarize(b10.insertOnly).p95), ms(summarize(b10.insertOnly).p99), b10.insertOnly.length],
        [`brain recall @${small}`, ms(b10.recall.p50), ms(b10.recall.p95), ms(b10.recall.p99), b10.recall.n],
        ['  the same answers from a server doing no work', ms(summarize(b10.replay).p50), ms(summarize(b10.replay).p95), ms(summarize(b10.replay).p99), b10.replay.length],
        [`server-memory create_entities @${small}`, ms(sm.remember.p50), ms(sm.remember.p95), ms(sm.remember.p99), sm.remember.n],
        [`server-memory search_nodes @${small}`, ms(sm.recall.p50), ms(sm.recall.p95), ms(sm.recall.p99), sm.recall.n],
        [`brain remember @${large}`, ms(b100.remember.p50), ms(b100.remember.p95), ms(b100.remember.p99), b100.remember.n],
        [`brain recall @${large}`, ms(b100.recall.p50), ms(b100.recall.p95), ms(b100.recall.p99), b100.recall.n],
      ],
    );
    table(
      'Start-up to a served initialize, ms',
      ['what', 'p50', 'max'],
      [
        ['no-op MCP server', ms(floor.startup.p50), ms(floor.startup.p99)],
        [`brain @${small}`, ms(b10.startup.p50), ms(b10.startup.p99)],
        [`brain @${large}`, ms(b100.startup.p50), ms(b100.startup.p99)],
      ],
    );
    console.log(
      `\nbrain's own time per call (mean, from its request-duration histogram): remember ${ms(b10.ownRememberMs)} / recall ${ms(b10.ownRecallMs)} ms @${small}; ` +
        `remember ${ms(b100.ownRememberMs)} / recall ${ms(b100.ownRecallMs)} ms @${large}`,
    );
    console.log(`load throughput (32 calls in flight): ${Math.round(b10.loadRate)} remember/s @${small}, ${Math.round(b100.loadRate)} remember/s @${large}; database ${(b100.dbBytes / 1e6).toFixed(1)} MB @${large}`);
    console.log(`background indexing after the load's last call (timing starts after it): ${(b10.settleMs / 1000).toFixed(1)} s @${small}, ${(b100.settleMs / 1000).toFixed(1)} s @${large}`);
    const q = b10.quality!;
    console.log(`relevance: recall@10 = ${q.recallAt10.toFixed(3)}, MRR = ${q.mrr.toFixed(3)} over ${relevancePairs().length} queries (${NEEDLES.length} memories among ${small} others)`);
    if (q.misses.length) console.log(`  misses: ${q.misses.join(' | ')}`);
    const c = b10.combined!;
    console.log(
      `combined search (memories + ${NOTE_NEEDLES.length} notes): the best answer first in ${c.firstRight.note}/${c.cases.note} queries answered by a note ` +
        `and ${c.firstRight.memory}/${c.cases.memory} answered by a memory, MRR = ${c.mrr.toFixed(3)}`,
    );
    if (c.misses.length) console.log(`  misses: ${c.misses.join(' | ')}`);

    table('Targets', ['target', 'measured', 'verdict'], [
      [`remember p50 @${small} <= 2x floor`, `${(b10.remember.p50 / floorRemember.p50).toFixed(2)}x`, verdict(b10.remember.p50 <= 2 * floorRemember.p50)],
      ['  (its INSERT alone, from a server doing nothing else)', `${(median(b10.insertOnly) / floorRemember.p50).toFixed(2)}x`, ''],
      [`recall p50 @${small} <= 2x floor`, `${(b10.recall.p50 / floorRecall.p50).toFixed(2)}x`, verdict(b10.recall.p50 <= 2 * floorRecall.p50)],
      ['  (its answers alone, from a server doing no work)', `${(median(b10.replay) / floorRecall.p50).toFixed(2)}x`, ''],
      [`recall p95 @${large} < 5 ms`, `${ms(b100.recall.p95)} ms`, verdict(b100.recall.p95 < 5)],
      ['start-up < 600 ms', `${ms(Math.max(b10.startup.p50, b100.startup.p50))} ms`, verdict(Math.max(b10.startup.p50, b100.startup.p50) < 600)],
      ['recall@10 >= 0.9', q.recallAt10.toFixed(3), verdict(q.recallAt10 >= 0.9)],
      ['combined search: the best answer first in every case', `${c.firstRight.note + c.firstRight.memory}/${COMBINED_CASES.length}`, verdict(c.misses.length === 0)],
    ]);
  },
};

export default section;
