// The protocol to the letter, over the built CLI's real stdio: every request gets an answer with the
// code JSON-RPC names (even an 11 MB line, a batch or a byte-order mark), errors say what to
// change, unknown tools and resources are protocol errors, resource reads come in pages,
// completion/complete offers what brain knows, and warnings reach the session as log messages at
// the level it chose.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { LoggingMessageNotificationSchema, type LoggingMessageNotification } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/core/db.js';
import { brainEnv, call, callError, CLI, startBrain, tempDir, type Connected } from './helpers/brain.js';
import { waitFor } from './helpers/daemon.js';
import { startRaw, type RawStdio } from './helpers/raw-stdio.js';

let dir: string;
let env: Record<string, string>;
let raw: RawStdio | undefined;
let brain: Connected | undefined;

beforeEach(() => {
  dir = tempDir('brain-protocol-');
  env = brainEnv(dir);
});
afterEach(async () => {
  raw?.child.kill('SIGKILL');
  raw = undefined;
  await brain?.close();
  brain = undefined;
});

/** What the SDK client's rejection carries: the JSON-RPC code and the message it builds. */
async function rpcError(p: Promise<unknown>): Promise<{ code: number; message: string; data?: unknown }> {
  return p.then(
    () => {
      throw new Error('expected a JSON-RPC error');
    },
    (err: { code: number; message: string; data?: unknown }) => err,
  );
}

