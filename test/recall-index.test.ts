// The in-process recall index: its BM25 equals FTS5's bm25() on the same text, its ranked lists
// pick the true best, it survives edits and compaction, and it follows writes made by another
// process on the same file (including a change log pruned past it, which forces a rebuild).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createApp, type App } from '../src/app.js';
import { silentLogger } from '../src/core/logger.js';
import { indexFileOf, LiveIndex } from '../src/memory/live-index.js';
import { searchMemories } from '../src/memory/search.js';
import { flushTerms } from '../src/memory/terms.js';
import { TermDict } from '../src/memory/term-dict.js';
import { GapWriter, RankedList, readDocs, WordIndex } from '../src/memory/word-index.js';
import { editDistance } from '../src/text/fuzzy.js';
import { parseQuery } from '../src/text/query.js';
import { stemOf, wordsOf } from '../src/text/words.js';
import { brainEnv, indexReady, ROOT, tempDir, testConfig } from './helpers/brain.js';

/** Deterministic pseudo-random numbers. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

const VOCAB = 'alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike oscar papa quebec romeo sierra tango victor whiskey xray yankee zulu'.split(' ');

describe('WordIndex', () => {
  const rand = rng(42);
  const pick = (n: number) => Array.from({ length: n }, () => VOCAB[Math.floor(rand() * VOCAB.length)]);
  const plainText = () => ({
    key: `note-${pick(1)[0]}-${Math.floor(rand() * 100)}`,
    // Stopwords count towards a document's length in FTS5, so some are mixed in.
    content: [...pick(3 + Math.floor(rand() * 30)), 'the', 'and', 'of'].sort(() => rand() - 0.5).join(' '),
    tags: JSON.stringify(pick(Math.floor(rand() * 3))),
  });
  /** Now and then a text that repeats a word hundreds of times (counts past a byte: Segment.over). */
  const docText = () => {
    const text = plainText();
    if (rand() < 0.05) text.content += ` ${pick(1)[0]}`.repeat(260 + Math.floor(rand() * 100));
    return text;
  };

  function compare(db: Database.Database, index: WordIndex) {
    for (let q = 0; q < 60; q++) {
      const words = [...new Set(pick(1 + (q % 3)))];
      const fts = new Map(
        (db.prepare(`SELECT rowid AS id, -bm25(t, 4.0, 1.0, 2.0) AS s FROM t WHERE t MATCH ?`).all(words.map((w) => `"${w}"`).join(' OR ')) as { id: number; s: number }[]).map((r) => [r.id, r.s]),
      );
      const withAll = new Set(db.prepare(`SELECT rowid FROM t WHERE t MATCH ?`).pluck().all(words.map((w) => `"${w}"`).join(' AND ')) as number[]);
      const m = index.match(words.map((w) => [stemOf(w)]));
      const full = m.full.top(10_000);
      const partial = m.partial().top(10_000);
      expect(new Set(full.ids)).toEqual(withAll);
      const ours = new Map<number, number>();
      full.ids.forEach((id, i) => ours.set(id, full.scores[i]));
      partial.ids.forEach((id, i) => ours.set(id, partial.scores[i]));
      expect(new Set(ours.keys())).toEqual(new Set(fts.keys()));
      for (const [id, s] of fts) expect(Math.abs(ours.get(id)! - s)).toBeLessThan(1e-9 * Math.max(1, Math.abs(s)));
    }
  }

  it('codes document numbers as varint gaps that read back exactly, up to 2^32 - 1', () => {
    const lists = [
      [0, 1, 2, 127, 128, 129, 16_383, 16_384, 2 ** 21 - 1, 2 ** 21, 2 ** 28 - 1, 2 ** 28, 2 ** 31, 2 ** 32 - 1],
      [5],
      [2 ** 32 - 1],
      [0, 2 ** 32 - 2],
    ];
    const writer = new GapWriter(4);
    const offsets = [0];
    const starts = [0];
    for (const list of lists) {
      writer.startTerm();
      for (const doc of list) writer.push(doc);
      offsets.push(offsets.at(-1)! + list.length);
      starts.push(writer.at);
    }
    const seg = {
      terms: Uint32Array.from(lists.keys()),
      offsets: Uint32Array.from(offsets),
      starts: Uint32Array.from(starts),
      gaps: writer.done(),
      freqs: new Uint8Array(offsets.at(-1)!),
      over: new Map<number, number>(),
    };
    // Small gaps take a byte: the first list's 14 numbers take 1+1+1+1+2+1+2+1+3+1+4+1+4+5 bytes.
    expect(starts[1]).toBe(28);
    let into: Uint32Array = new Uint32Array(1);
    lists.forEach((list, k) => {
      into = readDocs(seg, k, into);
      expect([...into.subarray(0, list.length)]).toEqual(list);
    });
  });

  it('scores like FTS5 bm25() with the same column weights, through edits, deletes and compaction', () => {
    const db = new Database(':memory:');
    db.exec(`CREATE VIRTUAL TABLE t USING fts5 (key, content, tags, tokenize = 'porter unicode61 remove_diacritics 2')`);
    const index = new WordIndex();
    const put = (id: number) => {
      const text = docText();
      db.prepare('DELETE FROM t WHERE rowid = ?').run(id);
      db.prepare('INSERT INTO t (rowid, key, content, tags) VALUES (?, ?, ?, ?)').run(id, text.key, text.content, text.tags);
      index.set(id, text);
    };
    for (let id = 1; id <= 300; id++) put(id);
    compare(db, index);
    // Enough rewrites that removed entries pile up past the compaction threshold, then deletes.
    for (let round = 0; round < 4; round++) for (let id = 1; id <= 300; id++) put(id);
    for (let id = 1; id <= 300; id += 3) {
      db.prepare('DELETE FROM t WHERE rowid = ?').run(id);
      index.delete(id);
    }
    expect(index.size).toBe(200);
    compare(db, index);
    db.close();
  });

  it('scores the same with its postings spread over segments, merged in slices while documents change, and renumbered', () => {
    const db = new Database(':memory:');
    db.exec(`CREATE VIRTUAL TABLE t USING fts5 (key, content, tags, tokenize = 'porter unicode61 remove_diacritics 2')`);
    // A tail of 40 postings: a segment every few documents, and merges all the time.
    const index = new WordIndex({ tailMax: 40, renumberAfter: 50 });
    let puts = 0;
    const put = (id: number) => {
      const text = docText();
      db.prepare('DELETE FROM t WHERE rowid = ?').run(id);
      db.prepare('INSERT INTO t (rowid, key, content, tags) VALUES (?, ?, ?, ?)').run(id, text.key, text.content, text.tags);
      index.set(id, text);
      puts++;
    };
    const remove = (id: number) => {
      db.prepare('DELETE FROM t WHERE rowid = ?').run(id);
      index.delete(id);
    };
    // Merges advance a little between changes, so documents are added and removed mid-merge.
    const mergeALittle = () => index.mergeJob()?.step(0);
    for (let id = 1; id <= 400; id++) {
      put(id);
      mergeALittle();
    }
    compare(db, index);
    for (let round = 0; round < 3; round++) {
      for (let id = 1; id <= 400; id += 1 + round) {
        if (id % 7 === round) remove(id);
        else put(id);
        mergeALittle();
        if (id % 150 === 0) compare(db, index);
      }
    }
    const before = index.stats();
    expect(before.segments).toBeGreaterThan(1);
    expect(before.removed).toBeGreaterThan(0);
    // Renumbering merges ran meanwhile: fewer document numbers are in use than were handed out.
    expect(before.documents).toBeLessThan(puts);
    compare(db, index);
    index.compact();
    const after = index.stats();
    expect(after).toMatchObject({ segments: 1, removed: 0, documents: index.size });
    compare(db, index);
    for (let id = 401; id <= 450; id++) put(id);
    compare(db, index);
    db.close();
  });

  it('cuts words like FTS5: case, Latin accents and punctuation do not matter; marks of other scripts do', () => {
    expect(wordsOf('Café-au-lait, NAÏVE résumé! x_y')).toEqual(['cafe', 'au', 'lait', 'naive', 'resume', 'x', 'y']);
    // Devanagari vowel signs and kana voicing marks make different words (काम "work", कम "less").
    expect(wordsOf('काम कम カス ガス')).toEqual(['काम', 'कम', 'カス', 'ガス']);
    expect(stemOf('connections')).toBe(stemOf('connected'));
  });
});

