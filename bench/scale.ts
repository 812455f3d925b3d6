// Scale benchmark: 100,000 and 1,000,000 memories (scale-corpus.ts), each size with the recall
// index and with BRAIN_RECALL_INDEX=false beside it: import time, database and index file size,
// start-up, resident memory once indexed, recall p50/p95 with plain and misspelled words, remember
// p50/p95; three processes on one 100k database against one; and where the index's bytes go.
//
// A database is generated and imported once per size into a cache folder (BRAIN_BENCH_CACHE,
// default ~/.cache/brain-bench) and reused: the import time printed is the one measured then. The
// first brain started on it builds the recall index from the rows (timed) and writes the index
// file; every timed run works on a copy of both, so the cache never changes.
// Usage: npm run bench -- --only scale [--scale-sizes 100000,1000000] [--scale-calls=1000] [--scale-prepare-only] [--quick]
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/core/config.js';
import { INDEX_FORMAT } from '../src/memory/index-file.js';
import { brainEnv, CLI, freePort, ms, summarize, table, tempDir, timeAlternating, timeCalls, type BenchContext, type BenchSection, type Summary } from './lib.js';
import { misspell, mix, plainQuery, scaleDocs, type ScaleDoc } from './scale-corpus.js';

const CACHE = process.env.BRAIN_BENCH_CACHE ?? path.join(os.homedir(), '.cache', 'brain-bench');
/** Bump when the generated texts change, so an old cache is not measured as the new one. */
const CORPUS_VERSION = 1;
const MB = 1e6;
const IMPORT_CHUNK = 100_000;

interface Prepared {
  version: number;
  size: number;
  importMs: number;
  /** Resident size of the `brain import` process at its peak (kB from the kernel, in bytes). */
  importPeakBytes: number;
  importCpuS: number;
  /** How the import figures were obtained, when not timed directly. */
  note?: string;
  /** The first start: building the index from the rows until it served searches, and its resident size then. */
  buildMs: number;
  buildRssBytes: number;
  dbBytes: number;
  indexFileBytes: number;
  /** The index file's format (INDEX_FORMAT) when it was built: another one is built again. */
  indexFormat?: number;
}

function rememberArgs(doc: ScaleDoc) {
  return { key: doc.key, content: doc.content, type: 'reference', tags: doc.tags, allow_secrets: true };
}

/** A brain over stdio, with its process id (for /proc). */
/** The token for the ops port's /admin endpoints (memory statistics, which tell when the index is ready). */
const ADMIN_TOKEN = 'scale-bench-admin-token-0123456789';

async function start(env: Record<string, string>): Promise<{ client: Client; pid: number; opsPort: number; startupMs: number; startupCpuMs: number; close: () => Promise<void> }> {
  const opsPort = env.BRAIN_METRICS_PORT ? Number(env.BRAIN_METRICS_PORT) : await freePort();
  const started = performance.now();
  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI], env: { ...env, BRAIN_METRICS_PORT: String(opsPort), BRAIN_HTTP_TOKEN: ADMIN_TOKEN }, stderr: 'ignore' });
  const client = new Client({ name: 'brain-scale-bench', version: '1.0.0' });
  await client.connect(transport, { timeout: 600_000 });
  const startupMs = performance.now() - started;
  return { client, pid: transport.pid!, opsPort, startupMs, startupCpuMs: cpuMs(transport.pid!), close: () => client.close() };
}

