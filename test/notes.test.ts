// Notes and projects through the areas' APIs and tools, on a temp directory (files + DB).
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/app.js';
import type { AnyTool, SessionState, ToolContext } from '../src/core/tool.js';
import { silentLogger } from '../src/core/logger.js';
import { checkNotePath, linkKey, slugify } from '../src/notes/paths.js';
import { parseNote, serializeNote, wikiLinks } from '../src/notes/front-matter.js';
import { tempDir, testConfig } from './helpers/brain.js';

let dir: string;
let app: App;
let session: SessionState;

function open(extra: Record<string, string> = {}) {
  app = createApp(testConfig(dir, { BRAIN_NOTES_WATCH: 'false', BRAIN_NOTES_POLL_MS: '0', ...extra }));
  session = { id: null, project: '' };
}

function tool(name: string): AnyTool {
  const t = app.tools.find((x) => x.name === name);
  if (!t) throw new Error(`no tool ${name}`);
  return t;
}

const ctx = (): ToolContext => ({ session, signal: new AbortController().signal, progress: async () => {}, logger: silentLogger() });

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function run(name: string, args: Record<string, unknown> = {}): Promise<any> {
  const { z } = await import('zod');
  const parsed = z.strictObject(tool(name).input).parse(args);
  return tool(name).handle(parsed, ctx());
}

async function fails(name: string, args: Record<string, unknown>): Promise<string> {
  try {
    await run(name, args);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`${name} unexpectedly succeeded`);
}

const notesDir = () => path.join(dir, 'notes');