describe('TermDict.distanceTo', () => {
  it('equals editDistance wherever that is within max, and is over max elsewhere', () => {
    const rand = rng(11);
    // A small alphabet makes near misses, swaps and repeats common.
    const word = () => Array.from({ length: 1 + Math.floor(rand() * 12) }, () => 'abcde'[Math.floor(rand() * 5)]).join('');
    const dict = new TermDict();
    const words = Array.from({ length: 500 }, word);
    for (const w of words) dict.add(w);
    for (let k = 0; k < 20_000; k++) {
      const query = word();
      const stored = words[Math.floor(rand() * words.length)];
      for (const max of [1, 2, 3]) {
        const expected = editDistance(query, stored, max);
        const got = dict.distanceTo(dict.get(stored), query, max);
        if (expected <= max) expect(got).toBe(expected);
        else expect(got).toBeGreaterThan(max);
      }
    }
  });
});

describe('RankedList.top', () => {
  it('returns the true best in order, ties broken by the newer id', () => {
    const rand = rng(7);
    for (const n of [0, 1, 5, 40, 1000]) {
      const list = new RankedList();
      const entries = Array.from({ length: n }, (_, i) => ({ id: i + 1, score: Math.floor(rand() * 20) / 4 }));
      for (const e of entries) list.push(e.id, e.score);
      const expected = [...entries].sort((a, b) => b.score - a.score || b.id - a.id);
      for (const k of [1, 3, 17, 2000]) {
        const top = list.top(k);
        expect(top.ids).toEqual(expected.slice(0, k).map((e) => e.id));
        expect(top.scores).toEqual(expected.slice(0, k).map((e) => e.score));
      }
    }
  });
});

