// The events area through its tools (in-process MCP client on a temp-file brain): create, read,
// update, delete, filters, cursor pages, full-text search with hostile input, statistics; and
// the slow-query log fed by tool handlers.
import fs from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/app.js';
import { insertEvent } from '../src/events/store.js';
import { slowQueries } from '../src/ops/query-log.js';
import { call, callError, tempDir, testConfig } from './helpers/brain.js';

let dir: string;
let app: App;
let client: Client;

async function open(extra: Record<string, string> = {}) {
  app = createApp(testConfig(dir, extra));
  const [a, b] = InMemoryTransport.createLinkedPair();
  await app.connect().server.connect(a);
  client = new Client({ name: 'events-test', version: '1' });
  await client.connect(b);
}

beforeEach(() => {
  dir = tempDir('brain-events-');
});
afterEach(async () => {
  await client?.close();
  app?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Ev {
  id: number;
  type: string;
  severity: string;
  message: string;
  source: string | null;
  details?: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

describe('events tools', () => {
  it('events record creates and updates, list reads, delete deletes', async () => {
    await open();
    const made = await call<{ id: number; created: boolean }>(client, 'events', { action: 'record', 
      type: 'deploy',
      severity: 'warning',
      message: 'Deployed api v2 with a slow migration',
      details: { version: '2.0.0', minutes: 14 },
    });
    expect(made.created).toBe(true);
    const id = made.id;
    const read = await call<{ events: Ev[] }>(client, 'events', { id });
    expect(read.events[0]).toMatchObject({ id, type: 'deploy', severity: 'warning', source: 'events-test', details: { version: '2.0.0', minutes: 14 } });

    const changed = await call<{ id: number; created: boolean }>(client, 'events', { action: 'record', id, message: 'Deployed api v2; migration took 14 minutes', severity: 'info' });
    expect(changed).toMatchObject({ id, created: false });
    const after = await call<{ events: Ev[] }>(client, 'events', { id });
    expect(after.events[0]).toMatchObject({ id, severity: 'info', type: 'deploy', message: 'Deployed api v2; migration took 14 minutes', details: { version: '2.0.0' } });
    expect(after.events[0].created_at).toBe(read.events[0].created_at);

    // The search index follows the update.
    expect((await call<{ events: Ev[] }>(client, 'events', { query: 'migration took' })).events.map((e) => e.id)).toEqual([id]);
    expect((await call<{ events: Ev[] }>(client, 'events', { query: 'slow' })).events).toEqual([]);

    expect(await callError(client, 'events', { action: 'record', type: 'deploy' })).toMatch(/give "type" and "message"/);
    expect(await callError(client, 'events', { action: 'record', id })).toMatch(/Nothing to change/);
    expect(await callError(client, 'events', { action: 'record', id: 9999, message: 'x' })).toMatch(/No event with id 9999/);
    expect(await callError(client, 'events', { action: 'record', type: 'Bad Type', message: 'x' })).toMatch(/lower_snake_case/);
    expect(await callError(client, 'events', { action: 'record', type: 'x', message: 'x', severity: 'fatal' })).toMatch(/"severity"/);

    expect(await call(client, 'events', { action: 'delete', id })).toEqual({ deleted: 1 });
    expect(await callError(client, 'events', { id })).toMatch(/No event with id/);
    expect(await callError(client, 'events', { action: 'delete', id })).toMatch(/No event with id/);
    expect((await call<{ events: Ev[] }>(client, 'events', { query: 'migration' })).events).toEqual([]);
  });

  it('filters by type, severity, source and time; pages with a cursor; statistics match', async () => {
    await open();
    const base = Date.parse('2026-02-01T00:00:00Z');
    const severities = ['info', 'warning', 'error', 'critical'] as const;
    for (let i = 0; i < 45; i++) {
      insertEvent(app.db, { type: i % 3 === 0 ? 'backup' : 'deploy', severity: severities[i % 4], message: `event number ${i}`, source: i % 2 ? 'ci' : 'brain' }, base + i * 60_000);
    }
    const seen: number[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page: { events: Ev[]; next_cursor?: string } = await call(client, 'events', { limit: 20, ...(cursor ? { cursor } : {}) });
      seen.push(...page.events.map((e) => e.id));
      cursor = page.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(45);
    expect(new Set(seen).size).toBe(45);
    expect(seen).toEqual([...seen].sort((a, b) => b - a));

    const backups = await call<{ events: Ev[] }>(client, 'events', { type: ['backup'], limit: 100 });
    expect(backups.events).toHaveLength(15);
    const bad = await call<{ events: Ev[] }>(client, 'events', { severity: ['error', 'critical'], source: 'ci', limit: 100 });
    expect(bad.events.every((e) => ['error', 'critical'].includes(e.severity) && e.source === 'ci')).toBe(true);
    expect(bad.events).toHaveLength(11);
    const window = await call<{ events: Ev[] }>(client, 'events', { since: '2026-02-01T00:10:00Z', until: '2026-02-01T00:19:00Z', limit: 100 });
    expect(window.events.map((e) => e.message)).toEqual(Array.from({ length: 10 }, (_, k) => `event number ${19 - k}`));

    const stats = await call<{ events: Ev[]; stats: { total: number; by_severity: Record<string, number>; by_type: Record<string, number>; first_at: string; last_at: string } }>(
      client,
      'events',
      { stats: true, limit: 0 },
    );
    expect(stats.events).toEqual([]);
    expect(stats.stats).toMatchObject({
      total: 45,
      by_severity: { info: 12, warning: 11, error: 11, critical: 11 },
      by_type: { deploy: 30, backup: 15 },
      first_at: '2026-02-01T00:00:00.000Z',
      last_at: '2026-02-01T00:44:00.000Z',
    });
    const filtered = await call<{ stats: { total: number } }>(client, 'events', { stats: true, limit: 0, type: ['backup'], severity: ['info'] });
    expect(filtered.stats.total).toBe(4);

    expect(await callError(client, 'events', { cursor: 'garbage!' })).toMatch(/"cursor" is not valid/);
    expect(await callError(client, 'events', { since: 'yesterday' })).toMatch(/ISO 8601/);
  });

  it('time filters take strict ISO 8601: "12" or a day that does not exist is an error naming the field and the format', async () => {
    await open();
    insertEvent(app.db, { type: 'deploy', severity: 'info', message: 'in December' }, Date.parse('2026-12-01T09:30:00Z'));
    insertEvent(app.db, { type: 'deploy', severity: 'info', message: 'in 2001' }, Date.parse('2001-12-01T12:00:00Z'));
    const format = 'use an ISO 8601 date or time, e.g. 2026-12-01 or 2026-12-01T09:00:00Z';
    // Date.parse reads "12" as 2001-12-01 and rolls February 31st over to March 3rd.
    expect(await callError(client, 'events', { since: '12' })).toBe(`Invalid arguments for events: "since": ${format}.`);
    expect(await callError(client, 'events', { until: '2026-02-31' })).toBe(`Invalid arguments for events: "until": ${format}.`);
    expect(await callError(client, 'events', { since: '2026-12-01T24:00:00Z' })).toMatch(/"since": use an ISO 8601/);
    expect(await callError(client, 'events', { since: 'March 5' })).toMatch(/"since": use an ISO 8601/);

    const messages = async (args: Record<string, unknown>) => (await call<{ events: Ev[] }>(client, 'events', args)).events.map((e) => e.message);
    expect(await messages({ since: '2026-12-01' })).toEqual(['in December']);
    expect(await messages({ until: '2026-12-01' })).toEqual(['in 2001']);
    // A time without a zone is UTC, like every time brain answers with; one with a zone is that zone.
    expect(await messages({ since: '2026-12-01T09:30' })).toEqual(['in December']);
    expect(await messages({ since: '2026-12-01T09:31' })).toEqual([]);
    expect(await messages({ since: '2026-12-01T10:30:00+01:00' })).toEqual(['in December']);
    expect(await messages({ since: '2026-12-01 09:30:00.000' })).toEqual(['in December']);
  });

  it('search treats any input as plain words, with stemming', async () => {
    await open();
    insertEvent(app.db, { type: 'backup', severity: 'error', message: 'Backups failed: disk full on /var' });
    insertEvent(app.db, { type: 'note', severity: 'info', message: 'weird text with "quotes" AND (parens) NEAR stars*' });
    const hit = await call<{ events: Ev[] }>(client, 'events', { query: 'backup fails' });
    expect(hit.events.map((e) => e.type)).toEqual(['backup']);
    for (const query of ['foo AND (', '"unbalanced', '*', 'NEAR(a b)', 'col:umn', '^x', '🙂 ünïcödé ∑', '', 'message:disk']) {
      const r = await client.callTool({ name: 'events', arguments: { query } });
      expect(r.isError, `query ${JSON.stringify(query)}`).toBeFalsy();
    }
    const quoted = await call<{ events: Ev[] }>(client, 'events', { query: '"quotes" AND (parens' });
    expect(quoted.events.map((e) => e.type)).toEqual(['note']);
    expect((await call<{ events: Ev[] }>(client, 'events', { query: '***' })).events).toEqual([]);
  });

  it('pages and type filters read an index, not the whole table', async () => {
    await open();
    const plan = (sql: string, ...params: unknown[]) =>
      (app.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail).join(' | ');
    expect(plan(`SELECT e.* FROM events e WHERE 1 AND e.id < ? ORDER BY e.id DESC LIMIT 21`, 100)).toMatch(/SEARCH e USING INTEGER PRIMARY KEY/);
    expect(plan(`SELECT e.* FROM events e WHERE e.event_type IN (SELECT value FROM json_each(?)) ORDER BY e.id DESC LIMIT 21`, '["backup"]')).toMatch(
      /SEARCH e USING INDEX events_type/,
    );
  });

  it('system events never throw, even with the database closed', async () => {
    await open();
    expect(app.events.record('test.event', 'info', 'recorded')).toMatchObject({ event_type: 'test.event', source: 'brain' });
    app.db.close();
    expect(app.events.record('test.event', 'error', 'lost')).toBeUndefined();
  });

  it('old events expire with the retention period (at least 30 days)', async () => {
    await open({ BRAIN_RETENTION_DAYS: '1' });
    insertEvent(app.db, { type: 'old', severity: 'info', message: 'long ago' }, Date.now() - 40 * 86_400_000);
    insertEvent(app.db, { type: 'recent', severity: 'info', message: 'last week' }, Date.now() - 7 * 86_400_000);
    expect(app.events.purge()).toBe(1);
    expect(app.events.list({}, 10).rows.map((e) => e.event_type)).toEqual(['recent']);
  });
});

describe('slow query log', () => {
  it('tool handlers slower than BRAIN_SLOW_QUERY_MS land in query_log and the counter', async () => {
    await open({ BRAIN_SLOW_QUERY_MS: '0.000001' });
    await call(client, 'remember', { content: 'anything takes longer than a nanosecond' });
    await call(client, 'recall', { query: 'nanosecond' });
    const rows = slowQueries(app.db, Date.now() - 60_000);
    expect(rows.map((r) => r.sql).sort()).toEqual(['tool recall', 'tool remember']);
    expect(rows.every((r) => r.max_ms > 0 && r.executions === 1)).toBe(true);
    expect(await app.metrics.registry.getSingleMetricAsString('brain_slow_queries_total')).toMatch(/brain_slow_queries_total 2/);
  });

  it('below the threshold nothing is written', async () => {
    await open({ BRAIN_SLOW_QUERY_MS: '60000' });
    await call(client, 'remember', { content: 'fast' });
    expect(app.db.prepare('SELECT count(*) FROM query_log').pluck().get()).toBe(0);
  });
});
