// Relations between memories through the tools: remember adds them, recall shows both directions
// and expands neighbours, forget removes one, remember with "restore" undoes either, a relation to a key
// not stored yet waits for it; they stay within a project and global, travel through brain
// export/import, leave init alone, and an existing database gains them by migration.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/app.js';
import { openDatabase, SCHEMA_VERSION } from '../src/core/db.js';
import { call, callError, tempDir, testConfig } from './helpers/brain.js';

interface Link {
  type: string;
  to?: string;
  from?: string;
  id?: number;
}
interface Mem {
  id: number;
  key: string;
  project: string;
  content: string;
  version?: number;
  relations?: Link[];
  via?: string;
}

let dir: string;
let app: App;
let client: Client;

async function open(at = dir) {
  app = createApp(testConfig(at));
  const [a, b] = InMemoryTransport.createLinkedPair();
  await app.connect().server.connect(a);
  client = new Client({ name: 'relations-test', version: '1' });
  await client.connect(b);
}
async function close() {
  await client.close();
  app.close();
}

const remember = (args: Record<string, unknown>) => call<{ id: number; key: string; version: number; created: boolean }>(client, 'remember', args);
const recall = (args: Record<string, unknown>) => call<{ results: Mem[] }>(client, 'recall', args);
const one = async (key: string, extra: Record<string, unknown> = {}) => (await recall({ key, ...extra })).results[0];

beforeEach(async () => {
  dir = tempDir('brain-relations-');
  await open();
});
afterEach(async () => {
  await close();
});

