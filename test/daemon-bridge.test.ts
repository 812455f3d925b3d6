// The bridge a plain `brain` becomes beside a running `brain serve` (src/daemon/bridge.ts), against
// a stand-in daemon on a real Unix socket: what it replays after a restart, what it keeps from the
// client, and how it ends when no daemon comes back. test/daemon-auto.test.ts runs the real thing.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { runBridge } from '../src/daemon/bridge.js';
import { tempDir } from './helpers/brain.js';

type Message = { id?: string | number; method?: string; params?: unknown; result?: unknown; error?: { message: string } };

/** A daemon stand-in: answers every request at once, except "slow" ones, and records what it got. */
function standIn(socketPath: string) {
  const got: Message[] = [];
  const conns = new Set<net.Socket>();
  const server = net.createServer((c) => {
    conns.add(c);
    let buf = '';
    c.on('data', (d) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
        const msg = JSON.parse(buf.slice(0, nl)) as Message;
        buf = buf.slice(nl + 1);
        got.push(msg);
        if (msg.id !== undefined && msg.method && msg.method !== 'slow') c.write(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: { echo: msg.method } }) + '\n');
      }
    });
    c.on('close', () => conns.delete(c));
  });
  const listening = new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    got,
    listening,
    /** Stops as a daemon does: closes every connection and the socket. */
    stop: () =>
      new Promise<void>((resolve) => {
        for (const c of conns) c.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The client side: what it writes to the bridge's stdin, and the messages the bridge wrote to its stdout. */
function clientSide() {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const out: Message[] = [];
  let buf = '';
  stdout.on('data', (d) => {
    buf += d.toString();
    for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
      out.push(JSON.parse(buf.slice(0, nl)) as Message);
      buf = buf.slice(nl + 1);
    }
  });
  const send = (msg: Message) => stdin.write(JSON.stringify({ jsonrpc: '2.0', ...msg }) + '\n');
  return { stdin, stdout, out, send };
}

async function until(what: string, done: () => boolean, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let dir: string;
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/**
 * A stand-in daemon on a fresh socket and a bridge to it, whose findDaemon finds that socket while
 * `findable(true)` (so far); the client side, and what the bridge logged.
 */
async function bridged() {
  dir = tempDir('brain-bridge-');
  const socketPath = path.join(dir, 'brain.sock');
  const daemon = standIn(socketPath);
  await daemon.listening;
  let up = true;
  const c = clientSide();
  const logs: string[] = [];
  const ended = runBridge(socketPath, c.stdin, c.stdout, { findDaemon: async () => (up ? socketPath : undefined), retryEveryMs: 20, log: (m) => logs.push(m) }, 69);
  return { socketPath, daemon, c, logs, ended, findable: (yes: boolean) => void (up = yes) };
}

describe('the bridge to brain serve', () => {
  it('after a restart: answers what was in flight with an error, replays the session under its own ids, then sends what it held', async () => {
    const { socketPath, c, logs, ended, findable, ...first } = await bridged();
    let daemon = first.daemon;

    c.send({ id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18' } });
    c.send({ method: 'notifications/initialized' });
    c.send({ id: 2, method: 'tools/call', params: { name: 'init', arguments: { project: 'apollo', session_id: 's-old' } } });
    c.send({ id: 3, method: 'tools/call', params: { name: 'project', arguments: { action: 'use', name: 'mercury' } } });
    c.send({ id: 4, method: 'tools/call', params: { name: 'project', arguments: { action: 'use', name: 'gemini' } } });
    c.send({ id: 'five', method: 'slow' });
    c.send({ id: 7, method: 'slow' });
    // The client gave up on 7: it is never answered, and no longer pending.
    c.send({ method: 'notifications/cancelled', params: { requestId: 7 } });
    await until('four answers', () => c.out.length === 4);
    expect(c.out.map((m) => m.id)).toEqual([1, 2, 3, 4]);

    findable(false);
    await daemon.stop();
    await until('the error for the slow request', () => c.out.length === 5);
    expect(c.out[4]).toMatchObject({ id: 'five', error: { message: expect.stringMatching(/brain serve restarted before answering/) } });
    // Sent while no daemon is there: held, and sent once, after the replay.
    c.send({ id: 8, method: 'tools/call', params: { name: 'project', arguments: { action: 'use', name: 'apollo' } } });

    daemon = standIn(socketPath);
    await daemon.listening;
    findable(true);
    await until('the held request to be answered', () => c.out.length === 6);
    expect(c.out[5]).toMatchObject({ id: 8, result: { echo: 'tools/call' } });
    // The new daemon saw the handshake, the last init (without the session it resumed, which ended
    // with the old daemon) and the last project use after it, under the bridge's ids; then the held call.
    expect(daemon.got.map((m) => [m.id ?? null, m.method])).toEqual([
      ['brain-bridge-replay-1', 'initialize'],
      [null, 'notifications/initialized'],
      ['brain-bridge-replay-2', 'tools/call'],
      ['brain-bridge-replay-3', 'tools/call'],
      [8, 'tools/call'],
    ]);
    expect(daemon.got[2].params).toEqual({ name: 'init', arguments: { project: 'apollo' } });
    expect(daemon.got[3].params).toEqual({ name: 'project', arguments: { action: 'use', name: 'gemini' } });
    expect(logs).toEqual(['brain serve went away; waiting for it to come back', 'bridged to brain serve again']);
    await new Promise((r) => setTimeout(r, 50));
    expect(c.out).toHaveLength(6);

    c.stdin.end();
    expect(await ended).toBe(0);
    await daemon.stop();
  });

  it('a client that closes its stdin while the daemon is away still gets the answers to what it sent', async () => {
    const { socketPath, c, logs, ended, findable, ...first } = await bridged();
    let daemon = first.daemon;
    c.send({ id: 1, method: 'initialize' });
    await until('the answer', () => c.out.length === 1);
    findable(false);
    await daemon.stop();
    await until('the bridge to notice', () => logs.length === 1);
    c.send({ id: 2, method: 'tools/call', params: { name: 'recall', arguments: { query: 'x' } } });
    c.stdin.end();
    daemon = standIn(socketPath);
    await daemon.listening;
    findable(true);
    expect(await ended).toBe(0);
    expect(c.out[1]).toMatchObject({ id: 2, result: { echo: 'tools/call' } });
    await daemon.stop();
  });

  it('ends, answering what it held with an error, when no daemon comes back in time; and says it could not connect at all', async () => {
    const alone = await bridgedTo(undefined, 300);
    expect(await pingAfterTheDaemonLeft(alone)).toMatchObject({ id: 2, error: { message: expect.stringMatching(/did not come back; restart this MCP server/) } });
    expect(alone.logs[1]).toMatch(/did not come back within 0 s; stopping/);

    // No daemon at all: the caller's code, and nothing read from stdin.
    const other = clientSide();
    expect(await runBridge(path.join(dir, 'none.sock'), other.stdin, other.stdout, { findDaemon: async () => undefined }, 69)).toBe(69);
    expect(other.stdin.listenerCount('data')).toBe(0);
  });

  it('carries the session on embedded when no daemon comes back, or answers with the reason it could not', async () => {
    const first = await bridgedTo(embeddedStandIn());
    const { c, logs, server } = first;
    c.send({ id: 1, method: 'initialize' });
    c.send({ id: 2, method: 'tools/call', params: { name: 'init', arguments: { project: 'apollo', session_id: 's-old' } } });
    await until('the answers', () => c.out.length === 2);
    await first.daemon.stop();
    await until('the bridge to notice', () => logs.length === 1);
    c.send({ id: 3, method: 'tools/call', params: { name: 'remember', arguments: { content: 'x' } } });
    await until('the held call answered embedded', () => c.out.length === 3);
    expect(c.out[2]).toMatchObject({ id: 3, result: { embedded: 'tools/call' } });
    expect(server.got.map((m) => m.id)).toEqual(['brain-bridge-replay-1', 'brain-bridge-replay-2', 3]);
    expect(server.got[1].params).toEqual({ name: 'init', arguments: { project: 'apollo' } });
    expect(logs).toEqual(['brain serve went away; waiting for it to come back', 'brain serve did not come back within 1 s; running embedded (this process opens the database itself)']);
    // From now on the client talks to the embedded server.
    c.send({ id: 4, method: 'ping' });
    await until('the next answer', () => c.out.length === 4);
    expect(c.out[3]).toMatchObject({ id: 4, result: { embedded: 'ping' } });
    // The embedded server closes with its input: it is told the client is done only once it has
    // answered what is in flight.
    c.send({ id: 5, method: 'ping' });
    c.stdin.end();
    await until('the embedded server to see the end', () => server.inputEnded());
    expect(c.out[4]).toMatchObject({ id: 5, result: { embedded: 'ping' } });
    server.close();
    expect(await first.ended).toBe(0);

    // Running embedded fails (a database this user may not open): the held call gets the reason.
    const refused = async (): Promise<Duplex> => {
      throw new Error('EACCES: permission denied, open /var/lib/brain/brain.db');
    };
    const second = await bridgedTo(refused);
    expect(await pingAfterTheDaemonLeft(second)).toMatchObject({ id: 2, error: { message: 'brain serve stopped and did not come back, and running embedded failed: EACCES: permission denied, open /var/lib/brain/brain.db.' } });
    expect(second.logs.at(-1)).toBe('brain serve did not come back within 1 s, and running embedded failed (EACCES: permission denied, open /var/lib/brain/brain.db); stopping');
  });

  it('a client that closed stdin while the daemon was away gets its answer from the embedded server; maintenance mode refuses it with the reason', async () => {
    const first = await bridgedTo(embeddedStandIn());
    first.c.send({ id: 1, method: 'initialize' });
    await until('the answer', () => first.c.out.length === 1);
    await first.daemon.stop();
    await until('the bridge to notice', () => first.logs.length === 1);
    first.c.send({ id: 2, method: 'tools/call', params: { name: 'recall', arguments: { query: 'x' } } });
    first.c.stdin.end();
    await until('the embedded server to see the end', () => first.server.inputEnded());
    expect(first.c.out[1]).toMatchObject({ id: 2, result: { embedded: 'tools/call' } });
    first.server.close();
    expect(await first.ended).toBe(0);

    // Maintenance mode (a restore may be under way): the embedded server refuses the session, and
    // the held call gets its reason instead of the database being held open.
    const reason = 'brain is in maintenance mode: restoring a backup. Try again later.';
    const second = await bridgedTo(embeddedStandIn(reason));
    expect(await pingAfterTheDaemonLeft(second)).toMatchObject({ id: 2, error: { message: `brain serve stopped and did not come back, and running embedded failed: ${reason}.` } });
    expect(second.server.destroyed()).toBe(true);
  });
});

/**
 * The embedded server's stand-in: answers every request a moment later, as a server busy with
 * it, and closes with its input (answers due after that are dropped, as LineTransport drops
 * them); with `refuse`, answers `initialize` with that error, as maintenance mode does.
 */
function embeddedStandIn(refuse?: string) {
  const got: Message[] = [];
  const toServer = new PassThrough();
  const fromServer = new PassThrough();
  let ended = false;
  let buf = '';
  toServer.on('end', () => (ended = true));
  toServer.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
      const msg = JSON.parse(buf.slice(0, nl)) as Message;
      buf = buf.slice(nl + 1);
      got.push(msg);
      if (msg.id === undefined) continue;
      const answer = refuse && msg.method === 'initialize' ? { error: { code: -32010, message: refuse } } : { result: { embedded: msg.method } };
      setTimeout(() => {
        if (!ended && !fromServer.destroyed) fromServer.write(JSON.stringify({ jsonrpc: '2.0', id: msg.id, ...answer }) + '\n');
      }, 20);
    }
  });
  const duplex = Duplex.from({ readable: fromServer, writable: toServer });
  return {
    got,
    fallback: async () => duplex,
    inputEnded: () => ended,
    destroyed: () => duplex.destroyed,
    close: () => fromServer.end(),
  };
}

/** Initializes, stops the daemon, sends a ping once the bridge noticed; the ping's answer once the bridge ended (with 0). */
async function pingAfterTheDaemonLeft(b: Awaited<ReturnType<typeof bridgedTo>>): Promise<Message> {
  b.c.send({ id: 1, method: 'initialize' });
  await until('the answer', () => b.c.out.length === 1);
  await b.daemon.stop();
  await until('the bridge to notice', () => b.logs.length === 1);
  b.c.send({ id: 2, method: 'ping' });
  expect(await b.ended).toBe(0);
  return b.c.out[1];
}

/** A stand-in daemon and a bridge to it that finds no daemon once it is gone and then falls back to `server` (if any). */
async function bridgedTo<S extends { fallback: () => Promise<Duplex> }>(server: S | (() => Promise<Duplex>) | undefined, resumeWaitMs = 500) {
  dir = tempDir('brain-bridge-');
  const socketPath = path.join(dir, 'brain.sock');
  const daemon = standIn(socketPath);
  await daemon.listening;
  const c = clientSide();
  const logs: string[] = [];
  const fallback = typeof server === 'function' ? server : server?.fallback;
  const ended = runBridge(socketPath, c.stdin, c.stdout, { findDaemon: async () => undefined, resumeWaitMs, retryEveryMs: 20, log: (m) => logs.push(m), fallback }, 69);
  return { daemon, c, logs, ended, server: server as S };
}