describe('JSON-RPC input over stdio', () => {
  it('a line over 10 MB gets an error matched to its id, the session reads on, and brain exits when stdin closes', async () => {
    raw = startRaw(env);
    await raw.handshake();
    // The SDK's client writes method and params first and the id last: the id is 11 MB in.
    const big = Buffer.concat([
      Buffer.from('{"method":"tools/call","params":{"name":"remember","arguments":{"content":"'),
      Buffer.alloc(11 * 1024 * 1024, 'x'),
      Buffer.from('"}},"jsonrpc":"2.0","id":"big-one"}\n'),
    ]);
    await raw.write(big);
    await raw.send({ jsonrpc: '2.0', id: 2, method: 'ping' });
    const refused = await raw.reply('big-one');
    expect(refused.error?.code).toBe(-32600);
    expect(refused.error?.message).toMatch(/A message of 11\.0 MB is over brain's limit of 10\.0 MB per JSON-RPC message, so none of it was read\. Send large content in parts/);
    expect((await raw.reply(2)).result).toEqual({});
    // Nothing of it was stored, and the session still works.
    await raw.send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'init', arguments: {} } });
    expect((await raw.reply(3)).result?.structuredContent).toMatchObject({ counts: { memories: 0 } });
    expect(raw.stderr()).toMatch(/message refused .*refused a JSON-RPC message of 11534\d+ bytes \(limit 10485760\) with id \\"big-one\\"/);
    raw.child.stdin!.end();
    expect(await raw.exited).toBe(0);
  }, 60_000);

  it('malformed requests get the JSON-RPC error the specification names, and the session carries on', async () => {
    raw = startRaw(env);
    await raw.handshake();
    const deep = '{"d":'.repeat(5000) + '1' + '}'.repeat(5000);
    const lines = [
      JSON.stringify({ jsonrpc: '1.0', id: 1, method: 'ping' }),
      JSON.stringify({ jsonrpc: '2.0', id: 2, method: 123 }),
      JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list', params: 'x' }),
      '\uFEFF' + JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'ping' }),
      JSON.stringify([{ jsonrpc: '2.0', id: 5, method: 'ping' }]),
      JSON.stringify({ jsonrpc: '2.0', id: 6, method: 'tools/call', params: { name: 'recall', arguments: 'x' } }),
      '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"events","arguments":{"action":"record","type":"x","message":"m","details":' + deep + '}}}',
      JSON.stringify({ jsonrpc: '2.0', id: null, method: 'ping' }),
      JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'ping', extra: 'ignored' }),
      // A notification with a bad shape is logged, never answered (JSON-RPC answers no notification).
      JSON.stringify({ jsonrpc: '1.0', method: 'notifications/initialized' }),
      JSON.stringify({ jsonrpc: '2.0', id: 10, method: 'resources/read', params: { uri: 42 } }),
    ];
    for (const line of lines) await raw.write(line + '\n');
    await raw.write('{not json\n');
    await raw.send({ jsonrpc: '2.0', id: 'last', method: 'ping' });
    await raw.reply('last');

    const err = async (id: string | number | null) => (await raw!.reply(id)).error;
    expect(await err(1)).toEqual({ code: -32600, message: '"jsonrpc" must be "2.0" (got "1.0").' });
    expect(await err(2)).toMatchObject({ code: -32600, message: expect.stringMatching(/"method" must be the method's name as text.*\(got 123\)/) });
    expect(await err(3)).toMatchObject({ code: -32600, message: '"params" of tools/list must be an object (got "x").' });
    expect((await raw.reply(4)).result).toEqual({});
    expect(await err(6)).toEqual({ code: -32602, message: 'Invalid tools/call request: "params.arguments" must be an object (got "x").' });
    expect(await err(7)).toMatchObject({ code: -32602, message: expect.stringMatching(/^params\.arguments\.details\.d.* nests more than 64 levels deep; brain accepts at most 64: flatten the data\.$/) });
    expect((await raw.reply(9)).result).toEqual({});
    expect(await err(10)).toMatchObject({ code: -32602, message: 'Invalid resources/read request: "params.uri" must be text (a string) (got 42).' });
    // id null: the batch, the id that was null, and the line that is not JSON.
    const nulls = raw.lines.filter((l) => l.id === null).map((l) => l.error);
    expect(nulls).toEqual([
      { code: -32600, message: 'JSON-RPC batches are not supported (MCP 2025-06-18 removed them): send each request as its own message.' },
      { code: -32600, message: '"id" must be a string or an integer (got null); leave it out only for notifications.' },
      { code: -32700, message: expect.stringMatching(/^The message is not valid JSON \(.*\); send one JSON-RPC object per message\.$/) },
    ]);
    // One line out per request in, nothing for the notification; no raw zod dump anywhere.
    expect(raw.lines.filter((l) => l.id !== 'init')).toHaveLength(lines.length - 1 + 2);
    expect(JSON.stringify(raw.lines)).not.toMatch(/"code":\s*"invalid_type"|Maximum call stack/);
    expect(raw.stderr()).toMatch(/stdio: message refused .*jsonrpc.*must be.*2\.0.*got.*1\.0/);
  }, 60_000);

  it('a wrong type is reported as wrong (with the value given), a missing field as missing', async () => {
    brain = await startBrain(env);
    const c = brain.client;
    expect(await callError(c, 'recall', { limit: 1.5 })).toBe('Invalid arguments for recall: "limit" must be a whole number (got 1.5).');
    expect(await callError(c, 'remember', { content: 5 })).toBe('Invalid arguments for remember: "content" must be text (a string) (got 5).');
    expect(await callError(c, 'search', {})).toBe('Invalid arguments for search: "query" is required.');
    // remember may go without content when it restores or adds relations, so it says what a plain call is missing.
    expect(await callError(c, 'remember', {})).toBe('"content" is required: what to remember (or "key" with "restore" to bring a memory back, or with "relations" to add only those).');
    expect(await callError(c, 'recall', { tags: 'a' })).toMatch(/"tags" must be a list \(got "a"\)/);
  }, 60_000);

  it('unknown tools, prompts and resources are JSON-RPC errors (-32602, -32002) with one "MCP error" prefix', async () => {
    brain = await startBrain(env);
    const c = brain.client;
    const tool = await rpcError(c.callTool({ name: 'no_such_tool', arguments: {} }));
    expect(tool.code).toBe(-32602);
    expect(tool.message).toMatch(/^MCP error -32602: Unknown tool "no_such_tool"\. Available tools: init, /);
    const prompt = await rpcError(c.getPrompt({ name: 'nope' }));
    expect(prompt).toMatchObject({ code: -32602, message: 'MCP error -32602: Unknown prompt "nope"; prompts/list shows what brain offers.' });
    const resource = await rpcError(c.readResource({ uri: 'brain://nothing/here' }));
    expect(resource).toMatchObject({ code: -32002, data: { uri: 'brain://nothing/here' } });
    expect(resource.message).toBe('MCP error -32002: Unknown resource brain://nothing/here; resources/templates/list shows the URI forms brain serves.');
    // A well-formed URI that names nothing is "not found" too.
    const note = await rpcError(c.readResource({ uri: 'brain://notes/global/missing.md' }));
    expect(note.code).toBe(-32002);
    expect(note.message).toMatch(/^MCP error -32002: No note "missing\.md"/);
    const bad = await rpcError(c.readResource({ uri: 'brain://projects/not a name' }));
    expect(bad).toMatchObject({ code: -32602, message: expect.stringMatching(/^MCP error -32602: brain:\/\/projects\/not a name is not a valid project URI/) });
  }, 60_000);

  it('maintenance mode refuses a new session with its own code (-32010), not RequestTimeout (-32001)', async () => {
    const maint = (mode: string) => spawnSync(process.execPath, [CLI, 'maintenance', mode, 'restoring'], { env, encoding: 'utf8' });
    // Operators put an existing brain into maintenance; `brain maintenance` refuses a missing database.
    openDatabase(env.BRAIN_DB_PATH).close();
    expect(maint('on').status).toBe(0);
    raw = startRaw(env);
    await raw.send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
    expect((await raw.reply(1)).error).toMatchObject({ code: -32010, message: expect.stringMatching(/maintenance mode \(restoring\)/) });
  }, 60_000);
});

