// brain's notes folder used as an Obsidian vault: the committed vault in test/fixtures/obsidian-vault
// (a few dozen notes with every habit: file names as titles, aliases, inline and nested #tags,
// [[Note|shown]], [[Note#Heading]], ![[embeds]], links in a table, .obsidian/ and .trash/) is
// copied in as the global notes, and note read, search, note list and backlinks must answer as
// an Obsidian user expects. New notes get human file names; a vault of thousands indexes whole.
import fs from 'node:fs';
import Database from 'better-sqlite3';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/app.js';
import { fileNameFor } from '../src/notes/paths.js';
import { inlineTags, wikiLinks } from '../src/notes/front-matter.js';
import { call, callError, ROOT, tempDir, testConfig } from './helpers/brain.js';

const VAULT = path.join(ROOT, 'test', 'fixtures', 'obsidian-vault');

interface Note {
  path: string;
  title: string;
  tags: string[];
  content: string;
  links: string[];
  backlinks: { path: string; title: string }[];
}
interface Listed {
  notes: { path: string; title: string; tags: string[] }[];
  total: number;
}

let dir: string;
let app: App;
let client: Client;

async function open() {
  app = createApp(testConfig(dir, { BRAIN_NOTES_WATCH: 'false', BRAIN_NOTES_POLL_MS: '0' }));
  const [a, b] = InMemoryTransport.createLinkedPair();
  await app.connect().server.connect(a);
  client = new Client({ name: 'obsidian-test', version: '1' });
  await client.connect(b);
}

const read = (title: string) => call<Note>(client, 'note', { action: 'read', title });
const backlinks = async (title: string) => (await read(title)).backlinks.map((b) => b.path).sort();
const listTag = async (tag: string) => (await call<Listed>(client, 'note', { action: 'list', tags: [tag], limit: 200 })).notes.map((n) => n.path).sort();
const found = async (query: string) => ((await call<{ results: { kind: string; path?: string }[] }>(client, 'search', { query })).results).filter((r) => r.kind === 'note').map((r) => r.path);

beforeEach(async () => {
  dir = tempDir('brain-obsidian-');
  fs.cpSync(VAULT, path.join(dir, 'notes', '_global'), { recursive: true });
  await open();
});
afterEach(async () => {
  await client.close();
  app.close();
});

