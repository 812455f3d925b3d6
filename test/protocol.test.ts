// The protocol pieces of src/core on their own: the id scanner for over-long lines, the JSON-RPC
// message check, zod issues as sentences, the bounded event store for resumable streams, the
// notice board, resource pages and completion matching, and the HTTP token list.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createEventStores } from '../src/core/event-store.js';
import { describeIssues, REPORT_INPUT } from '../src/core/input-errors.js';
import { checkMessage, checkText } from '../src/core/jsonrpc.js';
import { createNoticeBoard, NOTICES_PER_MINUTE, type Notice } from '../src/core/notices.js';
import { RequestIdScanner } from '../src/core/request-id-scanner.js';
import { completeFrom, pageOf, RESOURCE_PAGE_CHARS } from '../src/core/server.js';
import { readTokens } from '../src/daemon/tokens.js';
import { tempDir } from './helpers/brain.js';

function scan(text: string, chunk = 7): RequestIdScanner {
  const s = new RequestIdScanner();
  const buf = Buffer.from(text);
  for (let i = 0; i < buf.length; i += chunk) s.push(buf, i, Math.min(buf.length, i + chunk));
  return s;
}

describe('RequestIdScanner', () => {
  it('finds the top-level id wherever it is, across chunk boundaries', () => {
    expect(scan('{"jsonrpc":"2.0","id":42,"method":"x","params":{}}').id()).toBe(42);
    expect(scan('{"method":"tools/call","params":{"id":1,"arguments":{"id":"inner"}},"jsonrpc":"2.0","id":"outer-7"}').id()).toBe('outer-7');
    expect(scan('\uFEFF  {"params":{"text":"a \\"quoted\\" } brace, \\"id\\":9"},"id" : 3 }', 1).id()).toBe(3);
    expect(scan('{"method":"m","params":{"x":[1,{"id":5}]}}').hasMethod()).toBe(true);
    expect(scan('{"method":"m","params":{"x":[1,{"id":5}]}}').id()).toBeUndefined();
  });

  it('gives no id for what is not an object with a plain id, and never a nested one', () => {
    expect(scan('[{"id":1}]').id()).toBeUndefined();
    expect(scan('{"id":{"a":1}}').id()).toBeUndefined();
    expect(scan('{"id":null,"method":"m"}').id()).toBeUndefined();
    expect(scan('{"result":{},"id":8}').hasMethod()).toBe(false);
    // A text cut off before the id ends has no id to answer.
    expect(scan('{"method":"m","id":"abc').id()).toBeUndefined();
    expect(scan('{"method":"m","id":12').id()).toBe(12);
  });
});

describe('checkMessage / checkText', () => {
  it('passes valid requests, notifications and responses, dropping members JSON-RPC does not define', () => {
    expect(checkText('{"jsonrpc":"2.0","id":1,"method":"ping","extra":true}').message).toEqual({ jsonrpc: '2.0', id: 1, method: 'ping' });
    expect(checkMessage({ jsonrpc: '2.0', method: 'notifications/initialized' }).message).toEqual({ jsonrpc: '2.0', method: 'notifications/initialized' });
    expect(checkMessage({ jsonrpc: '2.0', id: 'a', result: {} }).message).toEqual({ jsonrpc: '2.0', id: 'a', result: {} });
    expect(checkText('\uFEFF{"jsonrpc":"2.0","id":2,"method":"ping"}').message).toMatchObject({ id: 2 });
  });

  it('answers bad requests with the code JSON-RPC names and the id when it can be read', () => {
    expect(checkText('{"jsonrpc":"2.0",').reply).toMatchObject({ id: null, error: { code: -32700 } });
    expect(checkMessage('hello').reply).toMatchObject({ id: null, error: { code: -32600, message: 'A JSON-RPC message is an object with "jsonrpc": "2.0"; got "hello".' } });
    expect(checkMessage({ jsonrpc: '2.0', id: 1.5, method: 'ping' }).message).toBeUndefined();
    expect(checkMessage({ jsonrpc: '2.0', id: 3, method: 'x', params: [1] }).reply).toMatchObject({ id: 3, error: { code: -32602 } });
    expect(checkMessage({ jsonrpc: '2.0', id: 4 }).reply).toMatchObject({ id: 4, error: { code: -32600, message: 'A JSON-RPC request needs a "method"; a response needs "result" or "error".' } });
    expect(checkMessage({ jsonrpc: '2.0', id: 5, method: 'ping', params: { _meta: 'x' } }).reply).toMatchObject({ id: 5, error: { code: -32602 } });
    expect(checkMessage({ jsonrpc: '2.0', id: 6, method: 'initialize', params: {} }).reply).toMatchObject({
      id: 6,
      error: { code: -32602, message: expect.stringMatching(/^Invalid initialize request: "params\.protocolVersion" is required; /) },
    });
    // Methods brain does not know pass: the server answers them with "method not found".
    expect(checkMessage({ jsonrpc: '2.0', id: 7, method: 'no/such', params: { a: 1 } }).message).toBeDefined();
  });

  it('never answers a notification or a response, only reports it', () => {
    const bad = checkMessage({ jsonrpc: '1.0', method: 'notifications/initialized' });
    expect(bad.reply).toBeUndefined();
    expect(bad.problem).toMatch(/"jsonrpc" must be "2.0"/);
    expect(checkMessage({ jsonrpc: '2.0', id: 1, result: 5 }).reply).toBeUndefined();
  });

  it('refuses parameters nested deeper than 64 levels without walking them recursively', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const r = checkMessage({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'x', arguments: { v: deep } } });
    expect(r.reply).toMatchObject({ id: 9, error: { code: -32602, message: 'params.arguments.v.0.0 nests more than 64 levels deep; brain accepts at most 64: flatten the data.' } });
    let ok: unknown = 1;
    for (let i = 0; i < 60; i++) ok = { k: ok };
    expect(checkMessage({ jsonrpc: '2.0', id: 10, method: 'tools/call', params: { name: 'x', arguments: { v: ok } } }).message).toBeDefined();
  });
});