beforeEach(() => {
  dir = tempDir();
  open();
});
afterEach(() => {
  app.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('note paths', () => {
  it('rejects paths that leave the notes folder or are unsafe', () => {
    for (const bad of ['../x', 'a/../../x', '/etc/passwd', 'C:\\x', '~/x', 'a\u0000b', 'CON', 'nul.md', 'aux/x', '.', '..', '.hidden', 'a//b', 'a/', 'x'.repeat(200), 'a\\b', 'a:b', 'a/b/c/d/e/f/g']) {
      expect(() => checkNotePath(bad), JSON.stringify(bad)).toThrow(/path/);
    }
    expect(checkNotePath('design/api')).toBe('design/api.md');
    expect(checkNotePath('Meeting notes 2026.md')).toBe('Meeting notes 2026.md');
  });

  it('slugs titles into safe file names and link keys', () => {
    expect(slugify('../../etc/passwd')).toBe('etc-passwd');
    expect(slugify('Café au lait!')).toBe('cafe-au-lait');
    expect(slugify('CON')).toBe('con-note');
    expect(slugify('???')).toBe('note');
    expect(linkKey('API Design')).toBe(linkKey('api-design.md'));
  });

  it('note write turns hostile titles into safe files and refuses hostile paths, creating nothing', async () => {
    const w = await run('note', { action: 'write', title: '../../outside', content: 'x' });
    expect(w.path).toBe('outside.md');
    expect(fs.existsSync(path.join(notesDir(), '_global', 'outside.md'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'outside.md'))).toBe(false);
    expect(await fails('note', { action: 'write', path: '../escape', content: 'x' })).toMatch(/leave the notes folder/);
    expect(await fails('note', { action: 'write', path: '/tmp/abs', content: 'x' })).toMatch(/relative/);
    expect(await fails('note', { action: 'write', path: 'LPT1', content: 'x' })).toMatch(/reserved/);
    expect(await fails('note', { action: 'write', title: 'a\u0000b', content: 'x' })).toMatch(/control character/);
    expect(await fails('note', { action: 'write', title: 'x'.repeat(201), content: 'x' })).toMatch(/200/);
    expect((await run('note', { action: 'list' })).total).toBe(1);
  });
});

describe('front matter', () => {
  it('round-trips title, tags, dates and unknown keys', () => {
    const text = serializeNote({ title: 'A: tricky # title', tags: ['x', 'y'], created: '2026-01-01T00:00:00.000Z', updated: '2026-01-02T00:00:00.000Z', extra: { aliases: ['b'] } }, 'Body [[Other Note|see]] and [[x#h]].');
    const p = parseNote(text);
    expect(p.problems).toEqual([]);
    expect(p.meta).toMatchObject({ title: 'A: tricky # title', tags: ['x', 'y'], created: '2026-01-01T00:00:00.000Z', extra: { aliases: ['b'] } });
    expect(p.body).toBe('Body [[Other Note|see]] and [[x#h]].\n');
    expect(wikiLinks(p.body)).toEqual(['Other Note', 'x']);
  });

  it('reports what it cannot read instead of failing', () => {
    expect(parseNote('---\ntitle: [unclosed\n---\nhello').problems[0]).toMatch(/not valid YAML/);
    expect(parseNote('---\ntitle: x\nhello').problems[0]).toMatch(/no closing/);
    const p = parseNote('---\ntitle: ok\ntags: {a: 1}\ncreated: yesterday\n---\nbody');
    expect(p.meta.title).toBe('ok');
    expect(p.problems.join(' ')).toMatch(/tags.*not a list/);
    expect(p.problems.join(' ')).toMatch(/created.*not a date/);
  });
});

describe('notes', () => {
  it('writes a Markdown file with front matter and indexes it', async () => {
    const w = await run('note', { action: 'write', title: 'API design', content: 'We use REST with cursor paging.', tags: ['API', 'design'] });
    expect(w).toMatchObject({ project: 'global', path: 'API design.md', title: 'API design', created_file: true });
    const text = fs.readFileSync(path.join(notesDir(), '_global', 'API design.md'), 'utf8');
    expect(text).toMatch(/^---\ntitle: API design\ntags: \[api, design\]\ncreated: .+\nupdated: .+\n---\nWe use REST with cursor paging.\n$/);
    const r = await run('note', { action: 'read', title: 'api design' });
    expect(r.content).toBe('We use REST with cursor paging.\n');
    expect(r.hash).toBe(w.hash);
    expect(r.tags).toEqual(['api', 'design']);
    const s = await run('search', { query: 'cursor paging', in: 'notes' });
    expect(s.results[0]).toMatchObject({ kind: 'note', path: 'API design.md' });
  });

  it('finds notes by misspelled words', async () => {
    await run('note', { action: 'write', title: 'Cluster upgrade', content: 'Upgrade the Kubernetes cluster in Frankfurt on Tuesday.' });
    await run('note', { action: 'write', title: 'Lunch', content: 'Pizza on Fridays.' });
    const found = async (query: string) => (await run('search', { query, in: 'notes' })).results.map((r: { path: string }) => r.path);
    expect(await found('kubernets')).toEqual(['Cluster upgrade.md']);
    expect(await found('frankfrut upgrde')).toEqual(['Cluster upgrade.md']);
    expect(await found('piza')).toEqual(['Lunch.md']);
    expect(await found('zzqqxx')).toEqual([]);
    // An abbreviation finds its long form, as in memory search.
    expect(await found('k8s upgrade')).toEqual(['Cluster upgrade.md']);
    // The vocabulary behind corrections is cached until the notes change.
    await run('note', { action: 'write', title: 'Trip', content: 'Offsite in Zanzibar next spring.' });
    expect(await found('zanzibr')).toEqual(['Trip.md']);
  });

  it('create refuses an existing note; replace needs the current hash; append keeps the old text', async () => {
    const w = await run('note', { action: 'write', title: 'Plan', content: 'step one' });
    const createdAt = (await run('note', { action: 'read', title: 'Plan' })).created;
    expect(await fails('note', { action: 'write', title: 'Plan', content: 'other' })).toMatch(/already exists/);
    expect(await fails('note', { action: 'write', title: 'Plan', content: 'v2', mode: 'replace' })).toMatch(/needs "base_hash"/);
    const file = path.join(notesDir(), '_global', 'Plan.md');
    fs.appendFileSync(file, 'edited by hand\n');
    const conflict = await fails('note', { action: 'write', title: 'Plan', content: 'v2', mode: 'replace', base_hash: w.hash });
    expect(conflict).toMatch(/changed since you read it/);
    expect(fs.readFileSync(file, 'utf8')).toMatch(/edited by hand/);
    const fresh = await run('note', { action: 'read', path: 'Plan' });
    const replaced = await run('note', { action: 'write', title: 'Plan', content: 'v2 merged', mode: 'replace', base_hash: fresh.hash });
    expect(replaced.hash).not.toBe(fresh.hash);
    await run('note', { action: 'write', title: 'Plan', content: 'step two', mode: 'append', tags: ['todo'] });
    const after = await run('note', { action: 'read', path: 'Plan' });
    expect(after.content).toBe('v2 merged\n\nstep two\n');
    expect(after.tags).toEqual(['todo']);
    expect(after.created).toBe(createdAt);
  });

  it('sees files created, edited and deleted by hand (polling mode)', async () => {
    await run('note', { action: 'write', title: 'Alpha', content: 'original words' });
    const folder = path.join(notesDir(), '_global');
    fs.writeFileSync(path.join(folder, 'Alpha.md'), '---\ntitle: Alpha\n---\nzanzibar replaced\n');
    fs.mkdirSync(path.join(folder, 'sub'));
    fs.writeFileSync(path.join(folder, 'sub', 'beta.md'), '# Beta heading\n\nquokka facts\n');
    expect((await run('search', { query: 'zanzibar' })).results.map((r: { path: string }) => r.path)).toEqual(['Alpha.md']);
    expect((await run('search', { query: 'original' })).results).toEqual([]);
    const beta = await run('note', { action: 'read', path: 'sub/beta' });
    // The file name is the title, not the first heading (as in Obsidian).
    expect(beta.title).toBe('beta');
    fs.rmSync(path.join(folder, 'sub', 'beta.md'));
    expect((await run('search', { query: 'quokka' })).results).toEqual([]);
    expect((await run('note', { action: 'list' })).total).toBe(1);
    const metrics = await app.metrics.registry.getSingleMetricAsString('brain_notes_external_changes_total');
    expect(metrics).toMatch(/change="updated"} 1/);
    expect(metrics).toMatch(/change="added"} 1/);
    expect(metrics).toMatch(/change="removed"} 1/);
  });

  it('indexes a large folder at start-up in batches, and a call in the meantime sees it whole', async () => {
    const folder = path.join(notesDir(), 'bulk');
    fs.mkdirSync(folder, { recursive: true });
    for (let i = 0; i < 600; i++) fs.writeFileSync(path.join(folder, `n${i}.md`), `---\ntitle: bulk ${i}\n---\nbulkword number${i}\n`);
    const count = () => app.db.prepare('SELECT count(*) FROM notes').pluck().get() as number;
    app.notes.sync.startInBackground();
    // Nothing indexed before the event loop turns: start-up returned without doing the work.
    expect(count()).toBe(0);
    await new Promise((r) => setImmediate(r));
    const partial = count();
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(600);
    // A call arriving now finishes the pass first.
    expect((await run('note', { action: 'list', project: 'bulk' })).total).toBe(600);
    expect(app.notes.sync.stats.passes).toBe(1);
  });

  it('sees hand edits through the file watcher without a full pass', async () => {
    app.close();
    open({ BRAIN_NOTES_WATCH: 'true', BRAIN_NOTES_RESCAN_SEC: '3600' });
    await run('note', { action: 'write', title: 'Watched', content: 'first words' });
    await new Promise((r) => setTimeout(r, 100));
    await run('note', { action: 'list' });
    const passes = app.notes.sync.stats.passes;
    fs.writeFileSync(path.join(notesDir(), '_global', 'Watched.md'), 'capybara now\n');
    // Let the inotify event reach the watcher callback.
    for (let i = 0; i < 250 && !(await run('search', { query: 'capybara' })).results.length; i++) await new Promise((r) => setTimeout(r, 20));
    expect(app.notes.sync.watching).toBe(true);
    expect((await run('search', { query: 'capybara' })).results[0].path).toBe('Watched.md');
    expect(app.notes.sync.stats.passes).toBe(passes);
  });

  it('keeps watching a folder that was deleted and made again', async () => {
    app.close();
    open({ BRAIN_NOTES_WATCH: 'true', BRAIN_NOTES_RESCAN_SEC: '3600' });
    await run('note', { action: 'write', path: 'sub/x', content: 'first' });
    const sub = path.join(notesDir(), '_global', 'sub');
    const until = async (query: string, n: number) => {
      for (let i = 0; i < 250; i++) {
        if ((await run('search', { query })).results.length === n) return;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`search ${query} never returned ${n} results`);
    };
    fs.rmSync(sub, { recursive: true });
    await until('first', 0);
    fs.mkdirSync(sub);
    fs.writeFileSync(path.join(sub, 'y.md'), 'second life\n');
    await until('second', 1);
    fs.writeFileSync(path.join(sub, 'y.md'), 'third edit\n');
    await until('third', 1);
    expect(app.notes.sync.watching).toBe(true);
  });

  it('append and replace by title find a hand-made file whose name is not the title\'s slug', async () => {
    const folder = path.join(notesDir(), '_global');
    fs.mkdirSync(folder, { recursive: true });
    fs.writeFileSync(path.join(folder, 'Meeting Notes 2026.md'), '---\ntitle: Weekly sync\n---\nagenda\n');
    const w = await run('note', { action: 'write', title: 'Weekly sync', content: 'decided things', mode: 'append' });
    expect(w).toMatchObject({ path: 'Meeting Notes 2026.md', created_file: false });
    expect(fs.readFileSync(path.join(folder, 'Meeting Notes 2026.md'), 'utf8')).toMatch(/agenda\n\ndecided things\n$/);
    expect(fs.existsSync(path.join(folder, 'weekly-sync.md'))).toBe(false);
  });

  it('never follows symbolic links out of the notes folder', async () => {
    const outside = path.join(dir, 'outside');
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'secret.md'), 'outside secret words\n');
    const folder = path.join(notesDir(), '_global');
    fs.mkdirSync(folder, { recursive: true });
    fs.symlinkSync(outside, path.join(folder, 'linked'));
    fs.symlinkSync(path.join(outside, 'secret.md'), path.join(folder, 'leak.md'));
    expect((await run('note', { action: 'list' })).total).toBe(0);
    expect((await run('search', { query: 'secret' })).results).toEqual([]);
    expect(await fails('note', { action: 'read', path: 'leak' })).toMatch(/No note/);
    expect(await fails('note', { action: 'read', path: 'linked/secret' })).toMatch(/No note/);
    expect(await fails('note', { action: 'write', path: 'linked/new', content: 'x' })).toMatch(/symbolic link/);
    expect(await fails('note', { action: 'write', path: 'leak', content: 'x', mode: 'append' })).toMatch(/symbolic link/);
    expect(fs.readdirSync(outside)).toEqual(['secret.md']);
    expect(fs.readFileSync(path.join(outside, 'secret.md'), 'utf8')).toBe('outside secret words\n');
  });

  it('a file in the way of a folder is a clear error', async () => {
    await run('note', { action: 'write', path: 'plan', content: 'x' });
    expect(await fails('note', { action: 'write', path: 'plan.md/inner', content: 'y' })).toMatch(/in the way/);
    fs.mkdirSync(path.join(notesDir(), '_global', 'folder.md'));
    expect(await fails('note', { action: 'write', path: 'folder', content: 'y', mode: 'append' })).toMatch(/in the way/);
  });

  it('a read notices a same-size edit that the file time does not show (coarse file-system clocks)', async () => {
    await run('note', { action: 'write', title: 'Clock', content: 'alpha words' });
    const file = path.join(notesDir(), '_global', 'Clock.md');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('alpha', 'gamma'));
    // As on a file system with a 1-2 s clock: the index's size and mtime still match the file.
    const st = fs.statSync(file);
    app.db.prepare('UPDATE notes SET size_bytes = ?, mtime_ms = ? WHERE path = ?').run(st.size, st.mtimeMs, 'Clock.md');
    expect((await run('search', { query: 'gamma' })).results).toHaveLength(0);
    expect((await run('note', { action: 'read', title: 'Clock' })).content).toBe('gamma words\n');
    expect((await run('search', { query: 'gamma' })).results).toHaveLength(1);
  });

  it('indexes a hand-edited file with broken front matter, reports it, and never drops it', async () => {
    const folder = path.join(notesDir(), '_global');
    fs.mkdirSync(folder, { recursive: true });
    const broken = '---\ntitle: [oops\ntags: a\n---\nplatypus text\n';
    fs.writeFileSync(path.join(folder, 'broken.md'), broken);
    const list = await run('note', { action: 'list' });
    expect(list.notes[0]).toMatchObject({ path: 'broken.md', title: 'broken' });
    expect(list.notes[0].problems[0]).toMatch(/not valid YAML/);
    expect((await run('search', { query: 'platypus' })).results).toHaveLength(1);
    await run('note', { action: 'write', path: 'broken', content: 'appended line', mode: 'append' });
    expect(fs.readFileSync(path.join(folder, 'broken.md'), 'utf8')).toBe(broken + '\nappended line');
  });

  it('shows backlinks from [[wiki links]] by title or path', async () => {
    await run('note', { action: 'write', title: 'Database choice', content: 'SQLite, one file.' });
    await run('note', { action: 'write', title: 'Architecture', content: 'Storage: see [[Database Choice]].' });
    await run('note', { action: 'write', title: 'Ops', content: 'Backups follow [[database-choice|the DB note]].' });
    const r = await run('note', { action: 'read', title: 'Database choice' });
    expect(r.backlinks.map((b: { title: string }) => b.title).sort()).toEqual(['Architecture', 'Ops']);
    const a = await run('note', { action: 'read', title: 'Architecture' });
    expect(a.links).toEqual(['database-choice']);
    await run('note', { action: 'delete', title: 'Ops' });
    expect((await run('note', { action: 'read', title: 'Database choice' })).backlinks).toHaveLength(1);
  });

  it('hot paths use indexes, not table scans', () => {
    const plan = (sql: string, ...params: unknown[]) =>
      (app.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail).join(' | ');
    expect(plan(`SELECT * FROM notes WHERE project = ? AND path = ?`, '', 'a.md')).toMatch(/USING INDEX/);
    expect(plan(`SELECT n.id FROM note_links l JOIN notes n ON n.id = l.source_id WHERE l.target IN (SELECT value FROM json_each(?))`, '["a"]')).not.toMatch(/SCAN l\b|SCAN note_links/);
  });

  it('slow notes work reaches the slow-query log', async () => {
    app.close();
    open({ BRAIN_SLOW_QUERY_MS: '0.000001' });
    await run('note', { action: 'write', title: 'Timed', content: 'x' });
    await run('search', { query: 'timed' });
    const logged = app.db.prepare(`SELECT sql FROM query_log WHERE sql LIKE 'notes %'`).pluck().all();
    expect(logged).toEqual(expect.arrayContaining(['notes write', 'notes search']));
  });

  it('search needs words', async () => {
    expect(await fails('search', { query: '?!' })).toMatch(/no words/);
  });

  it('note delete moves the file to .trash', async () => {
    await run('note', { action: 'write', title: 'Gone soon', content: 'bye' });
    const d = await run('note', { action: 'delete', title: 'Gone soon' });
    expect(fs.existsSync(path.join(notesDir(), '_global', 'gone-soon.md'))).toBe(false);
    expect(fs.readFileSync(d.trash, 'utf8')).toMatch(/bye/);
    expect(await fails('note', { action: 'read', title: 'Gone soon' })).toMatch(/No note/);
  });

  it('a notes folder that cannot be created is a clear error, and memories still work', async () => {
    app.close();
    fs.writeFileSync(path.join(dir, 'blocker'), 'a file where a folder should be');
    open({ BRAIN_NOTES_PATH: path.join(dir, 'blocker', 'notes') });
    expect(await fails('note', { action: 'list' })).toMatch(/notes folder .* cannot be created.*BRAIN_NOTES_PATH/);
    expect((await run('remember', { content: 'still works' })).created).toBe(true);
    expect((await run('init', {})).recent_notes).toBeUndefined();
  });
});

