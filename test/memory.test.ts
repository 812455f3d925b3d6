// The memory area on a real temp-file database: search, scoping, filters, paging, expiry,
// versions, tiers and the hot cache, credential refusal, and query plans of the hot paths.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/app.js';
import { isBusy, withoutWaiting } from '../src/core/db.js';
import { UserError } from '../src/core/errors.js';
import { editDistance } from '../src/text/fuzzy.js';
import { indexReady, tempDir, testConfig } from './helpers/brain.js';

let dir: string;
let app: App;

function remember(content: string, extra: Partial<Parameters<App['memories']['remember']>[0]> = {}) {
  return app.memories.remember({ project: '', content, type: 'general', tags: [], importance: 0.5, ...extra }).row;
}
const keysOf = (query: string | undefined, filter: Parameters<App['memories']['search']>[1] = {}, limit = 10) =>
  app.memories.search(query, filter, limit).hits.map((h) => h.row.key);

// Every test runs with both ranking engines: FTS5 alone, and the in-process index once built.
describe.each([
  ['FTS5', false],
  ['the in-process index', true],
])('recall through %s', (_engine, useIndex) => {
  beforeEach(async () => {
    dir = tempDir();
    app = createApp(testConfig(dir, { BRAIN_RECALL_INDEX: String(useIndex) }));
    if (useIndex) await indexReady(app);
  });
  afterEach(() => {
    app.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('recall search', () => {
    beforeEach(() => {
      remember('Production runs on a Kubernetes cluster of three nodes in Frankfurt.', { key: 'kube' });
      remember('The staging database is PostgreSQL 16 on db-staging, port 5433.', { key: 'staging', tags: ['infra'] });
      remember('The user prefers vim keybindings in every editor.', { key: 'vim', type: 'user_preferences', importance: 0.9 });
      remember('Deployments go out on Tuesdays after the release checklist.', { key: 'deploys' });
    });

    it('finds by stemmed words and ranks the best match first', () => {
      expect(keysOf('deployment tuesday')[0]).toBe('deploys');
      expect(keysOf('databases staging')[0]).toBe('staging');
    });

    it('finds misspelled words and fragments', () => {
      expect(keysOf('kubernetse')).toContain('kube');
      expect(keysOf('Frankfrut cluster')).toContain('kube');
      expect(keysOf('postgre')).toContain('staging');
      expect(keysOf('keybind')).toContain('vim');
      expect(keysOf('stagign databse')).toContain('staging');
    });

    it('an abbreviation finds its long form, everyday synonyms work both ways', () => {
      remember('The user is on holiday from 2 to 16 August.', { key: 'away' });
      remember('The prod db lives on host db-01.', { key: 'abbrev' });
      expect(keysOf('k8s cluster')).toContain('kube');
      expect(keysOf('vacation')).toContain('away');
      remember('Vacation days left this year: 12.', { key: 'days' });
      expect(keysOf('holiday')).toEqual(expect.arrayContaining(['away', 'days']));
      // A word and its synonym count the same: one memory says "DST", the other "daylight".
      remember('The DST switch broke the nightly job.', { key: 'clock-a' });
      remember('The daylight switch broke the nightly job.', { key: 'clock-b' });
      const scores = app.memories.search('dst switch', {}, 5).hits.filter((h) => h.row.key.startsWith('clock-')).map((h) => h.why.text);
      expect(scores).toHaveLength(2);
      expect(scores[0]).toBe(scores[1]);
      // One way only: asking for the long form does not bring every abbreviation along.
      expect(keysOf('database')).not.toContain('abbrev');
      expect(keysOf('database')).toContain('staging');
      expect(keysOf('db')).toEqual(expect.arrayContaining(['abbrev', 'staging']));
    });

    it('corrects to a word remembered a moment ago without writing the word list first', () => {
      remember('The quarterly offsite is in Lisbon.', { key: 'offsite' });
      // The new words wait ~100 ms before they are written; a typo search meanwhile still sees them,
      // and does not wait for the write lock another process holds now.
      const other = new Database(path.join(dir, 'brain.db'));
      other.prepare('BEGIN IMMEDIATE').run();
      const started = performance.now();
      try {
        expect(app.db.prepare(`SELECT count(*) FROM memory_terms WHERE term = 'quarterly'`).pluck().get()).toBe(0);
        expect(keysOf('quartely lisbn')).toContain('offsite');
        expect(performance.now() - started).toBeLessThan(5000); // not the busy timeout, 15 s
      } finally {
        other.prepare('ROLLBACK').run();
        other.close();
      }
      expect(app.db.prepare(`SELECT count(*) FROM memory_terms WHERE term = 'quarterly'`).pluck().get()).toBe(0);
    });

    it('background writes fail at once on another process’s lock, then wait as before', () => {
      const other = new Database(path.join(dir, 'brain.db'));
      other.prepare('BEGIN IMMEDIATE').run();
      const timeout = app.db.pragma('busy_timeout', { simple: true });
      const started = performance.now();
      let error: unknown;
      try {
        withoutWaiting(app.db, () => app.db.prepare(`INSERT INTO config (key, value, updated_at) VALUES ('x', 'y', 'z')`).run());
      } catch (err) {
        error = err;
      }
      other.prepare('ROLLBACK').run();
      other.close();
      expect(isBusy(error)).toBe(true);
      expect(performance.now() - started).toBeLessThan(2000); // not the busy timeout, 15 s
      expect(app.db.pragma('busy_timeout', { simple: true })).toBe(timeout);
      expect(timeout).toBeGreaterThan(0);
    });

    it('writing the word list in the background never waits for another process’s write lock', async () => {
      const other = new Database(path.join(dir, 'brain.db'));
      remember('Words nobody stored before: quillback, marmoset, tamarind.', { key: 'new-words' });
      other.prepare('BEGIN IMMEDIATE').run();
      // The flush is due 100 ms after the remember; while the lock is held, the event loop keeps turning.
      let last = performance.now();
      let worstGap = 0;
      const ticker = setInterval(() => {
        const now = performance.now();
        worstGap = Math.max(worstGap, now - last);
        last = now;
      }, 10);
      await new Promise((r) => setTimeout(r, 400));
      clearInterval(ticker);
      other.prepare('ROLLBACK').run();
      other.close();
      expect(worstGap).toBeLessThan(2000); // waiting for the lock would take the busy timeout, 15 s
      const stored = () => app.db.prepare(`SELECT count(*) FROM memory_terms WHERE term = 'quillback'`).pluck().get();
      expect(stored()).toBe(0);
      // Retried a second later, once the lock is free.
      for (let i = 0; i < 40 && stored() === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(stored()).toBe(1);
    });

    it('corrects swapped letters when the misspelling’s own trigrams are rare and the rest are common', () => {
      remember('Indent with two spaces; indentation with tabs is not allowed.', { key: 'indent' });
      // "indnetation" has trigrams that "indentation" lacks (dne, net, eta): a few stored words hold
      // them. Hundreds of shorter words (more than the probe reads) share the trigrams both have (ind, nde, tat, ati, tio, ion).
      const suffix = (i: number) => String.fromCharCode(97 + (i % 26)) + String.fromCharCode(97 + Math.floor(i / 26));
      remember('dnex netx etax dney nety etay', { key: 'rare' });
      const common = Array.from({ length: 800 }, (_, i) => (i % 2 ? 'inde' : 'tation') + suffix(i));
      for (let i = 0; i < common.length; i += 50) remember(common.slice(i, i + 50).join(' '), { key: `common-${i}` });
      expect(keysOf('indnetation')).toContain('indent');
    });

    it('never breaks on FTS syntax in user text', () => {
      for (const q of ['foo AND (', '"', '""""', '*', 'NEAR(a b, 2)', 'a:b', '-x', '^start', '(((', 'OR', 'AND NOT', '🙂', 'ünïcödé', '\u0000', 'x'.repeat(1000)]) {
        expect(() => app.memories.search(q, {}, 10)).not.toThrow();
      }
      expect(keysOf('"staging" AND (')).toContain('staging');
    });

    it('explains the ranking of every result', () => {
      const [hit] = app.memories.search('kubernetes', {}, 1).hits;
      expect(hit.why).toMatchObject({ match: 'all_words', tier: 0, importance: 0.5 });
      expect(hit.why.text).toBeGreaterThan(0);
      expect(hit.score).toBeGreaterThan(0);
    });

    it('filters by type, tags, importance and time', () => {
      expect(keysOf(undefined, { type: 'user_preferences' })).toEqual(['vim']);
      expect(keysOf(undefined, { tags: ['infra'] })).toEqual(['staging']);
      expect(keysOf(undefined, { minImportance: 0.8 })).toEqual(['vim']);
      expect(keysOf(undefined, { since: '2999-01-01 00:00:00.000' })).toEqual([]);
      expect(keysOf(undefined, { until: '2000-01-01 00:00:00.000' })).toEqual([]);
      expect(keysOf(undefined, {}).sort()).toEqual(['deploys', 'kube', 'staging', 'vim']);
    });

    it('pages through results without repeats', () => {
      for (let i = 0; i < 25; i++) remember(`Note number ${i} about the shared topic of caching`, { key: `cache-${i}` });
      const seen: string[] = [];
      const shown = new Set<number>();
      for (let page = 0; page < 3; page++) {
        const { hits, more } = app.memories.search('caching topic', {}, 10, shown);
        for (const h of hits) shown.add(h.row.id);
        seen.push(...hits.map((h) => h.row.key));
        expect(more).toBe(page < 2);
      }
      expect(seen.length).toBe(25);
      expect(new Set(seen).size).toBe(25);
    });
  });

  describe('projects', () => {
    it('keeps projects apart and shows global items everywhere', () => {
      remember('alpha secret plan', { project: 'alpha', key: 'a' });
      remember('beta launch plan', { project: 'beta', key: 'b' });
      remember('global plan for everyone', { key: 'g' });
      expect(keysOf('plan', { projects: ['alpha', ''] }).sort()).toEqual(['a', 'g']);
      expect(keysOf('plan', { projects: ['beta', ''] }).sort()).toEqual(['b', 'g']);
      expect(keysOf('plan', {}).sort()).toEqual(['a', 'b', 'g']);
      // The same key may exist in two projects.
      remember('alpha version', { project: 'alpha', key: 'same' });
      remember('beta version', { project: 'beta', key: 'same' });
      expect(app.memories.getByKey(['alpha', ''], 'same')!.content).toBe('alpha version');
      expect(app.memories.getByKey(['beta', ''], 'same')!.content).toBe('beta version');
    });
  });

  describe('nothing is lost by accident', () => {
    it('keeps earlier versions and restores them', () => {
      remember('first text', { key: 'k' });
      remember('second text', { key: 'k' });
      const third = remember('third text', { key: 'k' });
      expect(third.version).toBe(3);
      expect(app.memories.history('', 'k').map((h) => h.content)).toEqual(['second text', 'first text']);
      const back = app.memories.restore('', 'k', 1);
      expect(back).toMatchObject({ content: 'first text', version: 4 });
      expect(app.memories.history('', 'k')[0].content).toBe('third text');
    });

    it('an identical remember is not a new version', () => {
      remember('same', { key: 'k' });
      expect(remember('same', { key: 'k' }).version).toBe(1);
    });

    it('restores a forgotten memory, and bulk forgetting needs confirmation', () => {
      const row = remember('to be forgotten', { key: 'gone', tags: ['tmp'] });
      app.memories.forgetOne(row);
      expect(app.memories.getByKey([''], 'gone')).toBeUndefined();
      expect(app.memories.restore('', 'gone')).toMatchObject({ content: 'to be forgotten' });
      expect(app.memories.getByKey([''], 'gone')!.tags).toBe('["tmp"]');
      remember('another tmp', { key: 'gone2', tags: ['tmp'] });
      expect(() => app.memories.forgetMatching({ projects: [''], tags: ['tmp'] }, false)).toThrow(/would forget 2 memories/);
      expect(keysOf(undefined, { tags: ['tmp'] }).length).toBe(2);
      expect(app.memories.forgetMatching({ projects: [''], tags: ['tmp'] }, true).forgotten).toBe(2);
      expect(keysOf(undefined, { tags: ['tmp'] })).toEqual([]);
    });

    it('never returns expired memories, and purges them', () => {
      remember('short lived', { key: 'ttl', ttlSeconds: 1 });
      app.db.prepare(`UPDATE memories SET expires_at = '2000-01-01 00:00:00.000' WHERE key = 'ttl'`).run();
      expect(keysOf('short lived')).toEqual([]);
      expect(app.memories.getByKey([''], 'ttl')).toBeUndefined();
      expect(app.memories.purge().expired).toBe(1);
      expect(app.db.prepare('SELECT count(*) FROM memories').pluck().get()).toBe(0);
    });

    it('a refused write leaves the database as it was', () => {
      remember('kept', { key: 'k' });
      const before = fs.readFileSync(path.join(dir, 'brain.db')).length;
      const count = () => app.db.prepare('SELECT count(*) FROM memories').pluck().get();
      expect(() => remember('x'.repeat(300 * 1024))).toThrow(UserError);
      expect(() => remember('-----BEGIN RSA PRIVATE KEY-----\nabc')).toThrow(/private key/);
      // The key and the tags are stored and read back too.
      const token = 'ghp_' + 'Zk3q9XvB2mLp7RtY4wNc8HdJ6sFa1GeU0iOb';
      expect(() => remember('harmless text', { key: `deploy-${token}` })).toThrow(/"key" looks like it contains a GitHub token/);
      expect(() => remember('harmless text', { tags: ['ci', token] })).toThrow(/"tags" looks like it contains a GitHub token/);
      expect(count()).toBe(1);
      expect(fs.readFileSync(path.join(dir, 'brain.db')).length).toBe(before);
      expect(remember('-----BEGIN RSA PRIVATE KEY-----\nabc', { allowSecrets: true }).key).toBeTruthy();
    });
  });

  describe('tiers', () => {
    it('keeps the best scores hot within the budget, protected types always hot', () => {
      app.close();
      app = createApp(testConfig(dir, { BRAIN_HOT_TIER_MAX_ITEMS: '3' }));
      for (let i = 0; i < 6; i++) remember(`ordinary memory ${i}`, { key: `m${i}`, importance: i / 10 });
      for (let i = 0; i < 2; i++) remember(`preference ${i}`, { key: `p${i}`, type: 'user_preferences', importance: 0.1 });
      const result = app.memories.rebalance('manual');
      const hot = app.db.prepare(`SELECT key FROM memories WHERE storage_tier = 'hot' ORDER BY key`).pluck().all();
      // The two preferences are protected; the one remaining slot goes to the highest score.
      expect(hot).toEqual(['m5', 'p0', 'p1']);
      expect(result.hot_items).toBe(3);
      expect(app.memories.stats().tier_moves.recent.length).toBe(1);
      // Accesses raise a score: m0 used a lot overtakes m5.
      for (let i = 0; i < 20; i++) app.memories.getByKey([''], 'm0');
      app.memories.rebalance('manual');
      expect(app.db.prepare(`SELECT key FROM memories WHERE storage_tier = 'hot' ORDER BY key`).pluck().all()).toEqual(['m0', 'p0', 'p1']);
      expect(app.db.prepare('SELECT count(*) FROM memories').pluck().get()).toBe(8);
    });

    it('the scheduler rebalances in small writes with other work between them, to the same tiers', async () => {
      app.close();
      app = createApp(testConfig(dir, { BRAIN_HOT_TIER_MAX_ITEMS: '50' }));
      const insert = app.db.prepare(
        `INSERT INTO memories (project, key, content, importance, size_bytes, memory_score, created_at, updated_at) VALUES ('', ?, ?, ?, 20, 0, ?, ?)`,
      );
      // 9,000 memories whose stored scores are all stale (as after an import): every row needs a write.
      app.db.transaction(() => {
        for (let i = 0; i < 9_000; i++) insert.run(`k${i}`, `memory number ${i}`, (i % 97) / 100, '2026-11-01 00:00:00.000', '2026-11-01 00:00:00.000');
      })();
      let turns = 0;
      const ticker = setInterval(() => turns++, 0);
      const sliced = await app.memories.rebalanceInSlices('schedule');
      clearInterval(ticker);
      // The event loop ran between the writes: timers fired while the rebalance was under way.
      expect(turns).toBeGreaterThan(2);
      expect(sliced.hot_items).toBe(50);
      const stale = app.db.prepare(`SELECT count(*) FROM memories WHERE memory_score = 0`).pluck().get();
      expect(stale).toBe(0);
      // One statement over everything now finds nothing left to move.
      expect(app.memories.rebalance('manual')).toMatchObject({ promoted: 0, demoted: 0, hot_items: 50 });
    });

    it('a scheduled rebalance is skipped while nothing changed, and then writes nothing', () => {
      remember('first memory', { key: 'a' });
      remember('second memory', { key: 'b' });
      const moves = () => app.db.prepare('SELECT count(*) FROM tier_moves').pluck().get();
      const t0 = Date.now();
      expect(app.memories.rebalance('schedule', t0).skipped).toBeUndefined();
      expect(moves()).toBe(1);
      // Nothing written, nothing used: skipped, and the file is left alone (another connection
      // would see a commit as a new data_version).
      const other = new Database(path.join(dir, 'brain.db'));
      try {
        const before = other.pragma('data_version', { simple: true });
        expect(app.memories.rebalance('schedule', t0 + 60_000)).toMatchObject({ skipped: true, promoted: 0, demoted: 0 });
        expect(other.pragma('data_version', { simple: true })).toBe(before);
        expect(moves()).toBe(1);
        // A memory written by another process makes the next one run.
        other
          .prepare(`INSERT INTO memories (project, key, content, size_bytes, created_at, updated_at) VALUES ('', 'c', 'from elsewhere', 14, ?, ?)`)
          .run('2026-01-01 00:00:00.000', '2026-01-01 00:00:00.000');
      } finally {
        other.close();
      }
      expect(app.memories.rebalance('schedule', t0 + 120_000).skipped).toBeUndefined();
      expect(app.memories.rebalance('schedule', t0 + 180_000).skipped).toBe(true);
      // So does a memory this process used.
      expect(app.memories.getByKey([''], 'a')?.key).toBe('a');
      expect(app.memories.rebalance('schedule', t0 + 240_000).skipped).toBeUndefined();
      expect(app.memories.rebalance('schedule', t0 + 300_000).skipped).toBe(true);
      // Six hours on it runs anyway (scores drift with time), and asked for, it always runs.
      expect(app.memories.rebalance('schedule', t0 + 300_000 + 6 * 3_600_000).skipped).toBeUndefined();
      expect(app.memories.rebalance('manual').skipped).toBeUndefined();
      expect(moves()).toBe(5);
    });

    it('a file never rebalanced gets its first rebalance soon after start-up, and only once', async () => {
      app.close();
      app = createApp(testConfig(dir, { BRAIN_HOT_TIER_MAX_ITEMS: '3' }));
      for (let i = 0; i < 6; i++) remember(`ordinary memory ${i}`, { key: `m${i}`, importance: i / 10 });
      expect(app.memories.neverRebalanced()).toBe(true);
      app.close();
      const startups = () => app.db.prepare(`SELECT count(*) FROM tier_moves WHERE trigger = 'startup'`).pluck().get();
      for (let start = 0; start < 2; start++) {
        app = createApp(testConfig(dir, { BRAIN_HOT_TIER_MAX_ITEMS: '3' }), { mode: 'embedded', firstRebalanceDelayMs: 10 });
        for (let i = 0; i < 100 && startups() === 0; i++) await new Promise((r) => setTimeout(r, 20));
        await new Promise((r) => setTimeout(r, 100)); // room for a second one, which must not come
        expect(startups()).toBe(1);
        expect(app.db.prepare(`SELECT key FROM memories WHERE storage_tier = 'hot' ORDER BY key`).pluck().all()).toEqual(['m3', 'm4', 'm5']);
        if (start === 0) app.close();
      }
      // Rebalancing turned off (interval 0) means this one too.
      app.db.prepare('DELETE FROM tier_moves').run();
      app.close();
      app = createApp(testConfig(dir, { BRAIN_REBALANCE_INTERVAL_MIN: '0' }), { mode: 'embedded', firstRebalanceDelayMs: 10 });
      await new Promise((r) => setTimeout(r, 200));
      expect(app.db.prepare('SELECT count(*) FROM tier_moves').pluck().get()).toBe(0);
    });

    it('the hot cache sees writes from another process on the same file', () => {
      remember('hot one', { key: 'h', importance: 0.9 });
      // A hot memory is read from the cache (getByKey asks it first, init lists it from it).
      const initKeys = () => app.memories.initContext([''], 0).memories.map((m) => [m.key, m.content]);
      expect(app.memories.getByKey([''], 'h', false)?.content).toBe('hot one');
      expect(initKeys()).toEqual([['h', 'hot one']]);
      const other = new Database(path.join(dir, 'brain.db'));
      other.prepare(`UPDATE memories SET content = 'changed elsewhere' WHERE key = 'h'`).run();
      other.prepare(`INSERT INTO memories (project, key, content, type, tags, importance, storage_tier, size_bytes, memory_score, created_at, updated_at)
        VALUES ('', 'h2', 'hot from elsewhere', 'general', '[]', 0.9, 'hot', 18, 0.1, '2026-01-01 00:00:00.000', '2026-01-01 00:00:00.000')`).run();
      other.close();
      expect(app.memories.getByKey([''], 'h', false)?.content).toBe('changed elsewhere');
      expect(initKeys()).toEqual([['h', 'changed elsewhere'], ['h2', 'hot from elsewhere']]);
    });
  });

  describe('word list', () => {
    it('edit distance counts a swap of neighbours as one edit', () => {
      expect(editDistance('stagign', 'staging', 2)).toBe(1);
      expect(editDistance('kubernets', 'kubernetes', 2)).toBe(1);
      expect(editDistance('abc', 'xyz', 1)).toBe(2);
    });
  });

  describe('export and import', () => {
    it('round-trips losslessly, history included', () => {
      remember('v1', { key: 'a', project: 'p1', tags: ['t'], importance: 0.7 });
      remember('v2', { key: 'a', project: 'p1', tags: ['t'], importance: 0.7 });
      remember('global', { key: 'b', type: 'fact' });
      const lines = [...app.memories.exportLines()];
      const other = createApp(testConfig(tempDir()));
      try {
        const report = other.memories.importLines(lines);
        expect(report).toMatchObject({ format: 'brain', created: 2, history: 1, errors: [] });
        expect([...other.memories.exportLines()]).toEqual(lines);
        // Importing again changes nothing.
        expect(other.memories.importLines(lines)).toMatchObject({ created: 0, updated: 0, skipped: 2, history: 0 });
      } finally {
        other.close();
      }
    });

    it('an import is seen at once by lookups by key and by init, hot tier included', () => {
      remember('old text', { key: 'k', importance: 0.9 });
      expect(app.memories.getByKey([''], 'k', false)?.content).toBe('old text');
      const later = new Date(Date.now() + 60_000).toISOString();
      const report = app.memories.importLines([
        JSON.stringify({ kind: 'memory', key: 'k', content: 'imported text', importance: 0.9, storage_tier: 'hot', updated_at: later }),
        JSON.stringify({ kind: 'memory', key: 'pref', content: 'imported preference', type: 'user_preferences', storage_tier: 'hot' }),
      ]);
      expect(report).toMatchObject({ created: 1, updated: 1, errors: [] });
      expect(app.memories.getByKey([''], 'k', false)?.content).toBe('imported text');
      const start = app.memories.initContext([''], 0);
      expect(start.preferences.map((m) => m.content)).toEqual(['imported preference']);
      expect(start.memories.map((m) => m.content)).toEqual(['imported text']);
    });

    it('imports the memory.jsonl of @modelcontextprotocol/server-memory', () => {
      const lines = [
        JSON.stringify({ type: 'entity', name: 'John_Smith', entityType: 'person', observations: ['Speaks fluent Spanish', 'Works at Acme'] }),
        JSON.stringify({ type: 'entity', name: 'Acme', entityType: 'organization', observations: ['Makes anvils'] }),
        JSON.stringify({ type: 'relation', from: 'John_Smith', to: 'Acme', relationType: 'works_at' }),
        'not json',
      ];
      const report = app.memories.importLines(lines);
      expect(report).toMatchObject({ format: 'server-memory', created: 2 });
      expect(report.errors).toEqual(['line 4: ' + report.errors[0].slice('line 4: '.length)]);
      const john = app.memories.getByKey([''], 'John_Smith')!;
      expect(john.content).toBe('John_Smith (person)\n- Speaks fluent Spanish\n- Works at Acme');
      expect(app.memories.links(john, 10)).toEqual([{ type: 'works_at', direction: 'out', key: 'Acme', project: '', id: app.memories.getByKey([''], 'Acme')!.id }]);
      expect(JSON.parse(john.tags)).toEqual(['server-memory', 'person']);
      expect(keysOf('spanish')).toContain('John_Smith');
    });

    it('a server-memory relation is a relation, seen from both its ends', () => {
      const entity = (name: string, entityType: string) => JSON.stringify({ type: 'entity', name, entityType, observations: [] });
      const relation = (from: string, relationType: string, to: string) => JSON.stringify({ type: 'relation', from, to, relationType });
      const report = app.memories.importLines([
        entity('Alice', 'person'),
        entity('Bob', 'person'),
        entity('Anthropic', 'organization'),
        relation('Alice', 'works_at', 'Anthropic'),
        relation('Bob', 'works_at', 'Anthropic'),
        relation('Alice', 'mentors', 'Carol'),
      ]);
      // Carol is only the end of a relation: no memory, and the relation waits for one.
      expect(report).toMatchObject({ created: 3, errors: [] });
      const links = (key: string) => app.memories.links(app.memories.getByKey([''], key)!, 10).map((l) => `${l.direction} ${l.type} ${l.key}${l.id ? '' : ' (pending)'}`);
      expect(links('Anthropic')).toEqual(['in works_at Alice', 'in works_at Bob']);
      expect(links('Alice')).toEqual(['out mentors Carol (pending)', 'out works_at Anthropic']);
      expect(app.memories.getByKey([''], 'Anthropic')!.content).toBe('Anthropic (organization)');
      remember('Carol leads the research team.', { key: 'Carol' });
      expect(links('Carol')).toEqual(['in mentors Alice']);
      expect(links('Alice')).toEqual(['out mentors Carol', 'out works_at Anthropic']);
    });

    it('importing an unchanged file again makes no new version; a changed entity makes one', () => {
      const entity = (name: string, observations: string[]) => JSON.stringify({ type: 'entity', name, entityType: 'person', observations });
      const lines = [entity('Ada', ['Writes programs']), entity('Alan', ['Breaks codes']), JSON.stringify({ type: 'relation', from: 'Ada', to: 'Alan', relationType: 'knows' })];
      expect(app.memories.importLines(lines)).toMatchObject({ created: 2, updated: 0, skipped: 0 });
      // An importance set in brain since stays: a server-memory file carries none.
      app.db.prepare(`UPDATE memories SET importance = 0.9 WHERE key = 'Alan'`).run();
      const seen: [number, number][] = [];
      expect(app.memories.importLines(lines, (done, total) => seen.push([done, total]))).toMatchObject({ created: 0, updated: 0, skipped: 2, history: 0 });
      expect(seen.at(-1)).toEqual([2, 2]);
      expect(app.memories.history('', 'Ada')).toEqual([]);
      expect(app.memories.getByKey([''], 'Ada')!.version).toBe(1);
      expect(app.memories.getByKey([''], 'Alan')!.importance).toBe(0.9);

      const changed = [entity('Ada', ['Writes programs', 'Wrote the first one']), lines[1], lines[2]];
      expect(app.memories.importLines(changed)).toMatchObject({ created: 0, updated: 1, skipped: 1 });
      expect(app.memories.history('', 'Ada').map((h) => [h.content, JSON.parse(h.relations)])).toEqual([['Ada (person)\n- Writes programs', [{ type: 'knows', to: 'Alan' }]]]);
      expect(app.memories.getByKey([''], 'Ada')!.version).toBe(2);
      // A new relation in the file is a change too; the ones brain added since stay.
      const ada = app.memories.getByKey([''], 'Ada')!;
      app.memories.relate(ada.id, () => ({ add: [{ type: 'admires', to: 'Babbage' }] }));
      const more = [...changed, JSON.stringify({ type: 'relation', from: 'Ada', to: 'Alan', relationType: 'met' })];
      expect(app.memories.importLines(more)).toMatchObject({ created: 0, updated: 1, skipped: 1 });
      expect(app.memories.links(app.memories.getByKey([''], 'Ada')!, 10).map((l) => l.type)).toEqual(['admires', 'knows', 'met']);
    });

    it('a brain export imported again is no new version even when its times are newer', () => {
      remember('the same text', { key: 'k', tags: ['t'] });
      const [line] = [...app.memories.exportLines()];
      const later = JSON.stringify({ ...JSON.parse(line), updated_at: new Date(Date.now() + 60_000).toISOString() });
      expect(app.memories.importLines([later])).toMatchObject({ updated: 0, skipped: 1, history: 0 });
      expect(app.memories.history('', 'k')).toEqual([]);
      // A newer record that differs in importance is a new version.
      const weightier = JSON.stringify({ ...JSON.parse(later), importance: 0.8 });
      expect(app.memories.importLines([weightier])).toMatchObject({ updated: 1 });
      expect(app.memories.history('', 'k')).toHaveLength(1);
    });
  });

  describe('query plans', () => {
    const plan = (sql: string, ...params: unknown[]) =>
      (app.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail).join(' | ');

    it('hot paths use indexes, never a table scan', () => {
      expect(plan('SELECT * FROM memories WHERE project = ? AND key = ?', '', 'k')).toMatch(/SEARCH memories USING INDEX/);
      expect(plan(`SELECT * FROM memories WHERE storage_tier = 'hot'`)).toMatch(/memories USING INDEX memories_hot/);
      expect(plan('UPDATE memories SET access_count = access_count + 1 WHERE id = ?', 1)).toMatch(/SEARCH memories USING INTEGER PRIMARY KEY/);
      expect(plan('SELECT memory_id FROM memory_tags WHERE tag = ?', 't')).toMatch(/SEARCH memory_tags USING PRIMARY KEY/);
      expect(plan('SELECT * FROM memory_history WHERE project = ? AND key = ? ORDER BY archived_at DESC', '', 'k')).toMatch(/SEARCH memory_history USING INDEX/);
      expect(plan(`SELECT * FROM sessions WHERE id = ?`, 'x')).toMatch(/SEARCH sessions USING INDEX/);
    });
  });

  describe('review findings stay fixed', () => {
    it('import converts ISO times, lower-cases tags and reports bad lines instead of crashing', () => {
      const report = app.memories.importLines([
        'not json',
        'null',
        JSON.stringify({ kind: 'memory', key: 'iso', content: 'we deploy with kubernetes', created_at: '2025-01-01T10:00:00Z', updated_at: '2025-01-01T10:00:00Z', tags: ['Ops'] }),
        JSON.stringify({ kind: 'memory', key: 'bad-time', content: 'x', updated_at: 'yesterday' }),
        JSON.stringify({ kind: 'memory', id: 1.5, key: 'odd-id', content: 'world' }),
        JSON.stringify({ kind: 'memory', key: '', content: 'no key' }),
      ]);
      expect(report.created).toBe(2);
      expect(report.errors.length).toBe(4);
      expect(report.errors.join('\n')).toMatch(/line 4: "updated_at" is not a time/);
      expect(keysOf('kubernetes')).toEqual(['iso']);
      expect(app.memories.getByKey([''], 'iso')!.updated_at).toBe('2025-01-01 10:00:00.000');
      expect(keysOf(undefined, { tags: ['ops'] })).toEqual(['iso']);
    });

    it('import keeps an older conflicting text as an earlier version', () => {
      remember('current text', { key: 'k' });
      const r = app.memories.importLines([JSON.stringify({ kind: 'memory', key: 'k', content: 'text from the other machine', updated_at: '2025-06-01 00:00:00.000' })]);
      expect(r).toMatchObject({ skipped: 1, history: 1 });
      expect(app.memories.getByKey([''], 'k')!.content).toBe('current text');
      expect(app.memories.history('', 'k').map((h) => h.content)).toContain('text from the other machine');
    });

    it('forget archives the newest text even if another process changed it a moment before', () => {
      const row = remember('v1 old text', { key: 'k' });
      const other = createApp(testConfig(dir));
      other.memories.remember({ project: '', key: 'k', content: 'v2 new text', type: 'general', tags: [], importance: 0.5 });
      other.close();
      app.memories.forgetOne(row);
      expect(app.memories.restore('', 'k').content).toBe('v2 new text');
    });

    it('a key used again after forget continues its version numbers', () => {
      const a = remember('text A', { key: 'k' });
      app.memories.forgetOne(a);
      expect(remember('text B', { key: 'k' }).version).toBe(2);
      remember('text C', { key: 'k' });
      expect(app.memories.restore('', 'k', 1).content).toBe('text A');
    });

    it('a hot tier over its byte budget is rebalanced at once', async () => {
      app.close();
      app = createApp(testConfig(dir, { BRAIN_HOT_TIER_MAX_MB: '0.001' }));
      for (let i = 0; i < 5; i++) remember(`important ${i} ` + 'x'.repeat(700), { key: `big-${i}`, importance: 0.9 });
      await new Promise((r) => setTimeout(r, 50));
      const hot = app.memories.stats().hot;
      expect(hot.bytes).toBeLessThanOrEqual(hot.budget_bytes);
      expect(app.memories.stats().tier_moves.demoted_total).toBeGreaterThan(0);
    });

    it('key lookup in every project, and restoring a preference makes it hot again', () => {
      remember('alpha only', { key: 'proj-key', project: 'alpha' });
      expect(app.memories.getByKey(undefined, 'proj-key')?.project).toBe('alpha');
      remember('tabs please', { key: 'pref', type: 'user_preferences' });
      remember('tabs please', { key: 'pref', type: 'general' });
      app.db.prepare(`UPDATE memories SET storage_tier = 'warm' WHERE key = 'pref'`).run();
      expect(app.memories.restore('', 'pref', 1).storage_tier).toBe('hot');
    });

    it('init does not count as a use of the memories it shows', async () => {
      remember('shown by init', { key: 'shown' });
      const init = app.tools.find((t) => t.name === 'init')!;
      const ctx = { session: { id: null, project: '' }, signal: new AbortController().signal, logger: app.logger, progress: async () => {} };
      const result = (await init.handle({}, ctx)) as { memories: { key: string }[] };
      expect(result.memories.map((m) => m.key)).toContain('shown');
      app.memories.flush();
      expect(app.db.prepare(`SELECT access_count FROM memories WHERE key = 'shown'`).pluck().get()).toBe(0);
    });

    it('a query with no words finds nothing rather than everything', () => {
      remember('something', { key: 's' });
      expect(keysOf('???')).toEqual([]);
      expect(keysOf('🙂')).toEqual([]);
      remember("the build doesn't start on Mondays", { key: 'apos' });
      expect(app.memories.search("doesn't start", {}, 10).hits[0].why.match).toBe('all_words');
    });
  });
});