describe('describeIssues', () => {
  const schema = z.strictObject({
    limit: z.number().int().min(1).max(100).optional(),
    name: z.string(),
    kind: z.enum(['a', 'b']).optional(),
    either: z.union([z.string(), z.array(z.string())]).optional(),
    text: z.string().min(1, 'text cannot be empty').optional(),
  });
  const say = (input: unknown) => describeIssues(schema.safeParse(input, REPORT_INPUT).error!);

  it('tells a wrong type from a missing field and shows what was given', () => {
    expect(say({ name: 'x', limit: 1.5 })).toBe('"limit" must be a whole number (got 1.5)');
    expect(say({ name: 5 })).toBe('"name" must be text (a string) (got 5)');
    expect(say({})).toBe('"name" is required');
    expect(say({ name: null })).toBe('"name" must be text (a string) (got null)');
    expect(say({ name: 'x', kind: 'c' })).toBe('"kind" must be one of "a", "b" (got "c")');
    expect(say({ name: 'x', either: 5 })).toBe('"either" must be text (a string) or a list (got 5)');
    expect(say({ name: 'x', limit: 1000 })).toBe('"limit": Too big: expected number to be <=100 (got 1000)');
    // A message written for the field is kept as it is.
    expect(say({ name: 'x', text: '' })).toBe('"text": text cannot be empty');
    expect(say({ name: 'x', extra: 1, more: 2 })).toBe('unknown fields "extra", "more"; remove them');
  });

  it('still knows a missing field when the input was not reported', () => {
    expect(describeIssues(schema.safeParse({}).error!)).toBe('"name" is required');
  });

  it('shows a long or unrenderable value short', () => {
    expect(say({ name: 'x'.repeat(500).split('') })).toMatch(/^"name" must be text \(a string\) \(got \["x","x",.{30,}\.\.\.\)$/);
  });
});

describe('event store for resumable streams', () => {
  const msg = (n: number) => ({ jsonrpc: '2.0' as const, method: 'notifications/progress', params: { progressToken: 1, progress: n, pad: 'x'.repeat(100) } });

  it('replays what came after an event, on its stream, to its session only', async () => {
    const stores = createEventStores({ maxBytes: 1e6, maxAgeMs: 60_000 });
    const a = stores.forSession();
    const b = stores.forSession();
    const prime = await a.storeEvent('s1', {} as never);
    await a.storeEvent('s1', msg(1));
    await a.storeEvent('s2', msg(99));
    await b.storeEvent('s1', msg(50));
    await a.storeEvent('s1', msg(2));
    const sent: number[] = [];
    const stream = await a.replayEventsAfter(prime, { send: async (_id, m) => void sent.push((m as ReturnType<typeof msg>).params.progress) });
    expect(stream).toBe('s1');
    expect(sent).toEqual([1, 2]);
    expect(await a.getStreamIdForEventId!(prime)).toBe('s1');
    expect(await b.getStreamIdForEventId!(prime)).toBeUndefined();
    await expect(b.replayEventsAfter(prime, { send: async () => {} })).rejects.toThrow(/unknown or expired/);
    a.drop();
    expect(await a.getStreamIdForEventId!(prime)).toBeUndefined();
    expect(stores.size().events).toBe(1);
  });

  it('forgets the oldest events past its byte budget, and any past its age', async () => {
    let now = 0;
    const stores = createEventStores({ maxBytes: 1000, maxAgeMs: 5000 }, () => now);
    const s = stores.forSession();
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push(await s.storeEvent('x', msg(i)));
    expect(stores.size().bytes).toBeLessThanOrEqual(1000);
    expect(await s.getStreamIdForEventId!(ids[0])).toBeUndefined();
    expect(await s.getStreamIdForEventId!(ids[19])).toBe('x');
    now = 6000;
    expect(await s.getStreamIdForEventId!(ids[19])).toBeUndefined();
    expect(stores.size()).toEqual({ events: 0, bytes: 0 });
  });
});

describe('notice board', () => {
  it('sends to every subscriber, keeps standing notices for new ones, and caps one-off notices per minute', () => {
    let now = 0;
    const board = createNoticeBoard(() => now);
    const a: Notice[] = [];
    const stopA = board.subscribe((n) => void a.push(n));
    board.standing('sandbox', { level: 'warning', message: 'no sandbox' });
    board.publish('warning', 'one');
    const b: Notice[] = [];
    board.subscribe((n) => void b.push(n));
    expect(a.map((n) => n.message)).toEqual(['no sandbox', 'one']);
    expect(b.map((n) => n.message)).toEqual(['no sandbox']);
    board.standing('sandbox', undefined);
    const c: Notice[] = [];
    board.subscribe((n) => void c.push(n));
    expect(c).toEqual([]);
    stopA();
    for (let i = 0; i < NOTICES_PER_MINUTE + 10; i++) board.publish('warning', `n${i}`);
    // One was sent already this minute: NOTICES_PER_MINUTE - 1 more, then the one line about the rest.
    expect(b).toHaveLength(1 + NOTICES_PER_MINUTE - 1 + 1);
    expect(b.at(-1)!.message).toMatch(/more warnings than it sends in a minute \(20\); the rest are in its log and events/);
    now = 60_000;
    board.publish('error', 'next minute');
    expect(b.at(-1)!.message).toBe('next minute');
    expect(a).toHaveLength(2);
  });
});

describe('resource pages and completions', () => {
  it('pages text on boundaries that keep surrogate pairs whole', () => {
    const text = 'a'.repeat(RESOURCE_PAGE_CHARS - 1) + '🙂' + 'b'.repeat(10);
    const one = pageOf({ uri: 'u', mimeType: 'text/plain', text }, 'u', 'u', 1);
    expect(one.text.startsWith('a'.repeat(RESOURCE_PAGE_CHARS - 1) + '\n\n[brain: page 1 of 2')).toBe(true);
    const two = pageOf({ uri: 'u', mimeType: 'text/plain', text }, 'u?page=2', 'u', 2);
    expect(two.text).toBe('🙂' + 'b'.repeat(10));
    expect(two._meta).toEqual({ 'brain/page': { page: 2, pages: 2, total_chars: text.length } });
    expect(() => pageOf({ uri: 'u', mimeType: 'text/plain', text }, 'u', 'u', 3)).toThrow(/u has 2 pages; page 3 is past its end/);
    expect(pageOf({ uri: 'u', mimeType: 'text/plain', text: 'short' }, 'u', 'u', 1)).toEqual({ uri: 'u', mimeType: 'text/plain', text: 'short' });
  });

  it('completes by prefix first, then by substring, ignoring case and repeats', () => {
    expect(completeFrom(['website', 'demo', 'Web-app', 'cobweb', 'demo'], 'WEB')).toEqual(['website', 'Web-app', 'cobweb']);
    expect(completeFrom(['b', 'a'], '')).toEqual(['b', 'a']);
  });
});

describe('HTTP tokens', () => {
  it('reads BRAIN_HTTP_TOKEN and one token per line of the file, skipping blanks and comments', () => {
    const dir = tempDir('brain-tokens-');
    const file = path.join(dir, 'tokens');
    fs.writeFileSync(file, '# laptop\nfirst-token-0123456789abc\n\n  second-token-0123456789abc  \n');
    expect(readTokens({ httpToken: 'env-token-0123456789abcdef', httpTokenFile: file })).toEqual(['env-token-0123456789abcdef', 'first-token-0123456789abc', 'second-token-0123456789abc']);
    fs.writeFileSync(file, 'long-enough-token-0123456789\nshort\n');
    expect(() => readTokens({ httpToken: undefined, httpTokenFile: file })).toThrow(/token 2 holds fewer than 16 characters/);
    fs.writeFileSync(file, '# nothing\n');
    expect(() => readTokens({ httpToken: undefined, httpTokenFile: file })).toThrow(/holds no token/);
    expect(readTokens({ httpToken: undefined, httpTokenFile: undefined })).toEqual([]);
  });
});