/** The memory statistics of the brain whose ops port this is (an operator action: no MCP tool). */
async function memoryStats(opsPort: number): Promise<{ recall_index: { state: string; changes_behind: number }; words_pending: number }> {
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${opsPort}/admin/memory-stats`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      if (r.status !== 200) throw new Error(`POST /admin/memory-stats answered ${r.status}: ${await r.text()}`);
      return (await r.json()) as { recall_index: { state: string; changes_behind: number }; words_pending: number };
    } catch (err) {
      // The port opens just after the MCP handshake.
      if (i > 200 || !String((err as Error).cause ?? err).includes('ECONNREFUSED')) throw err;
      await new Promise((done) => setTimeout(done, 50));
    }
  }
}

/**
 * VmRSS and VmHWM of a process, the part of VmRSS that is its own (RssAnon: heap, typed arrays,
 * SQLite's page cache) rather than mapped files (the database through mmap, node's binary), and
 * its proportional set size (shared pages split between their users), in bytes.
 */
function memoryOf(pid: number): { rss: number; peak: number; anon: number; pss: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string, text: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024;
  let pss = NaN;
  try {
    pss = kb('Pss', fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
  } catch {
    // smaps_rollup needs Linux 4.14.
  }
  return { rss: kb('VmRSS', status), peak: kb('VmHWM', status), anon: kb('RssAnon', status), pss };
}

/** CPU time a process has used (user + system), in ms: per call, it depends far less on other load than wall time. */
function cpuMs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // utime and stime are fields 14 and 15 of the line (11 and 12 after the command), in clock ticks.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / TICKS_PER_SECOND;
}
const TICKS_PER_SECOND = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** Mean CPU ms the brain spent per call over `n` calls. */
async function cpuPerCall(peer: { client: Client; pid: number }, name: string, args: (i: number) => Record<string, unknown>, n: number): Promise<number> {
  const before = cpuMs(peer.pid);
  await timeCalls(peer.client, name, args, n);
  return (cpuMs(peer.pid) - before) / n;
}

/** V8's heap in use and the memory outside it (typed arrays' buffers, chiefly), in bytes, from brain's metrics port. */
async function heapOf(port: number): Promise<{ heap: number; external: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN);
  return { heap: value('nodejs_heap_size_used_bytes'), external: value('nodejs_external_memory_bytes') };
}

/** Waits until the index serves searches (or is off) and no words wait to be written; ms waited. */
async function settled(opsPort: number, timeoutMs: number): Promise<number> {
  const started = performance.now();
  for (;;) {
    // The first start on a freshly imported store prunes the change log and rebalances: minutes at 1M under load.
    const asked = performance.now();
    const s = await memoryStats(opsPort);
    if (s.recall_index.state !== 'building' && s.recall_index.changes_behind === 0 && s.words_pending === 0) return performance.now() - started;
    if (performance.now() - started > timeoutMs) throw new Error(`brain still indexing after ${timeoutMs / 1000} s: ${JSON.stringify(s)}`);
    // The statistics count with SQL while the index is not ready (about a second of CPU at 1M
    // memories): polled every 50 ms it took most of the process and held the build back.
    await new Promise((r) => setTimeout(r, Math.max(50, 10 * (performance.now() - asked))));
  }
}

interface Imported {
  importMs: number;
  importPeakBytes: number;
  /** CPU seconds (user + system) of the brain import processes. */
  importCpuS: number;
  note?: string;
}

/** Generates and imports the memories into `dir` once (the figures are kept in import.json). */
function importInto(dir: string, size: number, doc: (i: number) => ScaleDoc, env: Record<string, string>): Imported {
  const record = path.join(dir, 'import.json');
  if (fs.existsSync(record) && fs.existsSync(path.join(dir, 'brain.db'))) return JSON.parse(fs.readFileSync(record, 'utf8')) as Imported;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  let importMs = 0;
  let importPeakBytes = 0;
  let importCpuS = 0;
  // brain import reads its whole file before writing (one transaction): files of IMPORT_CHUNK
  // lines, imported one after the other, keep each process within Node's default heap at 1M.
  for (let from = 0; from < size; from += IMPORT_CHUNK) {
    const to = Math.min(size, from + IMPORT_CHUNK);
    const jsonl = path.join(dir, `import-${from}.jsonl`);
    const lines: string[] = [];
    for (let i = from; i < to; i++) {
      const d = doc(i);
      lines.push(JSON.stringify({ kind: 'memory', key: d.key, content: d.content, type: 'reference', tags: d.tags, importance: 0.5 }));
    }
    fs.writeFileSync(jsonl, lines.join('\n') + '\n');
    console.log(`brain import of memories ${from}-${to - 1}`);
    const t = performance.now();
    // /usr/bin/time -f %M gives the peak resident size in kB.
    const imported = spawnSync('/usr/bin/time', ['-f', '%M %U %S', process.execPath, CLI, 'import', jsonl, '--json'], { env, encoding: 'utf8', maxBuffer: 1 << 26 });
    importMs += performance.now() - t;
    if (imported.status !== 0) throw new Error(`brain import failed (${imported.status}): ${imported.stderr.slice(-2000)}`);
    const [peakKb, user, system] = imported.stderr.trim().split('\n').pop()!.split(' ').map(Number);
    importPeakBytes = Math.max(importPeakBytes, peakKb * 1024);
    importCpuS += user + system;
    fs.rmSync(jsonl);
  }

  const result: Imported = { importMs, importPeakBytes, importCpuS };
  fs.writeFileSync(record, JSON.stringify(result, null, 2));
  return result;
}

/** Generates and imports `size` memories into the cache (once), then lets a first brain build and save the index. */
async function prepare(size: number, doc: (i: number) => ScaleDoc): Promise<Prepared> {
  const dir = path.join(CACHE, `scale-${size}`);
  const metaFile = path.join(dir, 'meta.json');
  if (fs.existsSync(metaFile)) {
    const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as Prepared;
    if (meta.version === CORPUS_VERSION && fs.existsSync(path.join(dir, 'brain.db'))) {
      if (meta.indexFormat === INDEX_FORMAT) return meta;
      // The rows are current (importInto keeps them), the index file is of another format: the
      // first start builds it again.
      fs.rmSync(path.join(dir, 'brain.db.recall'), { force: true });
    }
  }
  const env = brainEnv(dir);
  const imported = importInto(dir, size, doc, env);
  const { importMs, importPeakBytes } = imported;

  console.log('first start: building the recall index from the rows');
  const peer = await start(env);
  const buildMs = await settled(peer.opsPort, 30 * 60_000);
  const buildRssBytes = memoryOf(peer.pid).rss;
  const indexFile = path.join(dir, 'brain.db.recall');
  // The index is saved beside the database from 20,000 memories on (PERSIST_MIN_MEMORIES in
  // src/memory/live-index.ts); a smaller trial size has no file to wait for.
  for (let waited = 0; size >= 20_000 && !fs.existsSync(indexFile); waited += 100) {
    if (waited > 10 * 60_000) throw new Error('the index file was not written within 10 minutes');
    await new Promise((r) => setTimeout(r, 100));
  }
  await peer.close();
  const meta: Prepared = {
    version: CORPUS_VERSION,
    size,
    ...imported,
    buildMs,
    buildRssBytes,
    dbBytes: fs.statSync(path.join(dir, 'brain.db')).size,
    indexFileBytes: fs.existsSync(indexFile) ? fs.statSync(indexFile).size : 0,
    indexFormat: INDEX_FORMAT,
  };
  fs.writeFileSync(metaFile, JSON.stringify(meta, null, 2));
  return meta;
}

/** A private copy of a prepared database and its index file. */
function copyOf(size: number): string {
  const from = path.join(CACHE, `scale-${size}`);
  const dir = tempDir(`brain-scale-${size}-`);
  for (const name of fs.readdirSync(from)) if (name.startsWith('brain.db')) fs.copyFileSync(path.join(from, name), path.join(dir, name));
  return dir;
}

interface Run {
  startup: Summary;
  /** CPU the process had used when initialize was answered (ms, median). */
  startupCpu: number;
  readyMs: number;
  /** V8 heap in use and memory outside it (typed arrays), once ready and after the calls. */
  heapReady: { heap: number; external: number };
  heapAfter: { heap: number; external: number };
  rssReady: number;
  anonReady: number;
  rssAfter: number;
  anonAfter: number;
  peak: number;
  plain: Summary;
  typo: Summary;
  remember: Summary;
  /** Mean CPU ms per call: plain recall, misspelled recall, remember. */
  cpu: { plain: number; typo: number; remember: number };
  /** Queries whose source memory came back in the top 10. */
  plainFound: number;
  typoFound: number;
}

/** Queries from memories spread over the whole database: three of their words, plain and misspelled. */
function queriesOf(size: number, doc: (i: number) => ScaleDoc, n: number, salt: number) {
  const out: { key: string; plain: string; typo: string }[] = [];
  for (let k = 0; out.length < n; k++) {
    const d = doc(mix(k, salt) % size);
    const plain = plainQuery(d, k);
    if (plain) out.push({ key: d.key, plain, typo: misspell(plain) });
  }
  return out;
}

async function measure(size: number, doc: (i: number) => ScaleDoc, index: boolean, timed: number): Promise<Run> {
  const dir = copyOf(size);
  try {
    const port = await freePort();
    const env = brainEnv(dir, { BRAIN_RECALL_INDEX: String(index) });
    const startups: number[] = [];
    const startupCpu: number[] = [];
    for (let i = 0; i < 5; i++) {
      const p = await start(env);
      startups.push(p.startupMs);
      startupCpu.push(p.startupCpuMs);
      await p.close();
    }
    const peer = await start({ ...env, BRAIN_METRICS_PORT: String(port) });
    const readyMs = (await settled(peer.opsPort, 30 * 60_000)) + peer.startupMs;
    const ready = memoryOf(peer.pid);
    const heapReady = await heapOf(port);
    for (const q of queriesOf(size, doc, 300, 101)) await peer.client.callTool({ name: 'recall', arguments: { query: q.plain } });
    const queries = queriesOf(size, doc, timed, 7);
    const found = { plain: 0, typo: 0 };
    const keysOf = (r: unknown) => ((r as { structuredContent?: { results?: { key: string }[] } }).structuredContent?.results ?? []).map((x) => x.key);
    for (const q of queries.slice(0, 200)) {
      if (keysOf(await peer.client.callTool({ name: 'recall', arguments: { query: q.plain } })).includes(q.key)) found.plain++;
      if (keysOf(await peer.client.callTool({ name: 'recall', arguments: { query: q.typo } })).includes(q.key)) found.typo++;
    }
    const [plain, typo] = await timeAlternating(
      [
        { client: peer.client, name: 'recall', args: (i) => ({ query: queries[i].plain }) },
        { client: peer.client, name: 'recall', args: (i) => ({ query: queries[i].typo }) },
      ],
      queries.length,
    );
    const cpuQueries = queriesOf(size, doc, 300, 13);
    const cpu = {
      plain: await cpuPerCall(peer, 'recall', (i) => ({ query: cpuQueries[i].plain }), cpuQueries.length),
      typo: await cpuPerCall(peer, 'recall', (i) => ({ query: cpuQueries[i].typo }), cpuQueries.length),
      remember: 0,
    };
    // New memories past the generated ones (the copy is thrown away afterwards).
    const remember = await timeCalls(peer.client, 'remember', (i) => rememberArgs(doc(size + i)), timed);
    // Including the index work the writes cause (applied once writing pauses).
    const beforeCpu = cpuMs(peer.pid);
    await timeCalls(peer.client, 'remember', (i) => rememberArgs(doc(size + timed + i)), 300);
    await settled(peer.opsPort, 60_000);
    cpu.remember = (cpuMs(peer.pid) - beforeCpu) / 300;
    const after = memoryOf(peer.pid);
    const heapAfter = await heapOf(port);
    await peer.close();
    return {
      startup: summarize(startups),
      startupCpu: summarize(startupCpu).p50,
      readyMs,
      heapReady,
      heapAfter,
      rssReady: ready.rss,
      anonReady: ready.anon,
      rssAfter: after.rss,
      anonAfter: after.anon,
      peak: after.peak,
      plain: summarize(plain),
      typo: summarize(typo),
      remember: summarize(remember),
      cpu,
      plainFound: found.plain / Math.min(200, queries.length),
      typoFound: found.typo / Math.min(200, queries.length),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Resident sizes of one brain and of three on one database, each once its index is ready. */
async function shared(size: number, index: boolean) {
  const dir = copyOf(size);
  try {
    const env = brainEnv(dir, { BRAIN_RECALL_INDEX: String(index) });
    const one = await start(env);
    await settled(one.opsPort, 30 * 60_000);
    const alone = memoryOf(one.pid);
    await one.close();
    const peers = await Promise.all([start(env), start(env), start(env)]);
    for (const p of peers) await settled(p.opsPort, 30 * 60_000);
    const each = peers.map((p) => memoryOf(p.pid));
    await Promise.all(peers.map((p) => p.close()));
    return { alone, rss: each.reduce((a, m) => a + m.rss, 0), pss: each.reduce((a, m) => a + m.pss, 0) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Three clients through one `brain serve`: each client starts plain `brain`, as Claude's config
 * does, which finds the daemon serving the same database and bridges to it (src/daemon/discover.ts).
 * The daemon's resident size once its index is ready, and the three bridges'.
 */
async function throughDaemon(size: number) {
  const dir = copyOf(size);
  const env = brainEnv(dir, { BRAIN_SOCKET_PATH: path.join(dir, 'brain.sock'), BRAIN_METRICS_PORT: String(await freePort()), BRAIN_HTTP_TOKEN: 'scale-bench-admin-token-0123456789' });
  const daemon = spawn(process.execPath, [CLI, 'serve'], { env, stdio: 'ignore' });
  try {
    for (let waited = 0; !fs.existsSync(env.BRAIN_SOCKET_PATH); waited += 50) {
      if (waited > 120_000 || daemon.exitCode !== null) throw new Error('brain serve did not start listening');
      await new Promise((r) => setTimeout(r, 50));
    }
    const bridges = [];
    const { BRAIN_METRICS_PORT: _port, ...clientEnv } = env;
    for (let i = 0; i < 3; i++) {
      const transport = new StdioClientTransport({ command: process.execPath, args: [CLI], env: clientEnv, stderr: 'ignore' });
      const client = new Client({ name: 'brain-scale-bench', version: '1.0.0' });
      await client.connect(transport);
      if (holdsFile(transport.pid!, env.BRAIN_DB_PATH)) throw new Error('brain opened the database itself instead of using the running brain serve');
      bridges.push({ client, pid: transport.pid! });
    }
    await settled(Number(env.BRAIN_METRICS_PORT), 30 * 60_000);
    for (const b of bridges) await b.client.callTool({ name: 'recall', arguments: { query: 'network interface configuration' } });
    const server = memoryOf(daemon.pid!);
    const each = bridges.map((b) => memoryOf(b.pid));
    await Promise.all(bridges.map((b) => b.client.close()));
    return { daemon: server, bridgesRss: each.reduce((a, m) => a + m.rss, 0), bridgesPss: each.reduce((a, m) => a + m.pss, 0) };
  } finally {
    daemon.kill('SIGTERM');
    await new Promise((r) => (daemon.exitCode !== null ? r(undefined) : daemon.once('exit', r)));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Whether process `pid` has `file` open. */
function holdsFile(pid: number, file: string): boolean {
  return fs.readdirSync(`/proc/${pid}/fd`).some((fd) => {
    try {
      return fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === file;
    } catch {
      return false;
    }
  });
}

/** Where the index's bytes go, from an index loaded in this process. */
async function footprint(size: number): Promise<Record<string, number>> {
  const dir = copyOf(size);
  const app = createApp(loadConfig(brainEnv(dir)));
  try {
    for (let i = 0; i < 60 * 60 * 20 && !app.memories.indexFootprint(); i++) await new Promise((r) => setTimeout(r, 50));
    return app.memories.indexFootprint()!;
  } finally {
    app.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const mb = (bytes: number) => (bytes / MB).toFixed(1);
const pair = (on: Summary, off: Summary, k: 'p50' | 'p95') => `${ms(on[k])} / ${ms(off[k])}`;

const section: BenchSection = {
  name: 'scale',
  onRequest: true,
  async run(ctx: BenchContext) {
    const sizesArg = process.argv.find((a) => a.startsWith('--scale-sizes'));
    const sizes = sizesArg
      ? (sizesArg.includes('=') ? sizesArg.split('=')[1] : process.argv[process.argv.indexOf(sizesArg) + 1]).split(',').map(Number)
      : ctx.quick
        ? [20_000]
        : [100_000, 1_000_000];
    const callsArg = process.argv.find((a) => a.startsWith('--scale-calls='));
    const timed = callsArg ? Number(callsArg.split('=')[1]) : ctx.quick ? 200 : 1_000;
    const doc = scaleDocs();
    console.log(`cache: ${CACHE}; example memory: ${JSON.stringify(doc(0).content.slice(0, 160))}...`);
    for (const size of sizes) {
      const prep = await prepare(size, doc);
      if (process.argv.includes('--scale-prepare-only')) {
        console.log(`prepared ${size}: ${JSON.stringify(prep)}`);
        continue;
      }
      const on = await measure(size, doc, true, timed);
      const off = await measure(size, doc, false, timed);
      const parts = await footprint(size);
      table(
        `${size.toLocaleString('en')} memories: recall index on / BRAIN_RECALL_INDEX=false (ms, MB; one brain over stdio)`,
        ['what', 'index / FTS5 only'],
        [
          ['brain import (measured when generated), s', `${(prep.importMs / 1000).toFixed(1)}, ${prep.importCpuS?.toFixed(0) ?? '?'} s CPU (peak RSS ${mb(prep.importPeakBytes)} MB)${prep.note ? ` [${prep.note}]` : ''}`],
          ['database / index file, MB', `${mb(prep.dbBytes)} / ${mb(prep.indexFileBytes)}`],
          ['first start: index built from the rows, s / RSS MB', `${(prep.buildMs / 1000).toFixed(1)} / ${mb(prep.buildRssBytes)}`],
          ['start-up to initialize p50 / max', `${ms(on.startup.p50)}, ${ms(on.startup.p99)} / ${ms(off.startup.p50)}, ${ms(off.startup.p99)}`],
          ['CPU used by then, ms (p50)', `${on.startupCpu.toFixed(0)} / ${off.startupCpu.toFixed(0)}`],
          ['start to index ready (file loaded, caught up)', `${ms(on.readyMs)} / ${ms(off.readyMs)}`],
          ['RSS once ready (of it not mapped files), MB', `${mb(on.rssReady)} (${mb(on.anonReady)}) / ${mb(off.rssReady)} (${mb(off.anonReady)})`],
          ['RSS after the timed calls (not mapped files; peak), MB', `${mb(on.rssAfter)} (${mb(on.anonAfter)}; ${mb(on.peak)}) / ${mb(off.rssAfter)} (${mb(off.anonAfter)}; ${mb(off.peak)})`],
          [
            'V8 heap used + outside it (typed arrays), ready -> after, MB',
            `${mb(on.heapReady.heap)} + ${mb(on.heapReady.external)} -> ${mb(on.heapAfter.heap)} + ${mb(on.heapAfter.external)} / ${mb(off.heapReady.heap)} + ${mb(off.heapReady.external)} -> ${mb(off.heapAfter.heap)} + ${mb(off.heapAfter.external)}`,
          ],
          ['recall p50, three plain words', pair(on.plain, off.plain, 'p50')],
          ['recall p95, three plain words', pair(on.plain, off.plain, 'p95')],
          ['recall p50, every long word misspelled', pair(on.typo, off.typo, 'p50')],
          ['recall p95, every long word misspelled', pair(on.typo, off.typo, 'p95')],
          ['misspelled / plain, p50 and p95', `${(on.typo.p50 / on.plain.p50).toFixed(2)}x, ${(on.typo.p95 / on.plain.p95).toFixed(2)}x / ${(off.typo.p50 / off.plain.p50).toFixed(2)}x, ${(off.typo.p95 / off.plain.p95).toFixed(2)}x`],
          ['source memory in the top 10: plain, misspelled', `${on.plainFound.toFixed(2)}, ${on.typoFound.toFixed(2)} / ${off.plainFound.toFixed(2)}, ${off.typoFound.toFixed(2)}`],
          ['CPU ms per call: recall plain, misspelled', `${on.cpu.plain.toFixed(2)}, ${on.cpu.typo.toFixed(2)} / ${off.cpu.plain.toFixed(2)}, ${off.cpu.typo.toFixed(2)}`],
          ['CPU ms per remember (with its index work)', `${on.cpu.remember.toFixed(2)} / ${off.cpu.remember.toFixed(2)}`],
          ['remember p50', pair(on.remember, off.remember, 'p50')],
          ['remember p95', pair(on.remember, off.remember, 'p95')],
        ],
      );
      const memoryParts = Object.entries(parts).map(([k, v]) => `${k} ${k.endsWith('bytes') ? `${mb(v)} MB` : v.toLocaleString('en')}`);
      console.log(`index held in memory: ${memoryParts.join(', ')}`);
      type Held = { rss: number; pss: number };
      let together: { alone: Held; embedded: Held; viaDaemon: Held } | undefined;
      if (size === 100_000 || sizes.length === 1) {
        const withIndex = await shared(size, true);
        const without = await shared(size, false);
        const viaDaemon = await throughDaemon(size);
        table(
          `three brains on one ${size.toLocaleString('en')}-memory database, each with its index ready (MB)`,
          ['what', 'RSS', 'PSS (shared pages split)'],
          [
            ['one brain, index on', mb(withIndex.alone.rss), mb(withIndex.alone.pss)],
            ['three brains, index on, together', mb(withIndex.rss), mb(withIndex.pss)],
            ['one brain, FTS5 only', mb(without.alone.rss), mb(without.alone.pss)],
            ['three brains, FTS5 only, together', mb(without.rss), mb(without.pss)],
            ['one brain serve (index on) and three brain clients bridged to it, together', mb(viaDaemon.daemon.rss + viaDaemon.bridgesRss), mb(viaDaemon.daemon.pss + viaDaemon.bridgesPss)],
            ['  of which the three bridges', mb(viaDaemon.bridgesRss), mb(viaDaemon.bridgesPss)],
          ],
        );
        console.log(`three embedded together / one, index on: ${(withIndex.rss / withIndex.alone.rss).toFixed(2)}x RSS, ${(withIndex.pss / withIndex.alone.pss).toFixed(2)}x PSS`);
        together = {
          alone: withIndex.alone,
          embedded: { rss: withIndex.rss, pss: withIndex.pss },
          viaDaemon: { rss: viaDaemon.daemon.rss + viaDaemon.bridgesRss, pss: viaDaemon.daemon.pss + viaDaemon.bridgesPss },
        };
      }
      const targets: [string, string, boolean][] =
        size >= 1_000_000
          ? [
              ['import <= 3 min', `${(prep.importMs / 1000).toFixed(0)} s`, prep.importMs <= 180_000],
              ['RSS <= 600 MB', `${mb(on.rssAfter)} MB`, on.rssAfter <= 600 * MB],
              ['recall p95 <= 15 ms plain', `${ms(on.plain.p95)} ms`, on.plain.p95 <= 15],
              ['start-up <= 1 s', `${ms(on.startup.p50)} ms`, on.startup.p50 <= 1000],
              ['misspelled p95 <= ~2x plain', `${(on.typo.p95 / on.plain.p95).toFixed(2)}x`, on.typo.p95 <= 2 * on.plain.p95],
            ]
          : [
              ['RSS after indexing <= 150 MB', `${mb(on.rssAfter)} MB`, on.rssAfter <= 150 * MB],
              ['recall p95 <= 3 ms plain', `${ms(on.plain.p95)} ms`, on.plain.p95 <= 3],
              ['recall p95 <= 6 ms misspelled', `${ms(on.typo.p95)} ms`, on.typo.p95 <= 6],
              ['start-up <= 600 ms', `${ms(on.startup.p50)} ms`, on.startup.p50 <= 600],
              ['misspelled p95 <= ~2x plain', `${(on.typo.p95 / on.plain.p95).toFixed(2)}x`, on.typo.p95 <= 2 * on.plain.p95],
            ];
      if (together) {
        const { alone, embedded, viaDaemon } = together;
        const ratio = (held: Held, k: keyof Held) => `${mb(held[k])} vs ${mb(alone[k])} MB: ${(held[k] / alone[k]).toFixed(2)}x`;
        targets.push(
          ['three clients < 2x one, brain serve running (RSS)', ratio(viaDaemon, 'rss'), viaDaemon.rss < 2 * alone.rss],
          ['three clients < 2x one, brain serve running (PSS)', ratio(viaDaemon, 'pss'), viaDaemon.pss < 2 * alone.pss],
          ['three embedded brains, no daemon < 2x one (RSS)', ratio(embedded, 'rss'), embedded.rss < 2 * alone.rss],
          ['three embedded brains, no daemon < 2x one (PSS)', ratio(embedded, 'pss'), embedded.pss < 2 * alone.pss],
        );
      }
      table(`targets at ${size.toLocaleString('en')}`, ['target', 'measured', 'verdict'], targets.map(([t, m, ok]) => [t, m, ok ? 'PASS' : 'MISS']));
    }
  },
};

export default section;