describe('relations', () => {
  it('remember adds a relation; recall shows it from either end, with ids once both exist', async () => {
    const anthropic = await remember({ key: 'Anthropic', content: 'An AI safety company.' });
    const alice = await remember({ key: 'Alice', content: 'Alice writes compilers.', relations: [{ type: 'works_at', to: 'Anthropic' }] });
    expect(alice).toMatchObject({ created: true, version: 1 });
    expect((await one('Alice')).relations).toEqual([{ type: 'works_at', to: 'Anthropic', id: anthropic.id }]);
    expect((await one('Anthropic')).relations).toEqual([{ type: 'works_at', from: 'Alice', id: alice.id }]);
    const text = await client.callTool({ name: 'recall', arguments: { key: 'Anthropic' } });
    expect((text.content as { text: string }[])[0].text).toContain(`  Alice works_at Anthropic (id ${alice.id})`);
    // A memory without relations says nothing about them.
    await remember({ key: 'lonely', content: 'Nothing relates to this.' });
    expect((await one('lonely')).relations).toBeUndefined();
  });

  it('a relation to a key not stored yet is kept and resolves when that memory appears', async () => {
    await remember({ key: 'Bob', content: 'Bob plays chess.', relations: [{ type: 'mentors', to: 'Carol' }] });
    expect((await one('Bob')).relations).toEqual([{ type: 'mentors', to: 'Carol' }]);
    const text = await client.callTool({ name: 'recall', arguments: { key: 'Bob' } });
    expect((text.content as { text: string }[])[0].text).toContain('Bob mentors Carol (no such memory yet)');
    const carol = await remember({ key: 'Carol', content: 'Carol studies openings.' });
    expect((await one('Bob')).relations).toEqual([{ type: 'mentors', to: 'Carol', id: carol.id }]);
    expect((await one('Carol')).relations).toEqual([{ type: 'mentors', from: 'Bob', id: expect.any(Number) }]);
  });

  it('relates by id, adds relations without content, and says what to change when it cannot', async () => {
    const lisbon = await remember({ key: 'lisbon', content: 'Lisbon is the capital of Portugal.' });
    const trip = await remember({ key: 'trip', content: 'The team meets in spring.' });
    const added = await remember({ key: 'trip', relations: [{ type: 'takes_place_in', to: lisbon.id }] });
    expect(added).toMatchObject({ id: trip.id, created: false, version: 2 });
    expect((await one('trip')).content).toBe('The team meets in spring.');
    expect((await one('trip')).relations).toEqual([{ type: 'takes_place_in', to: 'lisbon', id: lisbon.id }]);
    // The same relation again changes nothing: no new version.
    expect(await remember({ key: 'trip', relations: [{ type: 'takes_place_in', to: 'lisbon' }] })).toMatchObject({ version: 2 });

    expect(await callError(client, 'remember', { key: 'nobody', relations: [{ type: 'knows', to: 'trip' }] })).toMatch(/No memory with key "nobody".*pass "content" to create it/);
    expect(await callError(client, 'remember', { key: 'trip' })).toMatch(/"content" is required/);
    expect(await callError(client, 'remember', { key: 'trip', relations: [{ type: '', to: 'x' }] })).toMatch(/relation "type": a relation type cannot be empty/);
    expect(await callError(client, 'remember', { key: 'trip', relations: [{ type: 'near', to: 1.5 }] })).toMatch(/relation "to": an id is a whole number/);
    const many = Array.from({ length: 21 }, (_, i) => ({ type: 'near', to: `p${i}` }));
    expect(await callError(client, 'remember', { key: 'trip', relations: many })).toMatch(/at most 20 per call/);
    expect(await callError(client, 'forget', { key: 'trip', relation: { to: '' } })).toMatch(/relation "to": a key cannot be empty/);
    expect(await callError(client, 'remember', { content: 'x', relations: [{ type: 'knows', to: 99999 }] })).toMatch(/No memory with id 99999 to relate to/);
    // Another project's memory is not in the scope of this one's.
    const secret = await remember({ key: 'plan', content: 'Only for apollo.', project: 'apollo' });
    expect(await callError(client, 'remember', { key: 'g', content: 'global', relations: [{ type: 'knows', to: secret.id }] })).toMatch(/Memory \d+ is in apollo, which a memory of global does not see: relations stay within one project and global/);
    expect(await one('g').catch(() => undefined)).toBeUndefined();
  });

  it('forget with "relation" removes only that relation, as a new version that remember with "restore" undoes', async () => {
    await remember({ key: 'Eli', content: 'Eli is new.' });
    await remember({ key: 'Dana', content: 'Dana runs the lab.', relations: [{ type: 'manages', to: 'Eli' }, { type: 'knows', to: 'Eli' }, { type: 'knows', to: 'Fay' }] });
    expect(await callError(client, 'forget', { key: 'Dana', relation: { to: 'Zed' } })).toMatch(/"Dana" has no relation to "Zed"\. Its relations: knows -> Eli, knows -> Fay, manages -> Eli\./);
    expect(await callError(client, 'forget', { key: 'Eli', relation: { to: 'Dana' } })).toMatch(/belongs to the memory it starts from/);
    expect(await callError(client, 'forget', { relation: { to: 'Eli' } })).toMatch(/say which with "key" or "id"/);
    const removed = await call<{ forgotten: number; keys: string[] }>(client, 'forget', { key: 'Dana', relation: { to: 'Eli', type: 'knows' } });
    // The answer says how to undo it: the version before the removal.
    expect(removed).toMatchObject({ forgotten: 1, keys: ['Dana knows Eli'], undo: 'remember {"key": "Dana", "restore": 1} brings them back.' });
    expect((await one('Dana')).relations?.map((r) => `${r.type} ${r.to}`)).toEqual(['knows Fay', 'manages Eli']);
    // Every type to Eli at once.
    expect(await call(client, 'forget', { key: 'Dana', relation: { to: 'Eli' } })).toMatchObject({ forgotten: 1, keys: ['Dana manages Eli'] });
    const now = await one('Dana', { history: true });
    expect(now).toMatchObject({ version: 3, content: 'Dana runs the lab.' });
    expect(now.relations?.map((r) => `${r.type} ${r.to}`)).toEqual(['knows Fay']);
    // Undo: version 1 had all three.
    await call(client, 'remember', { key: 'Dana', restore: 1 });
    expect((await one('Dana')).relations?.map((r) => `${r.type} ${r.to}`)).toEqual(['knows Eli', 'knows Fay', 'manages Eli']);
    // And the restore is itself a version: going back to 3 works too.
    await call(client, 'remember', { key: 'Dana', restore: 3 });
    expect((await one('Dana')).relations?.map((r) => `${r.type} ${r.to}`)).toEqual(['knows Fay']);
  });

  it('forgetting a memory keeps its relations for restore; relations to it wait meanwhile', async () => {
    const hub = await remember({ key: 'hub', content: 'The hub.' });
    await remember({ key: 'spoke', content: 'A spoke.', relations: [{ type: 'part_of', to: 'hub' }] });
    await call(client, 'forget', { key: 'spoke' });
    expect((await one('hub')).relations).toBeUndefined();
    await call(client, 'remember', { key: 'spoke', restore: 0 });
    expect((await one('hub')).relations).toEqual([{ type: 'part_of', from: 'spoke', id: expect.any(Number) }]);
    await call(client, 'forget', { id: hub.id });
    expect((await one('spoke')).relations).toEqual([{ type: 'part_of', to: 'hub' }]);
    const back = await call<{ id: number }>(client, 'remember', { key: 'hub', restore: 0 });
    expect((await one('spoke')).relations).toEqual([{ type: 'part_of', to: 'hub', id: back.id }]);
  });

  it('recall with "related" adds the memories one relation away, from a key or a search', async () => {
    await remember({ key: 'Acme', content: 'Acme makes anvils.' });
    await remember({ key: 'Wile', content: 'Wile E. Coyote buys rockets.', relations: [{ type: 'customer_of', to: 'Acme' }] });
    await remember({ key: 'Road', content: 'The road runner is fast.', relations: [{ type: 'chased_by', to: 'Wile' }] });
    const fromKey = (await recall({ key: 'Acme', related: true })).results;
    expect(fromKey.map((m) => [m.key, m.via])).toEqual([['Acme', undefined], ['Wile', 'Wile customer_of Acme']]);
    // One step only: Road is two away.
    const fromSearch = (await recall({ query: 'anvils', related: true })).results;
    expect(fromSearch.map((m) => m.key)).toEqual(['Acme', 'Wile']);
    expect(fromSearch[0].relations).toEqual([{ type: 'customer_of', from: 'Wile', id: expect.any(Number) }]);
    // Without "related" a search shows neither.
    const plain = (await recall({ query: 'anvils' })).results;
    expect(plain.map((m) => [m.key, m.relations])).toEqual([['Acme', undefined]]);
  });

  it('relations stay in scope: a project memory relates to its project and global; readers elsewhere do not see it', async () => {
    await remember({ key: 'db', content: 'Global: the shared database host.' });
    await remember({ key: 'db', content: 'Apollo: its own database.', project: 'apollo' });
    await remember({ key: 'svc', content: 'Apollo service.', project: 'apollo', relations: [{ type: 'uses', to: 'db' }] });
    await remember({ key: 'tool', content: 'A global tool.', relations: [{ type: 'uses', to: 'db' }] });
    // In apollo, "db" is apollo's own; global's tool points at the global one.
    const apolloDb = await one('db', { project: 'apollo' });
    expect(apolloDb.project).toBe('apollo');
    expect(apolloDb.relations).toEqual([{ type: 'uses', from: 'svc', id: expect.any(Number) }]);
    const globalDb = await one('db', { project: 'global' });
    expect(globalDb.relations).toEqual([{ type: 'uses', from: 'tool', id: expect.any(Number) }]);
    expect((await one('svc', { project: 'apollo' })).relations).toEqual([{ type: 'uses', to: 'db', id: apolloDb.id }]);
  });

  it('init does not grow with relations', async () => {
    await remember({ key: 'pref', content: 'The user likes short answers.', type: 'user_preferences', importance: 0.9 });
    await remember({ key: 'fact', content: 'The build uses make.', importance: 0.9 });
    const before = await client.callTool({ name: 'init', arguments: {} });
    for (let i = 0; i < 30; i++) await remember({ key: 'fact', relations: [{ type: 'relates_to', to: `thing-${i}` }] });
    await remember({ key: 'pref', relations: [{ type: 'about', to: 'fact' }] });
    const after = await client.callTool({ name: 'init', arguments: {} });
    const size = (r: typeof before) => JSON.stringify(r.content).length;
    expect(size(after)).toBeLessThanOrEqual(size(before));
    expect(JSON.stringify(after.content)).not.toMatch(/thing-|relates_to/);
  });

  it('survive brain export and import into an empty database, current and earlier versions alike', async () => {
    await remember({ key: 'x', content: 'X.', relations: [{ type: 'r1', to: 'y' }, { type: 'r2', to: 'pending' }] });
    await remember({ key: 'y', content: 'Y.', project: 'apollo', relations: [{ type: 'back', to: 'x' }] });
    await call(client, 'forget', { key: 'x', relation: { to: 'y' } });
    const records = app.transfers.flatMap((t) => [...t.exportRecords()]);
    const x = records.find((r) => r.kind === 'memory' && r.key === 'x')!;
    expect(x.relations).toEqual([{ type: 'r2', to: 'pending' }]);
    const old = records.find((r) => r.kind === 'memory_history' && r.key === 'x')!;
    expect(old.relations).toEqual([{ type: 'r1', to: 'y' }, { type: 'r2', to: 'pending' }]);
    await close();

    await open(tempDir('brain-relations-target-'));
    const lines = records.map((r, i) => ({ line: i + 1, value: r }));
    for (const t of app.transfers) {
      const mine = lines.filter((l) => t.kinds.includes(String(l.value.kind)));
      if (mine.length) expect(t.importRecords(mine).errors).toEqual([]);
    }
    const again = app.transfers.flatMap((t) => [...t.exportRecords()]);
    expect(again.map((r) => JSON.stringify(r))).toEqual(records.map((r) => JSON.stringify(r)));
    expect((await one('y', { project: 'apollo' })).relations).toEqual([{ type: 'back', to: 'x', id: expect.any(Number) }]);
    // Undo works on the imported history too.
    await call(client, 'remember', { key: 'x', restore: 1 });
    expect((await one('x')).relations?.map((r) => r.type)).toEqual(['r1', 'r2']);
    // A bad relation in a file is named, not stored.
    const bad = app.memories.importLines([JSON.stringify({ kind: 'memory', key: 'z', content: 'Z.', relations: [{ type: '', to: 'x' }] })]);
    expect(bad.errors).toEqual(['line 1: each of "relations" needs a "type" (1-100 characters) and a "to" key (1-200 characters)']);
  });
});

describe('an existing database', () => {
  it('gains relations by migration: earlier versions have none, and relations work at once', async () => {
    await remember({ key: 'old', content: 'First text.' });
    await remember({ key: 'old', content: 'Second text.' });
    await close();
    // Make the file as brain schema 1 left it: no relations column in memory_history, no table.
    const file = path.join(dir, 'brain.db');
    expect(fs.existsSync(file)).toBe(true);
    const raw = new Database(file);
    raw.exec('DROP TABLE memory_relations; ALTER TABLE memory_history DROP COLUMN relations');
    raw.pragma('user_version = 1');
    raw.close();

    const db = openDatabase(file);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.prepare('SELECT relations FROM memory_history').pluck().all()).toEqual(['[]']);
    db.close();
    await open();
    await remember({ key: 'old', relations: [{ type: 'follows', to: 'new' }] });
    expect((await one('old')).relations).toEqual([{ type: 'follows', to: 'new' }]);
    await call(client, 'remember', { key: 'old', restore: 1 });
    const restored = await one('old');
    expect([restored.content, restored.relations]).toEqual(['First text.', undefined]);
  });
});