describe('resources/read pages', () => {
  it('a 450 KB note comes back 20,000 characters at a time, each page saying where the next one is', async () => {
    const text = '# Big\n\n' + Array.from({ length: 4500 }, (_, i) => `line ${i} ${'é'.repeat(40)} 🙂`).join('\n') + '\n';
    fs.mkdirSync(path.join(dir, 'notes', '_global'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'notes', '_global', 'big.md'), text);
    brain = await startBrain(env);
    const c = brain.client;
    const uri = 'brain://notes/global/big.md';
    const first = (await c.readResource({ uri })).contents[0] as { uri: string; text: string; _meta: Record<string, { page: number; pages: number; total_chars: number; next?: string }> };
    const meta = first._meta['brain/page'];
    expect(meta).toMatchObject({ page: 1, total_chars: text.length, next: `${uri}?page=2` });
    expect(meta.pages).toBe(Math.ceil(text.length / 20_000));
    expect(first.text).toMatch(/\n\n\[brain: page 1 of \d+, \d+ characters in all; the next page is brain:\/\/notes\/global\/big\.md\?page=2\]$/);
    expect(first.text.length).toBeLessThan(20_200);
    // Page by page, the slices put back together are the file (no emoji cut in half).
    let whole = '';
    for (let page = 1; page <= meta.pages; page++) {
      const got = (await c.readResource({ uri: `${uri}?page=${page}` })).contents[0] as { text: string; uri: string };
      expect(got.uri).toBe(`${uri}?page=${page}`);
      whole += page < meta.pages ? got.text.replace(/\n\n\[brain: page \d+ of \d+, .*\]$/, '') : got.text;
    }
    expect(whole).toBe(text);
    const past = await rpcError(c.readResource({ uri: `${uri}?page=${meta.pages + 1}` }));
    expect(past).toMatchObject({ code: -32602, message: expect.stringMatching(/has \d+ pages; page \d+ is past its end/) });
    // Short resources are whole, with no page marks.
    await call(c, 'note', { action: 'write', title: 'Short', content: 'tiny' });
    const short = (await c.readResource({ uri: 'brain://notes/global/Short.md' })).contents[0] as { text: string; _meta?: unknown };
    expect(short._meta).toBeUndefined();
    expect(short.text).toMatch(/tiny\n?$/);
  }, 60_000);

  it('execution output pages by byte offset, at most one resource page each', async () => {
    brain = await startBrain(env);
    const c = brain.client;
    const run = await call<{ execution_id: number; status: string }>(c, 'execute', { code: "print('x' * 262144)" });
    expect(run.status).toBe('succeeded');
    const out = (await c.readResource({ uri: `brain://executions/${run.execution_id}/stdout` })).contents[0] as { text: string; _meta?: unknown };
    // 16 KB of output and the line saying where the rest is; small enough that core never pages it again.
    expect(out._meta).toBeUndefined();
    expect(out.text.slice(0, 16_384)).toBe('x'.repeat(16_384));
    expect(out.text.slice(16_384)).toBe(`\n\n[brain: bytes 0-16384 of 262145; the next page is brain://executions/${run.execution_id}/stdout?offset=16384]`);
    const last = (await c.readResource({ uri: `brain://executions/${run.execution_id}/stdout?offset=260000` })).contents[0] as { text: string };
    expect(last.text.length).toBe(2145);
    expect(last.text.endsWith('x\n')).toBe(true);
  }, 90_000);
});

