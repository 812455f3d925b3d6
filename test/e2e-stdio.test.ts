// The real built server over real stdio with the SDK client: what Claude Desktop / Claude Code do.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { brainEnv, call, callError, CLI, startBrain, tempDir, type Connected } from './helpers/brain.js';
import { ADMIN_TOKEN, freePort } from './helpers/daemon.js';

let dir: string;
let env: Record<string, string>;
let brain: Connected | undefined;

beforeEach(() => {
  dir = tempDir();
  env = brainEnv(dir);
});
afterEach(async () => {
  await brain?.close();
  brain = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * Memory statistics and a rebalance are operator actions, on this process's ops port (the MCP
 * session carries no tool for them); retried while the port is still opening after the handshake.
 */
async function opsAction<T = Record<string, unknown>>(port: number, action: 'memory-stats' | 'rebalance-memory'): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/admin/${action}`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(r.status).toBe(200);
      return (await r.json()) as T;
    } catch (err) {
      if (i > 100 || !String((err as Error).cause ?? err).includes('ECONNREFUSED')) throw err;
      await new Promise((done) => setTimeout(done, 50));
    }
  }
}

/** Fields whose name, type and enum are description enough. */
const PLAIN_FIELDS = new Set(['action', 'id', 'key', 'tags', 'tag', 'type', 'limit', 'until', 'since', 'query', 'in', 'code', 'language', 'stdin', 'timeout_ms', 'status', 'stream', 'name', 'description', 'max', 'yaml', 'min_importance', 'include_archived']);

async function withOpsPort(extra: Record<string, string> = {}): Promise<number> {
  const port = await freePort();
  env = { ...env, BRAIN_METRICS_PORT: String(port), BRAIN_HTTP_TOKEN: ADMIN_TOKEN, ...extra };
  return port;
}

describe('stdio server', () => {
  it('tools/list: valid names, titles, annotations, schemas', async () => {
    brain = await startBrain(env);
    const { tools } = await brain.client.listTools();
    const names = tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['init', 'remember', 'recall', 'forget']));
    // Operator actions live on the CLI and the ops port, not in every conversation's tools/list.
    for (const gone of ['restore_memory', 'memory_stats', 'rebalance_memory']) expect(names).not.toContain(gone);
    for (const tool of tools) {
      expect(tool.name).toMatch(/^[a-z0-9_]{1,40}$/);
      expect(tool.title).toBeTruthy();
      expect(tool.description!.length).toBeGreaterThan(20);
      expect(tool.annotations?.openWorldHint).toBe(tool.name === 'execute');
      expect(tool.inputSchema.type).toBe('object');
      // executions answers a page of output as plain text alone, which a client refuses from a tool with an output schema.
      if (tool.name === 'executions') expect(tool.outputSchema).toBeUndefined();
      else expect(tool.outputSchema?.type).toBe('object');
      // Every field says what it is for, except those whose name and type say it all: each
      // description costs every conversation its bytes of tools/list.
      for (const [field, schema] of Object.entries(tool.inputSchema.properties ?? {})) {
        if (PLAIN_FIELDS.has(field)) continue;
        expect((schema as { description?: string }).description, `${tool.name}.${field} has a description`).toBeTruthy();
      }
    }
    expect(tools.find((t) => t.name === 'recall')!.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false });
    expect(tools.find((t) => t.name === 'forget')!.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
    // The whole list's budget is held by context-budget.test.ts; the cluster area stays small on its own.
    const clusterArea = ['blueprint', 'cluster', 'message', 'task'];
    const clusterTools = tools.filter((t) => clusterArea.includes(t.name));
    expect(clusterTools.map((t) => t.name)).toEqual(clusterArea);
    const clusterBytes = clusterTools.reduce((n, t) => n + Buffer.byteLength(JSON.stringify({ name: t.name, description: t.description, inputSchema: t.inputSchema })), 0);
    expect(clusterBytes).toBeLessThanOrEqual(5_000);
    expect(brain.client.getInstructions()).toMatch(/init/);
  });

  it('init, remember, recall, forget, remember restore; memory stats and rebalance on the ops port', async () => {
    // No scheduled rebalance (the first runs 3 s after start): the rebalance below is the only one.
    const port = await withOpsPort({ BRAIN_REBALANCE_INTERVAL_MIN: '0' });
    brain = await startBrain(env);
    const c = brain.client;
    const started = await call(c, 'init', { client: 'e2e' });
    expect(started).toMatchObject({ resumed: false, project: 'global', preferences: [], memories: [] });

    const pref = await call(c, 'remember', { key: 'editor', content: 'The user prefers vim keybindings everywhere.', type: 'user_preferences' });
    expect(pref).toMatchObject({ key: 'editor', tier: 'hot', created: true, version: 1 });
    const fact = await call(c, 'remember', { content: 'The staging database is PostgreSQL 16 on host db-staging.', tags: ['infra'] });
    expect(fact.created).toBe(true);
    expect(String(fact.key)).toMatch(/^the-staging-database-is-postgresql-16/);

    const found = await call<{ results: { key: string; why: string }[] }>(c, 'recall', { query: 'staging postgres database' });
    expect(found.results[0].key).toBe(fact.key);
    expect(found.results[0].why).toMatch(/^text [\d.]+ \([a-z ,]+\), warm, importance 0\.5, \d+ uses, recency [\d.]+$/);
    const typo = await call<{ results: { key: string }[] }>(c, 'recall', { query: 'postgreSLQ stagign' });
    expect(typo.results.map((r) => r.key)).toContain(fact.key);
    const fragment = await call<{ results: { key: string }[] }>(c, 'recall', { query: 'keybind' });
    expect(fragment.results.map((r) => r.key)).toContain('editor');

    const updated = await call(c, 'remember', { key: 'editor', content: 'The user prefers emacs keybindings now.', type: 'user_preferences' });
    expect(updated).toMatchObject({ created: false, version: 2 });
    const withHistory = await call<{ results: { content: string }[]; history: { version: number }[] }>(c, 'recall', { key: 'editor', history: true });
    expect(withHistory.results[0].content).toMatch(/emacs/);
    expect(withHistory.history.map((h) => h.version)).toEqual([1]);

    const forgotten = await call(c, 'forget', { key: 'editor' });
    expect(forgotten).toMatchObject({ forgotten: 1, keys: ['editor'] });
    expect(await callError(c, 'recall', { key: 'editor' })).toMatch(/No memory with key "editor"/);
    expect(forgotten.undo).toMatch(/"restore": 0/);
    const restored = await call(c, 'remember', { key: 'editor', restore: 0 });
    expect(restored).toMatchObject({ key: 'editor', version: 3, created: false });
    expect((await call<{ results: { content: string }[] }>(c, 'recall', { key: 'editor' })).results[0].content).toMatch(/emacs/);

    const stats = await opsAction<{ total: number; hot: { items: number }; recall_index: { state: string; memories: number } }>(port, 'memory-stats');
    expect(stats.total).toBe(2);
    expect(stats.hot.items).toBe(1);
    // The recall index is built in the background at start and follows every write since.
    expect(stats.recall_index).toEqual({ state: 'ready', memories: 2, changes_behind: 0 });
    // Both fit the hot budget (2000 items by default), so rebalancing promotes the warm one.
    const moved = await opsAction(port, 'rebalance-memory');
    expect(moved).toMatchObject({ promoted: 1, demoted: 0, hot_items: 2 });

    // An earlier version comes back the same way, by its number (the history lists them).
    expect(await call(c, 'remember', { key: 'editor', restore: 1 })).toMatchObject({ key: 'editor', version: 4 });
    expect((await call<{ results: { content: string }[] }>(c, 'recall', { key: 'editor' })).results[0].content).toMatch(/vim/);
    expect(await call(c, 'remember', { key: 'editor', restore: 3 })).toMatchObject({ version: 5 });
    expect((await call<{ results: { content: string }[] }>(c, 'recall', { key: 'editor' })).results[0].content).toMatch(/emacs/);
    expect(await callError(c, 'remember', { key: 'editor', restore: 1, content: 'x' })).toMatch(/leave out "content"/);
    expect(await callError(c, 'remember', { restore: 0 })).toMatch(/"restore" needs the "key"/);

    const again = await call<{ preferences: { key: string }[]; memories: { key: string }[] }>(c, 'init', {});
    expect(again.preferences.map((p) => p.key)).toEqual(['editor']);
    expect(again.memories.map((m) => m.key)).toContain(fact.key);
  });

  it('bad input gets a clear error and changes nothing', async () => {
    // No scheduled rebalance (the first runs 3 s after start): the comparison is of what the calls did.
    const port = await withOpsPort({ BRAIN_REBALANCE_INTERVAL_MIN: '0' });
    brain = await startBrain(env);
    const c = brain.client;
    await call(c, 'remember', { key: 'keep', content: 'original text' });
    const before = await opsAction(port, 'memory-stats');
    expect(await callError(c, 'remember', { key: 'keep', content: 'x', importance: 2 })).toMatch(/importance is between 0 and 1/);
    expect(await callError(c, 'remember', { key: '', content: 'x' })).toMatch(/key cannot be empty/);
    expect(await callError(c, 'remember', { key: 42, content: 'x' })).toMatch(/"key"/);
    expect(await callError(c, 'remember', { content: 'x', ttl_seconds: -5 })).toMatch(/ttl_seconds must be positive/);
    expect(await callError(c, 'remember', { content: 'x', colour: 'red' })).toMatch(/unknown field "colour"/);
    expect(await callError(c, 'remember', {})).toMatch(/"content" is required/);
    expect(await callError(c, 'remember', { content: 'y'.repeat(300 * 1024) })).toMatch(/limit is 262144/);
    expect(await callError(c, 'remember', { content: 'token ghp_' + 'Zk3q9XvB2mLp7RtY4wNc8HdJ6sFa1GeU0iOb' })).toMatch(/GitHub token.*allow_secrets/);
    expect(await callError(c, 'recall', { cursor: 'not-a-cursor' })).toMatch(/cursor.*not valid/);
    expect(await callError(c, 'forget', { before: '12', confirm: true })).toMatch(/ISO 8601/);
    expect(await callError(c, 'forget', { type: 'general' })).toMatch(/would forget 1 memory.*confirm/);
    // Not a tool result: the call never reached a tool, so it is a JSON-RPC error (-32602), and its
    // message carries the client's "MCP error -32602:" prefix once, not twice.
    const unknown = await c.callTool({ name: 'nonexistent_tool', arguments: {} }).then(
      () => undefined,
      (err: { code: number; message: string }) => err,
    );
    expect(unknown?.code).toBe(-32602);
    expect(unknown?.message).toMatch(/^MCP error -32602: Unknown tool "nonexistent_tool"\. Available tools: init, remember/);
    for (const query of ['foo AND (', '"unbalanced', '*', 'NEAR(a b)', 'col:umn', '^x', '🙂 ünïcödé ∑', '']) {
      const r = await c.callTool({ name: 'recall', arguments: { query } });
      expect(r.isError, `query ${JSON.stringify(query)}`).toBeFalsy();
    }
    const after = await opsAction(port, 'memory-stats');
    // Everything but the file size (recall's access statistics grow the WAL) and the background
    // word-list queue (it drains on its own) is unchanged.
    expect({ ...after, database_bytes: 0, words_pending: 0 }).toEqual({ ...before, database_bytes: 0, words_pending: 0 });
    const kept = await call<{ results: { content: string; version: number }[] }>(c, 'recall', { key: 'keep' });
    expect(kept.results[0]).toMatchObject({ content: 'original text', version: 1 });
  });

  it('recall pages with next_cursor: no repeats, nothing skipped', async () => {
    brain = await startBrain(env);
    for (let i = 0; i < 15; i++) await call(brain.client, 'remember', { key: `page-${i}`, content: `paging example number ${i}` });
    const first = await call<{ results: { key: string }[]; next_cursor?: string }>(brain.client, 'recall', { query: 'paging example', limit: 10 });
    expect(first.results.length).toBe(10);
    const second = await call<{ results: { key: string }[]; next_cursor?: string }>(brain.client, 'recall', { query: 'paging example', limit: 10, cursor: first.next_cursor });
    expect(second.next_cursor).toBeUndefined();
    const keys = [...first.results, ...second.results].map((r) => r.key);
    expect(new Set(keys).size).toBe(15);
    expect(await callError(brain.client, 'recall', { query: 'other words', limit: 10, cursor: first.next_cursor })).toMatch(/different search/);
  });

  it('offers an init prompt with the same context as the init tool', async () => {
    brain = await startBrain(env);
    await call(brain.client, 'remember', { key: 'tabs', type: 'user_preferences', content: 'Use tabs, never spaces.' });
    const { prompts } = await brain.client.listPrompts();
    expect(prompts.map((p) => p.name)).toContain('init');
    const got = await brain.client.getPrompt({ name: 'init', arguments: {} });
    const text = (got.messages[0].content as { text: string }).text;
    expect(text).toMatch(/Preferences \(always apply\):\n- Use tabs, never spaces\./);
    await expect(brain.client.getPrompt({ name: 'init', arguments: { project: '../etc' } })).rejects.toThrow(/project/);
  });

  it('persists across a restart', async () => {
    brain = await startBrain(env);
    await call(brain.client, 'remember', { key: 'persist', content: 'survives restarts', importance: 0.9 });
    await brain.close();
    brain = await startBrain(env);
    const r = await call<{ results: { content: string; tier: string }[] }>(brain.client, 'recall', { key: 'persist' });
    expect(r.results[0]).toMatchObject({ content: 'survives restarts', tier: 'hot' });
  });

  it('every line on stdout is JSON-RPC, and it exits when stdin closes', async () => {
    const child = spawn(process.execPath, [CLI], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const send = (msg: object) => child.stdin.write(JSON.stringify(msg) + '\n');
    send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'remember', arguments: { content: 'raw protocol test' } } });
    send({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'recall', arguments: { query: 'raw protocol' } } });
    send({ jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'remember', arguments: { content: 5 } } });
    await new Promise((r) => setTimeout(r, 1500));
    child.stdin.end();
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    const lines = stdout.split('\n').filter((l) => l.length > 0);
    expect(lines.length).toBe(5);
    for (const line of lines) {
      const msg = JSON.parse(line);
      expect(msg.jsonrpc).toBe('2.0');
    }
    expect(lines.map((l) => JSON.parse(l).id).sort()).toEqual([1, 2, 3, 4, 5]);
  });

  it('exits on SIGTERM with the database closed cleanly', async () => {
    const child = spawn(process.execPath, [CLI], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    // Wait until it serves a request (a fixed sleep is too short on a loaded machine).
    child.stdin.write(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }) + '\n');
    await new Promise((r) => child.stdout.once('data', r));
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    // A cleanly closed WAL database leaves no -wal file behind.
    expect(fs.existsSync(path.join(dir, 'brain.db-wal'))).toBe(false);
  });
});