describe('projects', () => {
  it('create, taken names, update context, archive rules', async () => {
    const p = await run('project', { action: 'save', name: 'apollo', create: true, description: 'Moon', add: { goals: ['land'] } });
    expect(p).toMatchObject({ name: 'apollo', context: { goals: ['land'], decisions: [] }, version: 1 });
    expect(await fails('project', { action: 'save', name: 'Apollo', create: true })).toMatch(/taken/);
    expect(await fails('project', { action: 'save', name: 'global', create: true })).toMatch(/cannot be a project name/);
    const u = await run('project', { action: 'save', name: 'apollo', add: { decisions: ['Saturn V'] }, expected_version: 1 });
    expect(u).toMatchObject({ version: 2, context: { decisions: ['Saturn V'], goals: ['land'] } });
    expect(await fails('project', { action: 'save', name: 'apollo', add: { goals: ['x'] }, expected_version: 1 })).toMatch(/changed since version 1/);
    expect(await fails('project', { action: 'save', name: 'apollo', remove: { goals: ['nope'] } })).toMatch(/no item/);
    expect((await run('project', { action: 'list', name: 'apollo' })).projects[0].context.goals).toEqual(['land']);
    await run('project', { action: 'use', name: 'apollo' });
    expect(await fails('project', { action: 'save', archived: true })).toMatch(/active project/);
    // An edit in the same refused save is not kept either (found by the tool fuzzer).
    expect(await fails('project', { action: 'save', description: 'Mars', add: { goals: ['orbit'] }, archived: true })).toMatch(/active project/);
    expect((await run('project', { action: 'list', name: 'apollo' })).projects[0]).toMatchObject({ status: 'active', description: 'Moon', version: 2, context: { goals: ['land'] } });
    await run('project', { action: 'use', name: 'global' });
    expect(await fails('project', { action: 'save', name: 'apollo', archived: true, expected_version: 1 })).toMatch(/changed since version 1 \(it is now version 2\)/);
    expect(await run('project', { action: 'save', name: 'apollo', description: 'Moon, done', archived: true })).toMatchObject({ status: 'archived', description: 'Moon, done', version: 4 });
    expect((await run('project', { action: 'list' })).projects).toEqual([]);
    expect(await fails('project', { action: 'use', name: 'apollo' })).toMatch(/archived/);
    expect(await fails('init', { project: 'apollo' })).toMatch(/archived/);
    expect((await run('project', { action: 'save', name: 'apollo', archived: false })).status).toBe('active');
    expect((await run('project', { action: 'list' })).projects.map((x: { name: string }) => x.name)).toEqual(['apollo']);
  });

  it('a name one or two letters from an existing project is not created without create_project', async () => {
    await run('init', { project: 'brain' });
    expect(await fails('init', { project: 'brian' })).toMatch(/no project "brian", but there is "brain".*"create_project": true/);
    expect(await fails('project', { action: 'use', name: 'brainn' })).toMatch(/there is "brain"/);
    expect((await run('project', { action: 'list' })).projects.map((x: { name: string }) => x.name)).toEqual(['brain']);
    expect((await run('init', { project: 'brian', create_project: true })).project).toBe('brian');
    expect((await run('project', { action: 'use', name: 'website' })).project).toBe('website');
    expect((await run('project', { action: 'list' })).projects.map((x: { name: string }) => x.name).sort()).toEqual(['brain', 'brian', 'website']);
  });

  it('short names: "dem" next to "demo" is refused as a typo too; a one-letter name is never a typo', async () => {
    await run('project', { action: 'use', name: 'demo' });
    await run('project', { action: 'use', name: 'api' });
    expect(await fails('project', { action: 'use', name: 'dem' })).toMatch(/no project "dem", but there is "demo".*"create": true/);
    expect(await fails('init', { project: 'ap' })).toMatch(/there is "api"/);
    // Two letters from a short name is another name, not a typo ("ui" is not "api").
    expect((await run('project', { action: 'use', name: 'ui' })).project).toBe('ui');
    expect((await run('project', { action: 'use', name: 'x' })).project).toBe('x');
    expect((await run('project', { action: 'use', name: 'dem', create: true })).project).toBe('dem');
    expect((await run('project', { action: 'list' })).projects.map((x: { name: string }) => x.name).sort()).toEqual(['api', 'dem', 'demo', 'ui', 'x']);
  });

  it('init stays within its size budget with a large project context and many notes', async () => {
    app.close();
    open({ BRAIN_INIT_BUDGET_CHARS: '6000' });
    await run('init', { project: 'big' });
    const long = (i: number) => `goal ${i}: ` + 'x'.repeat(900);
    await run('project', { action: 'save', add: { goals: Array.from({ length: 30 }, (_, i) => long(i)), decisions: Array.from({ length: 30 }, (_, i) => long(i)) } });
    for (let i = 0; i < 40; i++) await run('note', { action: 'write', title: `Note number ${i} with a fairly long title to take space`, content: 'text' });
    const r = await run('init', {});
    expect(JSON.stringify(r).length).toBeLessThanOrEqual(6000);
    expect(r.budget.used_chars).toBeLessThanOrEqual(6000);
    expect(r.project_context.name).toBe('big');
    expect(r.project_context.omitted_items).toBeGreaterThan(0);
    expect(r.recent_notes.length).toBeGreaterThan(0);
    expect(r.recent_notes.length).toBeLessThan(40);
  });

  it('init returns the project context and recent notes, and scoping hides other projects', async () => {
    await run('init', { project: 'alpha' });
    await run('project', { action: 'save', add: { goals: ['ship v1'], conventions: ['tabs'] } });
    await run('note', { action: 'write', title: 'Alpha plan', content: 'wombat launch' });
    await run('remember', { content: 'wombat memory of alpha', key: 'alpha-mem' });
    await run('note', { action: 'write', title: 'Shared', content: 'wombat global', project: 'global' });
    const a = await run('init', { project: 'alpha' });
    expect(a.project_context).toMatchObject({ name: 'alpha', context: { goals: ['ship v1'], conventions: ['tabs'] } });
    expect(a.recent_notes.map((n: { title: string }) => n.title).sort()).toEqual(['Alpha plan', 'Shared']);

    await run('project', { action: 'use', name: 'beta' });
    const b = await run('search', { query: 'wombat' });
    expect(b.results.map((r: { title: string }) => r.title)).toEqual(['Shared']);
    expect(await fails('note', { action: 'read', title: 'Alpha plan' })).toMatch(/No note/);
    const explicit = await run('search', { query: 'wombat', project: 'alpha' });
    expect(explicit.results.map((r: { kind: string }) => r.kind).sort()).toEqual(['memory', 'note', 'note']);
    const small = await run('init', {});
    expect(small.project).toBe('beta');
    expect(small.recent_notes.map((n: { title: string }) => n.title)).toEqual(['Shared']);
  });
});