describe('an Obsidian vault as the notes folder', () => {
  it('every note is indexed; .obsidian/, .trash/ and attachments are not', async () => {
    const all = await call<Listed>(client, 'note', { action: 'list', limit: 200 });
    const onDisk = fs.readdirSync(VAULT, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.md') && !f.split('/').some((s) => s.startsWith('.')));
    expect(onDisk.length).toBeGreaterThanOrEqual(25);
    expect(all.total).toBe(onDisk.length);
    expect(all.notes.map((n) => n.path).sort()).toEqual(onDisk.sort());
    expect(await found('obsidianconfigword')).toEqual([]);
    expect(await found('trashedwordzebra')).toEqual([]);
  });

  it('a note is titled by its file name, not its first heading; the heading still finds it', async () => {
    const roadmap = await read('Roadmap 2027');
    expect(roadmap).toMatchObject({ path: 'Roadmap 2027.md', title: 'Roadmap 2027' });
    expect(roadmap.content).toMatch(/^# Roadmap\n/);
    expect((await read('roadmap 2027')).path).toBe('Roadmap 2027.md');
    expect((await read('2027-01-04')).path).toBe('Daily/2027-01-04.md');
    expect((await read('Café ☕ notes')).path).toBe('Ideas/Café ☕ notes.md');
    // A title in the front matter wins (brain writes one in every note it creates); the file name still finds the note.
    expect(await read('Books to read')).toMatchObject({ path: 'Reading list.md', title: 'Books to read' });
    expect((await read('Reading list')).path).toBe('Reading list.md');
    expect(await found('roadmap')).toContain('Roadmap 2027.md');
  });

  it('aliases find the note by a note read and resolve [[links]]', async () => {
    expect((await read('Charter')).path).toBe('Team Charter.md');
    expect((await read('team rules')).path).toBe('Team Charter.md');
    expect((await read('DB decision')).path).toBe('Database Choice.md');
    // [[Team Charter|our charter]], [[Charter]], [[Team rules]] and a plain [[Team Charter]] all count.
    expect(await backlinks('Team Charter')).toEqual(['Daily/2027-01-04.md', 'Daily/2027-01-06.md', 'Daily/2027-01-08.md', 'Daily/2027-01-09.md', 'Daily/2027-01-12.md', 'People/Grace Hopper.md', 'Roadmap 2027.md']);
    expect(await backlinks('Database Choice')).toEqual(['Architecture.md', 'Projects/Alpha/Alpha Overview.md', 'Team Charter.md']);
    expect(await callError(client, 'note', { action: 'read', title: 'No such alias' })).toMatch(/No note titled "No such alias"/);
  });

  it('[[Note#Heading]], ![[embeds]], [[path/Note|shown]] and links in a table are links; code is not', async () => {
    expect(await backlinks('Architecture')).toEqual(['Roadmap 2027.md']);
    expect(await backlinks('Glossary')).toEqual(['Architecture.md', 'Roadmap 2027.md']);
    expect(await backlinks('Ada Lovelace')).toEqual(Array.from({ length: 10 }, (_, i) => `Daily/2027-01-${String(i + 4).padStart(2, '0')}.md`));
    expect(await backlinks('Alan Turing')).toEqual(['People/Ada Lovelace.md', 'People/Index.md']);
    expect(await backlinks('Alpha Overview')).toEqual(['Projects/Alpha/Alpha Risks.md']);
    expect(await backlinks('2027-01-09')).toEqual(['Ideas/Café ☕ notes.md']);
    expect(await backlinks('Roadmap 2027')).toHaveLength(11);
    const arch = await read('Architecture');
    expect(arch.links.join(' ')).not.toMatch(/not-a-link/);
    expect(arch.links).toEqual(expect.arrayContaining(['database-choice', 'glossary']));
  });

  it('inline #tags and nested #tags/sub count as tags, next to the front matter ones', async () => {
    expect((await read('Roadmap 2027')).tags.sort()).toEqual(['planning', 'project', 'project/alpha']);
    expect(await listTag('project')).toEqual(['Projects/Alpha/Alpha Overview.md', 'Roadmap 2027.md']);
    expect(await listTag('project/alpha')).toEqual(['Projects/Alpha/Alpha Overview.md', 'Roadmap 2027.md']);
    expect(await listTag('project/alpha/backend')).toEqual(['Projects/Alpha/Alpha Overview.md']);
    expect(await listTag('decision')).toEqual(['Database Choice.md']);
    expect(await listTag('team')).toEqual(['Team Charter.md']);
    expect(await listTag('person')).toEqual(['People/Ada Lovelace.md', 'People/Alan Turing.md', 'People/Edsger Dijkstra.md', 'People/Grace Hopper.md']);
    expect(await listTag('meeting')).toEqual(['Daily/2027-01-06.md', 'Daily/2027-01-09.md', 'Daily/2027-01-12.md']);
    // Not tags: a heading, numbers, an issue number, a URL fragment, code.
    for (const no of ['2027', '12', 'hot', 'not-a-tag', 'inline-code']) expect(await listTag(no)).toEqual([]);
    expect((await read('Architecture')).tags).toEqual(['architecture']);
  });

  it('search finds notes by words, tags and titles', async () => {
    expect(await found('espresso')).toEqual(['Ideas/Café ☕ notes.md']);
    expect((await found('charter'))[0]).toBe('Team Charter.md');
    expect(await found('zettel')).toContain('Ideas/Zettel 202701041200.md');
  });

  it('new notes get human file names, with characters Windows or macOS refuse replaced', async () => {
    const w = await call<{ path: string; title: string }>(client, 'note', { action: 'write', title: 'Q1: Kickoff / plan?', content: 'Agenda. #meeting' });
    expect(w).toMatchObject({ path: 'Q1 Kickoff plan.md', title: 'Q1: Kickoff / plan?' });
    expect(fs.existsSync(path.join(dir, 'notes', '_global', 'Q1 Kickoff plan.md'))).toBe(true);
    expect((await read('Q1: Kickoff / plan?')).path).toBe('Q1 Kickoff plan.md');
    expect((await read('Q1 Kickoff plan')).path).toBe('Q1 Kickoff plan.md');
    expect(await listTag('meeting')).toContain('Q1 Kickoff plan.md');
    expect((await call<{ path: string }>(client, 'note', { action: 'write', title: 'Roadmap 2028', content: 'Next year.' })).path).toBe('Roadmap 2028.md');
    expect(fileNameFor('a<b>c:d"e/f\\g|h?i*j')).toBe('a b c d e f g h i j');
    expect(fileNameFor('C# [draft] ^1')).toBe('C draft 1');
    expect(fileNameFor('  .hidden. ')).toBe('hidden');
    expect(fileNameFor('CON')).toBe('CON note');
    expect(fileNameFor('???')).toBe('Untitled');
    expect(Buffer.byteLength(fileNameFor('é'.repeat(200)))).toBeLessThanOrEqual(100);
  });

  it('parses links and tags as Obsidian does', () => {
    expect(wikiLinks('[[A]] [[B|shown]] [[C#H]] [[D#H|x]] ![[E]] [[F#^block]] [[G\\|t]] `[[H]]`').sort()).toEqual(['A', 'B', 'C', 'D', 'E', 'F', 'G']);
    expect(inlineTags('#a #b/c/d (#e) x#f #1 #1a `#g` \n```\n#h\n```\n#i').sort()).toEqual(['1a', 'a', 'b', 'b/c', 'b/c/d', 'e', 'i']);
  });
});

describe('an index written by an earlier brain', () => {
  it('is read again from the files when the schema moves to 3: titles by file name, aliases, inline tags', async () => {
    await client.close();
    app.close();
    // As brain schema 2 left it: the first heading as the title, no names, no inline tags.
    const raw = new Database(path.join(dir, 'brain.db'));
    raw.prepare(`UPDATE notes SET title = 'Roadmap', tags = '[]' WHERE path = 'Roadmap 2027.md'`).run();
    raw.exec('DELETE FROM note_names');
    raw.pragma('user_version = 2');
    raw.close();
    await open();
    expect(await read('Roadmap 2027')).toMatchObject({ title: 'Roadmap 2027', tags: ['planning', 'project', 'project/alpha'] });
    expect((await read('Charter')).path).toBe('Team Charter.md');
  });
});

describe('a large vault', () => {
  it('indexes 3,000 notes in nested folders whole: listed, searchable, linked', { timeout: 180_000 }, async () => {
    await client.close();
    app.close();
    const vault = path.join(dir, 'notes', '_global', 'Big');
    for (let f = 0; f < 30; f++) {
      const folder = path.join(vault, `Area ${f}`, `Sub ${f % 5}`);
      fs.mkdirSync(folder, { recursive: true });
      for (let i = 0; i < 100; i++) {
        const n = f * 100 + i;
        fs.writeFileSync(path.join(folder, `Note ${n}.md`), `---\naliases: [N${n}]\n---\nBody of note ${n} about topic${n % 97}. Links to [[Note ${(n + 1) % 3000}]] and [[Hub|the hub]]. #area/a${f}\n`);
      }
    }
    fs.writeFileSync(path.join(vault, 'Hub.md'), 'The hub every note links to.\n');
    await open();
    const all = await call<Listed>(client, 'note', { action: 'list', limit: 1 });
    expect(all.total).toBe(27 + 3001);
    expect((await read('N1234')).path).toBe('Big/Area 12/Sub 2/Note 1234.md');
    expect((await read('Note 1235')).backlinks.map((b) => b.path)).toEqual(['Big/Area 12/Sub 2/Note 1234.md']);
    expect((await call<Listed>(client, 'note', { action: 'list', tags: ['area/a7'], limit: 200 })).total).toBe(100);
    expect((await call<Listed>(client, 'note', { action: 'list', tags: ['area'], limit: 1 })).total).toBe(3000);
    const topic = await found('topic42');
    expect(topic.length).toBeGreaterThan(0);
    for (const p of topic) expect(Number(/Note (\d+)\.md$/.exec(p!)![1]) % 97).toBe(42);
    // The hub's backlinks are capped (100), not all 3,000 at once.
    expect((await read('Hub')).backlinks).toHaveLength(100);
  });
});
