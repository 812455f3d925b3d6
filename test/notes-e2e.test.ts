// Notes and projects over real stdio: the built server, the SDK client, real files on disk.
import fs from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { brainEnv, call, callError, startBrain, tempDir, type Connected } from './helpers/brain.js';

let dir: string;
let env: Record<string, string>;
const open: Connected[] = [];

async function brain(): Promise<Connected> {
  const b = await startBrain(env);
  open.push(b);
  return b;
}

type Results = { results: { kind: string; title: string; path?: string; project: string }[] };

beforeEach(() => {
  dir = tempDir();
  // A long backstop interval: hand edits must be noticed by the watcher, not by a periodic pass.
  // (Polling at every call only applies on a host where fs.watch is unavailable.)
  env = brainEnv(dir, { BRAIN_NOTES_RESCAN_SEC: '3600', BRAIN_NOTES_POLL_MS: '0' });
});
afterEach(async () => {
  for (const b of open.splice(0)) await b.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('notes over stdio', () => {
  it('note write puts a Markdown file with front matter on disk', async () => {
    const { client } = await brain();
    await call(client, 'init', { project: 'apollo' });
    const w = await call(client, 'note', { action: 'write', title: 'Launch plan', content: 'Countdown at T-10.\n\nSee [[Crew]].', tags: ['launch'] });
    expect(w).toMatchObject({ project: 'apollo', path: 'Launch plan.md', created_file: true });
    const text = fs.readFileSync(path.join(dir, 'notes', 'apollo', 'Launch plan.md'), 'utf8');
    const [, head, body] = /^---\n([\s\S]*?)\n---\n([\s\S]*)$/.exec(text)!;
    const meta = yaml.load(head) as Record<string, unknown>;
    expect(meta.title).toBe('Launch plan');
    expect(meta.tags).toEqual(['launch']);
    expect(Date.parse(String(meta.created))).not.toBeNaN();
    expect(Date.parse(String(meta.updated))).not.toBeNaN();
    expect(body).toBe('Countdown at T-10.\n\nSee [[Crew]].\n');
    const listed = await call<{ notes: { path: string }[] }>(client, 'note', { action: 'list' });
    expect(listed.notes.map((n) => n.path)).toEqual(['Launch plan.md']);
  });

  it('a file edited by hand is found by its new words; one deleted by hand disappears', async () => {
    const { client } = await brain();
    await call(client, 'init', {});
    await call(client, 'note', { action: 'write', title: 'Garden', content: 'tomatoes and basil' });
    const file = path.join(dir, 'notes', '_global', 'Garden.md');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('tomatoes and basil', 'artichokes and fennel'));
    const found = await call<Results>(client, 'search', { query: 'artichokes' });
    expect(found.results.map((r) => r.path)).toEqual(['Garden.md']);
    expect((await call<Results>(client, 'search', { query: 'tomatoes' })).results).toEqual([]);

    fs.writeFileSync(path.join(dir, 'notes', '_global', 'by-hand.md'), 'No front matter at all, just kiwis.\n');
    expect((await call<Results>(client, 'search', { query: 'kiwis' })).results[0]).toMatchObject({ kind: 'note', title: 'by-hand', path: 'by-hand.md' });

    fs.rmSync(file);
    expect((await call<Results>(client, 'search', { query: 'artichokes' })).results).toEqual([]);
    expect(await callError(client, 'note', { action: 'read', title: 'Garden' })).toMatch(/No note/);
  });

  it('changes made while brain was stopped are picked up at start-up', async () => {
    let b = await brain();
    await call(b.client, 'note', { action: 'write', title: 'Offline', content: 'before the restart' });
    await b.close();
    open.length = 0;
    const folder = path.join(dir, 'notes', '_global');
    fs.writeFileSync(path.join(folder, 'offline.md'), '---\ntitle: Offline\n---\nchanged in vim meanwhile\n');
    fs.writeFileSync(path.join(folder, 'new-one.md'), '---\ntitle: "broken: [yaml\n---\nhedgehog\n');
    b = await brain();
    expect((await call<Results>(b.client, 'search', { query: 'vim meanwhile' })).results.map((r) => r.path)).toEqual(['offline.md']);
    const broken = await call<{ content: string; problems: string[] }>(b.client, 'note', { action: 'read', path: 'new-one' });
    expect(broken.content).toBe('hedgehog\n');
    expect(broken.problems[0]).toMatch(/front matter/);
  });

  it('two writers never silently overwrite each other', async () => {
    const a = await brain();
    const b = await brain();
    const first = await call<{ hash: string }>(a.client, 'note', { action: 'write', title: 'Shared doc', content: 'v1' });
    const seenByB = await call<{ hash: string }>(b.client, 'note', { action: 'read', title: 'Shared doc' });
    expect(seenByB.hash).toBe(first.hash);
    await call(a.client, 'note', { action: 'write', title: 'Shared doc', content: 'v2 from A', mode: 'replace', base_hash: first.hash });
    expect(await callError(b.client, 'note', { action: 'write', title: 'Shared doc', content: 'v2 from B', mode: 'replace', base_hash: seenByB.hash })).toMatch(/changed since you read it/);
    // Concurrent appends from two processes all land.
    await Promise.all([
      ...Array.from({ length: 15 }, (_, i) => call(a.client, 'note', { action: 'write', title: 'Shared doc', content: `line A${i}`, mode: 'append' })),
      ...Array.from({ length: 15 }, (_, i) => call(b.client, 'note', { action: 'write', title: 'Shared doc', content: `line B${i}`, mode: 'append' })),
    ]);
    const text = fs.readFileSync(path.join(dir, 'notes', '_global', 'Shared doc.md'), 'utf8');
    expect(text).toMatch(/v2 from A/);
    for (let i = 0; i < 15; i++) {
      expect(text).toContain(`line A${i}\n`);
      expect(text).toContain(`line B${i}\n`);
    }
  });

  it('backlinks appear for [[wiki links]]', async () => {
    const { client } = await brain();
    await call(client, 'note', { action: 'write', title: 'Crew', content: 'Armstrong, Aldrin, Collins.' });
    await call(client, 'note', { action: 'write', title: 'Launch', content: 'Boarding: [[Crew]] at 06:00.' });
    await call(client, 'note', { action: 'write', title: 'Debrief', content: 'Thanks to the [[crew|whole crew]].' });
    const crew = await call<{ backlinks: { title: string }[] }>(client, 'note', { action: 'read', title: 'Crew' });
    expect(crew.backlinks.map((b) => b.title).sort()).toEqual(['Debrief', 'Launch']);
  });

  it('project scoping: A\'s memories and notes are invisible from B; global ones are visible from both', async () => {
    const a = await brain();
    const b = await brain();
    await call(a.client, 'init', { project: 'alpha' });
    await call(b.client, 'init', { project: 'beta' });
    await call(a.client, 'remember', { key: 'alpha-secret-plan', content: 'narwhal migration in alpha' });
    await call(a.client, 'note', { action: 'write', title: 'Alpha notes', content: 'narwhal sightings in alpha' });
    await call(a.client, 'remember', { key: 'shared-fact', content: 'narwhal facts for everyone', project: 'global' });
    await call(a.client, 'note', { action: 'write', title: 'Shared notes', content: 'narwhal notes for everyone', project: 'global' });

    const fromB = await call<Results>(b.client, 'search', { query: 'narwhal' });
    expect(fromB.results.map((r) => `${r.kind}:${r.project}:${r.title}`).sort()).toEqual(['memory:global:shared-fact', 'note:global:Shared notes']);
    const recallB = await call<{ results: { key: string }[] }>(b.client, 'recall', { query: 'narwhal' });
    expect(recallB.results.map((r) => r.key)).toEqual(['shared-fact']);
    expect(await callError(b.client, 'note', { action: 'read', title: 'Alpha notes' })).toMatch(/No note/);
    const listB = await call<{ notes: { title: string }[] }>(b.client, 'note', { action: 'list' });
    expect(listB.notes.map((n) => n.title)).toEqual(['Shared notes']);

    const fromA = await call<Results>(a.client, 'search', { query: 'narwhal' });
    expect(fromA.results).toHaveLength(4);
    // Asked for by name, another project's items are visible.
    expect((await call<Results>(b.client, 'search', { query: 'narwhal', project: 'alpha' })).results).toHaveLength(4);

    // Switching later changes what a search sees.
    const switched = await call(b.client, 'project', { action: 'use', name: 'alpha' });
    expect(switched).toMatchObject({ project: 'alpha', previous: 'beta' });
    expect((await call<Results>(b.client, 'search', { query: 'narwhal sightings' })).results[0].title).toBe('Alpha notes');
    const initA = await call<{ project_context: { name: string }; recent_notes: { title: string }[] }>(b.client, 'init', {});
    expect(initA.project_context.name).toBe('alpha');
    expect(initA.recent_notes.map((n) => n.title).sort()).toEqual(['Alpha notes', 'Shared notes']);
  });

  it('notes and projects are brain:// resources', async () => {
    const { client } = await brain();
    await call(client, 'init', { project: 'apollo' });
    await call(client, 'project', { action: 'save', description: 'Moon program', add: { goals: ['land'] } });
    await call(client, 'note', { action: 'write', title: 'Flight plan', path: 'plans/flight plan', content: 'Trans-lunar injection.' });
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri)).toEqual(expect.arrayContaining(['brain://notes/apollo/plans/flight%20plan.md', 'brain://projects/apollo']));
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate)).toEqual(expect.arrayContaining(['brain://notes/{project}/{+path}', 'brain://projects/{name}']));
    const note = await client.readResource({ uri: 'brain://notes/apollo/plans/flight%20plan.md' });
    expect(note.contents[0]).toMatchObject({ mimeType: 'text/markdown' });
    expect(String((note.contents[0] as { text: string }).text)).toMatch(/^---\ntitle: Flight plan\n[\s\S]*---\nTrans-lunar injection.\n$/);
    const project = await client.readResource({ uri: 'brain://projects/apollo' });
    expect(JSON.parse(String((project.contents[0] as { text: string }).text))).toMatchObject({ name: 'apollo', description: 'Moon program', context: { goals: ['land'] } });
    await expect(client.readResource({ uri: 'brain://notes/apollo/..%2F..%2Fetc%2Fpasswd' })).rejects.toThrow(/leave the notes folder/);
    await expect(client.readResource({ uri: 'brain://nothing/here' })).rejects.toThrow(/Unknown resource/);
  });

  it('refuses bad input with clear errors and loses nothing', async () => {
    const { client } = await brain();
    await call(client, 'init', { project: 'apollo' });
    await call(client, 'note', { action: 'write', title: 'Keep', content: 'precious' });
    for (const bad of ['../../etc/passwd', '/etc/passwd', 'CON', '..', 'a/\u0000b', 'x'.repeat(300)]) {
      expect(await callError(client, 'note', { action: 'write', path: bad, content: 'x' })).toMatch(/path/);
    }
    expect(await callError(client, 'note', { action: 'write', title: 'Keep', content: 'overwrite?' })).toMatch(/already exists/);
    expect(await callError(client, 'project', { action: 'save', name: 'apollo', create: true })).toMatch(/taken/);
    expect(await callError(client, 'project', { action: 'save', name: 'apollo', archived: true })).toMatch(/active project/);
    expect(fs.readdirSync(path.join(dir, 'notes', 'apollo'))).toEqual(['Keep.md']);
    expect(fs.readFileSync(path.join(dir, 'notes', 'apollo', 'Keep.md'), 'utf8')).toMatch(/precious/);
    expect(fs.existsSync(path.join(dir, 'etc'))).toBe(false);
  });
});