describe('LiveIndex', () => {
  let dir: string;
  let a: App;
  let b: App;
  beforeEach(async () => {
    dir = tempDir();
    a = createApp(testConfig(dir));
    b = createApp(testConfig(dir, { BRAIN_RECALL_INDEX: 'false' }));
    await indexReady(a);
  });
  afterEach(() => {
    a.close();
    b.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const keys = (app: App, query: string, filter = {}) => app.memories.search(query, filter, 10).hits.map((h) => h.row.key);
  const write = (key: string, content: string, extra: Partial<Parameters<App['memories']['remember']>[0]> = {}) =>
    b.memories.remember({ project: '', key, content, type: 'general', tags: [], importance: 0.5, ...extra });

  it("sees another process's inserts, edits, deletes and other column changes at once", () => {
    write('db', 'The staging database listens on port 5433.');
    expect(keys(a, 'staging port')).toEqual(['db']);
    expect(a.memories.search('staging', {}, 5).engine).toBe('index');
    write('db', 'The staging database moved to port 6543.', { tags: ['infra'] });
    expect(a.memories.search('port', {}, 5).hits[0].row.content).toContain('6543');
    expect(keys(a, '5433')).toEqual([]);
    expect(keys(a, 'infra')).toEqual(['db']);
    write('db', 'The staging database moved to port 6543.', { tags: ['infra'], type: 'decision', importance: 0.9 });
    expect(keys(a, 'staging', { type: 'decision' })).toEqual(['db']);
    expect(keys(a, 'staging', { type: 'general' })).toEqual([]);
    expect(keys(a, 'staging', { minImportance: 0.8 })).toEqual(['db']);
    b.memories.forgetOne(b.memories.getByKey([''], 'db', false)!);
    expect(keys(a, 'staging')).toEqual([]);
    b.memories.restore('', 'db');
    expect(keys(a, 'staging')).toEqual(['db']);
    expect(a.memories.search('staging', {}, 5).engine).toBe('index');
  });

  it('builds in a process that is otherwise idle (background slices do not wait for other events)', () => {
    b.db.transaction(() => {
      for (let i = 0; i < 3000; i++) write(`idle-${i}`, `memory number ${i} about the idle build`);
    })();
    // A child process whose loop has nothing else to do: one timer, 3 s later, reads the state.
    const script = `
      const { createApp } = await import(${JSON.stringify(path.join(ROOT, 'dist/src/app.js'))});
      const { loadConfig } = await import(${JSON.stringify(path.join(ROOT, 'dist/src/core/config.js'))});
      const app = createApp(loadConfig(${JSON.stringify(brainEnv(dir))}));
      setTimeout(() => { console.log(JSON.stringify(app.memories.stats().recall_index)); app.close(); }, 3000);`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ state: 'ready', memories: 3000, changes_behind: 0 });
  });

  it('counts memories (all, hot, per project) as the file does, through other processes’ changes', () => {
    const sql = (project: string) =>
      a.db.prepare(`SELECT (SELECT count(*) FROM memories) AS total, (SELECT count(*) FROM memories WHERE storage_tier = 'hot') AS hot,
        (SELECT count(*) FROM memories WHERE project = ?) AS in_project`).get(project);
    for (let i = 0; i < 12; i++) b.memories.remember({ project: i % 3 ? 'work' : '', key: `c${i}`, content: `memory ${i}`, type: 'general', tags: [], importance: i / 12 });
    b.memories.remember({ project: 'work', key: 'pref', content: 'a preference', type: 'user_preferences', tags: [], importance: 0.2 });
    b.memories.rebalance('manual');
    expect(a.memories.counts('').total).toBe(13); // seen here, so the forgets below remove known memories
    b.memories.forgetOne(b.memories.getByKey(['work'], 'c1', false)!);
    b.memories.restore('work', 'c1');
    b.memories.forgetOne(b.memories.getByKey([''], 'c0', false)!);
    expect(a.memories.search('memory', {}, 5).engine).toBe('index');
    for (const project of ['', 'work', 'none']) expect(a.memories.counts(project), project).toEqual(sql(project));
    expect(a.memories.counts('work').hot).toBeGreaterThan(0);
  });

  it('a rare stored word that is two common words run together also matches them apart', () => {
    write('api', 'The public API is rate limited to 600 requests per minute.');
    write('oddity', 'One old note spells it ratelimit.');
    // Each part on its own is common (among other memories), the run-together word is not.
    b.db.transaction(() => {
      for (let i = 0; i < 200; i++) write(`other-${i}`, `an unrelated memory number ${i}`);
      for (let i = 0; i < 40; i++) write(`filler-${i}`, i % 2 ? `the rate of item ${i}` : `the limit of item ${i}`);
    })();
    expect(keys(a, 'ratelimit').slice(0, 2).sort()).toEqual(['api', 'oddity']);
  });

  it('a split word never pushes the last words of a 16-word query out of the search', () => {
    write('rl', 'ratelimit for the api');
    b.db.transaction(() => {
      for (let i = 0; i < 25; i++) write(`f${i}`, `rate and limit filler ${i}`);
    })();
    write('zz', 'only the word zanzibar appears here');
    const query = ['ratelimit', ...VOCAB.slice(0, 14), 'zanzibar'].join(' ');
    expect(query.split(' ')).toHaveLength(16);
    expect(a.memories.search(query, {}, 40).hits.map((h) => h.row.key)).toContain('zz');
    expect(a.memories.search(query, {}, 40).engine).toBe('index');
  });

  it('reads the texts it shows from the file, as they are now', () => {
    const long = (word: string) => `Runbook for the ${word} failover. ` + 'Step: check the replicas and the load balancer. '.repeat(100);
    write('runbook', long('orion'));
    write('short', 'The orion cluster has three replicas.');
    let hits = a.memories.search('orion', {}, 5).hits;
    expect(hits.map((h) => h.row.content).sort()).toEqual([long('orion'), 'The orion cluster has three replicas.'].sort());
    // Another process rewrites the long text; the words stay, so only the text read can show it.
    write('runbook', long('orion') + ' Updated.');
    hits = a.memories.search('orion', {}, 5).hits;
    expect(hits.find((h) => h.row.key === 'runbook')?.row.content).toBe(long('orion') + ' Updated.');
    expect(a.memories.search('orion', {}, 5).engine).toBe('index');
  });

  it('never joins a result to another memory that took its id between the check and the read', async () => {
    const long = (text: string) => text + ' ' + 'padding '.repeat(300);
    const alpha = b.memories.remember({ project: 'alpha', key: 'alpha-plan', content: long('zebra rollout plan'), type: 'general', tags: [], importance: 0.5 }).row;
    const index = new LiveIndex(a.db, silentLogger());
    index.start();
    while (!index.ready) await new Promise((r) => setTimeout(r, 5));
    const view = index.current(); // what a search checks first
    // Meanwhile another process forgets it and writes a memory of another project, which reuses the id.
    b.memories.forgetOne(alpha);
    const beta = b.memories.remember({ project: 'beta', key: 'beta-private', content: long('BETA PRIVATE zebra'), type: 'general', tags: [], importance: 0.5 }).row;
    expect(beta.id).toBe(alpha.id);
    const hits = searchMemories(a.db, parseQuery('zebra'), { projects: ['alpha'] }, 5, new Set(), view).hits;
    expect(hits.map((h) => [h.row.key, h.row.content.slice(0, 18)])).toEqual([]);
    index.stop();
  });

  it('finds memories with ids past 32 bits, and accented words through spelling correction', async () => {
    b.memories.importLines([
      JSON.stringify({ kind: 'memory', id: 3_000_000_000, project: '', key: 'imported', content: 'imported note about zebras', type: 'general', tags: [], importance: 0.5, updated_at: new Date().toISOString() }),
    ]);
    write('later', 'a later memory about zebras');
    expect(b.db.prepare("SELECT id FROM memories WHERE key = 'later'").pluck().get()).toBe(3_000_000_001);
    expect(keys(a, 'zebras').sort()).toEqual(['imported', 'later']);
    write('office', 'Our main office is in Zürich, next to the Müller bakery.');
    await new Promise((r) => setTimeout(r, 300));
    for (const typo of ['zurch', 'zuerich', 'mullr']) expect(keys(a, typo), typo).toEqual(['office']);
    expect(a.memories.search('zurch', {}, 5).engine).toBe('index');
  });

  it("another process's new words reach the typo search within a moment", async () => {
    write('kube', 'Production runs on a Kubernetes cluster in Frankfurt.');
    // The word list is written shortly after the remember (terms.ts), not inside it.
    await new Promise((r) => setTimeout(r, 300));
    expect(keys(a, 'kubernets')).toEqual(['kube']);
    expect(keys(a, 'frankfrut')).toEqual(['kube']);
  });

  it('rebuilds when the change log was pruned past it, answering through FTS5 meanwhile', async () => {
    write('one', 'alpha bravo');
    expect(keys(a, 'alpha')).toEqual(['one']);
    write('two', 'alpha charlie');
    write('three', 'alpha delta');
    b.db.prepare('DELETE FROM memory_changes WHERE seq < (SELECT max(seq) FROM memory_changes)').run();
    const meanwhile = a.memories.search('alpha', {}, 10);
    expect(meanwhile.engine).toBe('fts');
    expect(meanwhile.hits.map((h) => h.row.key).sort()).toEqual(['one', 'three', 'two']);
    await indexReady(a);
    expect(a.memories.search('alpha', {}, 10).engine).toBe('index');
    expect(keys(a, 'alpha').sort()).toEqual(['one', 'three', 'two']);
    expect(keys(a, 'charlie')).toEqual(['two']);
  });

  it('applies a large backlog in the background and answers through FTS5 meanwhile', async () => {
    b.db.transaction(() => {
      for (let i = 0; i < 2500; i++) write(`bulk-${i}`, `bulk import number ${i} about ${VOCAB[i % VOCAB.length]}`);
    })();
    const meanwhile = a.memories.search('zulu bulk', {}, 200);
    expect(meanwhile.engine).toBe('fts');
    expect(meanwhile.hits.length).toBe(104);
    for (let i = 0; i < 300 && a.memories.search('zulu', {}, 1).engine !== 'index'; i++) await new Promise((r) => setTimeout(r, 10));
    const caughtUp = a.memories.search('zulu bulk', {}, 200);
    expect(caughtUp.engine).toBe('index');
    const withAll = (r: typeof meanwhile) => r.hits.filter((h) => h.why.match === 'all_words').map((h) => h.row.key).sort();
    expect(withAll(caughtUp)).toEqual(withAll(meanwhile));
  });
});