describe('completion/complete', () => {
  it('completes project names, note paths (by path or title) and execution ids; refuses unknown references', async () => {
    brain = await startBrain(env);
    const c = brain.client;
    expect(c.getServerCapabilities()?.completions).toEqual({});
    await call(c, 'project', { action: 'save', name: 'demo', create: true, description: 'a demo' });
    await call(c, 'project', { action: 'save', name: 'website', create: true, description: 'the site' });
    await call(c, 'note', { action: 'write', project: 'demo', title: 'Meeting notes', path: 'minutes/2026-01.md', content: 'we met' });
    await call(c, 'note', { action: 'write', project: 'demo', title: 'Design', content: 'the plan' });
    const run = await call<{ execution_id: number }>(c, 'execute', { code: 'print(1)' });

    type Ref = { type: 'ref/prompt'; name: string } | { type: 'ref/resource'; uri: string };
    const complete = async (ref: Ref, name: string, value: string, context?: Record<string, string>) =>
      (await c.complete({ ref, argument: { name, value }, ...(context ? { context: { arguments: context } } : {}) })).completion;

    expect(await complete({ type: 'ref/prompt', name: 'init' }, 'project', 'de')).toEqual({ values: ['demo'], total: 1, hasMore: false });
    const all = (await complete({ type: 'ref/prompt', name: 'init' }, 'project', '')).values;
    expect(all[0]).toBe('global');
    expect(all.slice(1).sort()).toEqual(['demo', 'website']);
    expect((await complete({ type: 'ref/resource', uri: 'brain://projects/{name}' }, 'name', 'SITE')).values).toEqual(['website']);
    const notes = { type: 'ref/resource' as const, uri: 'brain://notes/{project}/{+path}' };
    expect((await complete(notes, 'project', 'gl')).values).toEqual(['global']);
    // "meet" is in the title, not the path: the completion is the path the URI needs.
    expect((await complete(notes, 'path', 'meet', { project: 'demo' })).values).toEqual(['minutes/2026-01.md']);
    expect((await complete(notes, 'path', 'des', { project: 'demo' })).values).toEqual(['Design.md']);
    expect((await complete(notes, 'path', 'des', { project: 'website' })).values).toEqual([]);
    const ids = await complete({ type: 'ref/resource', uri: 'brain://executions/{id}' }, 'id', String(run.execution_id));
    expect(ids.values).toEqual([String(run.execution_id)]);
    expect((await complete({ type: 'ref/resource', uri: 'brain://executions/{id}/{stream}{?offset}' }, 'stream', 'std')).values).toEqual(['stdout', 'stderr']);

    const unknownPrompt = await rpcError(complete({ type: 'ref/prompt', name: 'nope' }, 'x', ''));
    expect(unknownPrompt).toMatchObject({ code: -32602, message: 'MCP error -32602: Unknown prompt "nope"; prompts/list shows what brain offers.' });
    const unknownArg = await rpcError(complete({ type: 'ref/prompt', name: 'init' }, 'colour', ''));
    expect(unknownArg).toMatchObject({ code: -32602, message: 'MCP error -32602: The prompt init has no argument "colour" (it has: project).' });
    const unknownTemplate = await rpcError(complete({ type: 'ref/resource', uri: 'brain://nothing/{x}' }, 'x', ''));
    expect(unknownTemplate.code).toBe(-32602);
  }, 90_000);
});

