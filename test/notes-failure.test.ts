// A note write that fails leaves nothing behind: when the database cannot take the change (here:
// full, as SQLite's max_page_count makes it), no note file appears and a replaced file keeps its
// old text. The same holds through the tool, as the assistant sees it.
import fs from 'node:fs';
import path from 'node:path';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/app.js';
import { brainEnv, tempDir, testConfig } from './helpers/brain.js';

let dir: string;
let app: App;

beforeEach(() => {
  dir = tempDir('brain-notes-full-');
  app = createApp(testConfig(dir, brainEnv(dir)));
});
afterEach(() => app.close());

/** No page more: the next write that needs one fails with SQLITE_FULL. */
function fillDatabase() {
  const pages = app.db.pragma('page_count', { simple: true }) as number;
  app.db.pragma(`max_page_count = ${pages}`);
}

const big = (word: string) => `${word} `.repeat(60_000);
const noteFiles = () => (fs.existsSync(app.config.notesPath) ? fs.readdirSync(app.config.notesPath, { recursive: true }).map(String).filter((n) => n.endsWith('.md')) : []);
const hidden = () => (fs.existsSync(app.config.notesPath) ? fs.readdirSync(app.config.notesPath, { recursive: true }).map(String).filter((n) => path.basename(n).startsWith('.') && !n.startsWith('.trash')) : []);

describe('a note write the database cannot take', () => {
  it('creates no file and no row', () => {
    fillDatabase();
    expect(() => app.notes.write({ project: '', title: 'Design', content: big('alpha'), mode: 'create' })).toThrow(/full/);
    expect(noteFiles()).toEqual([]);
    expect(hidden()).toEqual([]);
    expect(app.db.prepare('SELECT count(*) FROM notes').pluck().get()).toBe(0);
  });

  it('leaves a replaced or appended note as it was', () => {
    const first = app.notes.write({ project: '', title: 'Plan', content: 'Ship on Friday.', mode: 'create' });
    const before = fs.readFileSync(path.join(app.config.notesPath, noteFiles()[0]), 'utf8');
    fillDatabase();
    expect(() => app.notes.write({ project: '', title: 'Plan', content: big('beta'), mode: 'replace', baseHash: first.row.hash })).toThrow(/full/);
    expect(() => app.notes.write({ project: '', title: 'Plan', content: big('gamma'), mode: 'append' })).toThrow(/full/);
    expect(noteFiles()).toHaveLength(1);
    expect(fs.readFileSync(path.join(app.config.notesPath, noteFiles()[0]), 'utf8')).toBe(before);
    expect(hidden()).toEqual([]);
    expect(app.db.prepare('SELECT hash FROM notes').pluck().all()).toEqual([first.row.hash]);
  });

  it('through the note tool: an error result, and nothing on disk', async () => {
    const [a, b] = InMemoryTransport.createLinkedPair();
    const { server } = app.connect();
    await server.connect(a);
    const client = new Client({ name: 'notes-full', version: '1.0.0' });
    await client.connect(b);
    try {
      fillDatabase();
      const r = await client.callTool({ name: 'note', arguments: { action: 'write', title: 'Meeting', content: big('delta') } });
      expect(r.isError).toBe(true);
      expect(noteFiles()).toEqual([]);
    } finally {
      await client.close();
    }
  });
});