describe('the index file beside the database', () => {
  let dir: string;
  let a: App;
  let b: App;
  let file: string;
  const started: LiveIndex[] = [];
  beforeEach(() => {
    dir = tempDir();
    a = createApp(testConfig(dir));
    b = createApp(testConfig(dir, { BRAIN_RECALL_INDEX: 'false' }));
    file = indexFileOf(path.join(dir, 'brain.db'))!;
    const rand = rng(3);
    b.db.transaction(() => {
      for (let i = 0; i < 300; i++) {
        const words = Array.from({ length: 4 + (i % 9) }, () => VOCAB[Math.floor(rand() * VOCAB.length)]).join(' ');
        write(`m${i}`, `memory ${i}: ${words}, filed under the orion project`, { tags: i % 4 ? [] : ['infra'], importance: (i % 10) / 10 });
      }
    })();
    // Stored words reach memory_terms 100 ms after a write: every index compared here sees all of them.
    flushTerms(b.db);
  });
  afterEach(() => {
    for (const index of started.splice(0)) index.stop();
    a.close();
    b.close();
  });
  const write = (key: string, content: string, extra: Partial<Parameters<App['memories']['remember']>[0]> = {}) =>
    b.memories.remember({ project: '', key, content, type: 'general', tags: [], importance: 0.5, ...extra });
  const until = async (done: () => boolean) => {
    for (let i = 0; i < 1000 && !done(); i++) await new Promise((r) => setTimeout(r, 5));
    expect(done()).toBe(true);
  };
  /** A started index on a's connection, and the debug messages it logged. */
  const open = (persist = true) => {
    const logger = silentLogger();
    const debug = vi.spyOn(logger, 'debug');
    const index = new LiveIndex(a.db, logger, { file: persist ? file : undefined, persistMinMemories: 1 });
    started.push(index);
    index.start();
    return { index, said: (message: string) => debug.mock.calls.some((c) => (c[0] as unknown) === message) };
  };
  const recorded = () => a.db.prepare('SELECT token, seq FROM recall_index_file').get() as { token: string; seq: number } | undefined;
  const NOW = Date.parse('2030-01-01T00:00:00Z');
  const QUERIES = ['orion', 'alpha bravo', 'zulu infra', 'memory 42', 'tango orion yankee', 'kilo limaa', 'whiskee', 'late nebula'];
  /** What each query finds through an index: keys, scores and text scores, for comparing two indexes exactly. */
  const answers = (index: LiveIndex, filter = {}) =>
    QUERIES.map((q) => searchMemories(a.db, parseQuery(q), filter, 10, new Set(), index.current()!, NOW).hits.map((h) => [h.row.key, h.score, h.why.text, h.why.match]));
  const fresh = async () => {
    const built = open(false);
    await until(() => built.index.ready);
    return built.index;
  };

  it('is written after a build; a process starting later loads it and catches up from the change log', async () => {
    const first = open();
    await until(() => first.index.ready && recorded() !== undefined);
    expect(first.said('recall index built')).toBe(true);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(recorded()!.seq).toBe(first.index.current()!.seq);
    first.index.stop();
    // Changed after the file was written: the next index sees these through the log.
    write('late', 'a late memory about the orion nebula');
    write('m5', 'memory 5 rewritten: nebula only');
    b.memories.forgetOne(b.memories.getByKey([''], 'm6', false)!);
    b.memories.remember({ project: '', key: 'm7', content: (b.memories.getByKey([''], 'm7', false)!).content, type: 'decision', tags: [], importance: 0.9 });
    const second = open();
    await until(() => second.index.ready);
    expect(second.said('recall index loaded')).toBe(true);
    expect(second.said('recall index built')).toBe(false);
    const reference = await fresh();
    expect(answers(second.index)).toEqual(answers(reference));
    expect(answers(second.index, { type: 'decision' })).toEqual(answers(reference, { type: 'decision' }));
    expect(answers(second.index, { tags: ['infra'], minImportance: 0.3 })).toEqual(answers(reference, { tags: ['infra'], minImportance: 0.3 }));
    expect(second.index.counts()).toMatchObject({ total: 300, hot: reference.counts()!.hot });
  });

  it("one the database does not name, or one the log no longer reaches back to, is checked against every row", async () => {
    const first = open();
    await until(() => first.index.ready && recorded() !== undefined);
    first.index.stop();
    for (const [i, damage] of [
      // The log pruned past the file: changes made since are known only from the rows.
      () => a.db.prepare('DELETE FROM memory_changes').run(),
      // Another token: a restored backup, or a file copied from elsewhere.
      () => a.db.prepare("UPDATE recall_index_file SET token = 'another'").run(),
    ].entries()) {
      write(`late${i}`, `a late memory ${i} about the orion nebula`);
      write(`m${10 + i}`, `memory rewritten: nebula ${i} only`, { importance: 0.95 });
      b.memories.forgetOne(b.memories.getByKey([''], `m${20 + i}`, false)!);
      damage();
      // The file stays as it is (this index may not write it), so each round checks the same one.
      const checked = (() => {
        const logger = silentLogger();
        const debug = vi.spyOn(logger, 'debug');
        const index = new LiveIndex(a.db, logger, { file, persistMinMemories: Infinity });
        started.push(index);
        index.start();
        return { index, said: (message: string) => debug.mock.calls.some((c) => (c[0] as unknown) === message) };
      })();
      await until(() => checked.index.ready);
      expect(checked.said('recall index loaded')).toBe(false);
      expect(checked.said('recall index built')).toBe(true);
      const reference = await fresh();
      expect(answers(checked.index)).toEqual(answers(reference));
      expect(answers(checked.index, { minImportance: 0.9 })).toEqual(answers(reference, { minImportance: 0.9 }));
      expect(checked.index.counts()!.total).toBe(reference.counts()!.total);
    }
  });

  it('a damaged file is ignored and the index built from the rows', async () => {
    const first = open();
    await until(() => first.index.ready && recorded() !== undefined);
    first.index.stop();
    fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
    const next = open();
    await until(() => next.index.ready);
    expect(next.said('recall index built')).toBe(true);
    expect(answers(next.index)).toEqual(answers(await fresh()));
  });
});