describe('log messages (notifications/message)', () => {
  function collect(conn: Connected): LoggingMessageNotification['params'][] {
    const got: LoggingMessageNotification['params'][] = [];
    conn.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void got.push(n.params));
    return got;
  }

  it('a note that fails to parse and maintenance announced reach the session, at the level it set', async () => {
    brain = await startBrain(env);
    const got = collect(brain);
    const c = brain.client;
    await call(c, 'note', { action: 'list' });
    fs.mkdirSync(path.join(dir, 'notes', '_global'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'notes', '_global', 'broken.md'), '---\ntitle: [unclosed\n---\nbody\n');
    await call(c, 'note', { action: 'list' });
    // The warning is sent while the call that found the file runs, so it is here before the result.
    expect(got).toEqual([
      {
        level: 'warning',
        logger: 'brain',
        data: { message: expect.stringMatching(/^The note global\/broken\.md was indexed with problems: front matter is not valid YAML/), project: 'global', path: 'broken.md' },
      },
    ]);

    const maint = (mode: string) => spawnSync(process.execPath, [CLI, 'maintenance', mode, 'moving the disk'], { env, encoding: 'utf8' });
    expect(maint('on').status).toBe(0);
    await waitFor('the maintenance warning', () => got.length === 2, 15_000);
    expect(got[1]).toMatchObject({ level: 'warning', data: { message: expect.stringMatching(/^brain is in maintenance mode \(moving the disk\): new sessions are refused/), maintenance: true } });
    expect(maint('off').status).toBe(0);
    await waitFor('the end of maintenance', () => got.length === 3, 15_000);
    expect(got[2]).toMatchObject({ level: 'notice', data: { message: 'brain maintenance mode has ended; new sessions are accepted again.' } });

    // At level "error", warnings are no longer sent.
    await c.setLoggingLevel('error');
    fs.writeFileSync(path.join(dir, 'notes', '_global', 'broken2.md'), '---\ntags: [a\n---\n');
    await call(c, 'note', { action: 'list' });
    expect(got).toHaveLength(3);
    await c.setLoggingLevel('warning');
    fs.writeFileSync(path.join(dir, 'notes', '_global', 'broken3.md'), '---\ntags: [a\n---\n');
    await call(c, 'note', { action: 'list' });
    expect(got).toHaveLength(4);
  }, 60_000);

  it('a sandbox that cannot run is announced to every session that opens', async () => {
    env = brainEnv(dir, { BRAIN_FIREJAIL_PATH: path.join(dir, 'no-firejail') });
    brain = await startBrain(env);
    const got = collect(brain);
    await waitFor('the sandbox warning', () => got.some((m) => /code execution is (unavailable|disabled)/.test(JSON.stringify(m.data))), 30_000);
    const first = got.find((m) => /code execution/.test(JSON.stringify(m.data)))!;
    expect(['warning', 'error']).toContain(first.level);
    expect(JSON.stringify(first.data)).toMatch(/firejail/);
  }, 60_000);
});
