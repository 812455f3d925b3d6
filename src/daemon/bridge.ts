// The bridge a plain `brain` becomes when a running `brain serve` serves its database
// (fast-bridge.ts). Unlike `brain connect`, it outlives a restart of that daemon (an upgrade, a
// `systemctl restart`): the client keeps its server process and never sees the daemon go away.
//
// Both directions are newline-delimited JSON-RPC, so the bridge works line by line. It remembers
// what makes the session what it is: the client's `initialize` and `notifications/initialized`,
// and the last `init` tool call with the last `project use` after it (which set the session's
// active project; without them a `remember` after the restart would land in another project).
// When the socket closes under it, the bridge
// - answers every request the old daemon had not answered with an error that says so (the client
//   would otherwise wait for an answer that never comes),
// - holds what the client sends meanwhile, and looks for a daemon serving the same database with
//   the same tools again (chooseDaemon), for up to RESUME_WAIT_MS (BRAIN_BRIDGE_WAIT_SEC),
// - replays the handshake and those calls to the new daemon, under ids of its own whose answers
//   it keeps to itself, then sends what it held and goes on.
// When no daemon comes back in time (the service was stopped, or came back serving other tools),
// it carries on embedded when it can (`fallback`: the session is replayed to a server in this
// process, which opens the database itself, as a `brain` started without a daemon does); when it
// cannot, it answers what it held with an error and ends, as a server that stopped.
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { RequestIdScanner } from '../core/request-id-scanner.js';

/** How long a bridge waits for its daemon to come back (a restart takes 1-3 s). */
export const RESUME_WAIT_MS = 20_000;
const RETRY_EVERY_MS = 250;
/** Lines longer than this are not parsed for their method (a remember of a long text, an execute with files). */
const PARSE_MAX_BYTES = 256 * 1024;
/** How long a replayed handshake or session call may take on the new daemon. */
const REPLAY_ANSWER_MS = 10_000;
/** What a bridge holds for the daemon while it is away; calls past it are refused at once. */
const HELD_MAX_BYTES = 64 * 1024 * 1024;
const NEWLINE = Buffer.from('\n');

type Id = string | number;
/** How replaying a line went: answered, lost (the connection closed or no answer came), or the session refused. */
type Replayed = boolean | { refused: string };

export interface BridgeOptions {
  /** The socket to bridge to again after a restart, once a daemon serving the same database and tools answers there. */
  findDaemon(): Promise<string | undefined>;
  resumeWaitMs?: number;
  retryEveryMs?: number;
  /** Told once each time the daemon went away and when the bridge resumed or gave up (stderr). */
  log?: (message: string) => void;
  /**
   * When no daemon came back in time: a server in this process to carry the session on, as a pair
   * of streams that speak newline-delimited JSON-RPC (it is then where the session goes until the
   * client ends), or a rejection saying why there is none.
   */
  fallback?: () => Promise<Duplex>;
}

/** Splits a byte stream into lines, without their newline. */
class LineSplitter {
  private parts: Buffer[] = [];

  push(chunk: Buffer, onLine: (line: Buffer) => void): void {
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
      const piece = chunk.subarray(start, nl);
      const line = this.parts.length ? Buffer.concat([...this.parts, piece]) : piece;
      this.parts = [];
      if (line.length) onLine(line);
      start = nl + 1;
    }
    if (start < chunk.length) this.parts.push(chunk.subarray(start));
  }
}

/** What a line says about itself: the id, and whether it is a request or notification (has a method). */
function scan(line: Buffer): { id: Id | undefined; hasMethod: boolean } {
  const s = new RequestIdScanner();
  s.push(line);
  return { id: s.id(), hasMethod: s.hasMethod() };
}

const keyOf = (id: Id) => `${typeof id}:${id}`;

/** The parsed message when it is small enough to parse and a JSON object; undefined otherwise. */
function parsed(line: Buffer): Record<string, unknown> | undefined {
  if (line.length > PARSE_MAX_BYTES) return undefined;
  try {
    const v: unknown = JSON.parse(line.toString('utf8'));
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a client message shapes the session (see above): `init`, or `project` with action use. */
function sessionCall(msg: Record<string, unknown>): 'init' | 'use' | undefined {
  if (msg.method !== 'tools/call') return undefined;
  const params = msg.params as { name?: unknown; arguments?: { action?: unknown } } | undefined;
  if (params?.name === 'init') return 'init';
  if (params?.name === 'project' && params.arguments?.action === 'use') return 'use';
  return undefined;
}

/**
 * Bridges `stdin`/`stdout` to the daemon on `socketPath` until the client ends. Resolves to 0 when
 * the client ended or the daemon did not come back, or to `unreachable` when the first connection
 * failed (nothing was read from stdin then: the caller can serve embedded instead).
 */
export function runBridge(
  socketPath: string,
  stdin: NodeJS.ReadableStream,
  stdout: NodeJS.WritableStream,
  opts: BridgeOptions,
  unreachable: number,
): Promise<number> {
  const resumeWaitMs = opts.resumeWaitMs ?? RESUME_WAIT_MS;
  const retryEveryMs = opts.retryEveryMs ?? RETRY_EVERY_MS;
  return new Promise((resolve) => {
    /** The daemon's connection, or the embedded server's streams after a fallback. */
    let sock: Duplex | undefined;
    let embedded = false;
    /** Set when the client ended while the embedded server still owed answers: end it after them. */
    let endWhenAnswered = false;
    /** True while the socket is connected and the session on it is set up: client lines go straight through. */
    let flowing = false;
    let clientEnded = false;
    let finished = false;
    /** True while resume() looks for the daemon and sets the session up again. */
    let resuming = false;
    let initialize: Buffer | undefined;
    let initialized: Buffer | undefined;
    let session: { init?: Buffer; use?: Buffer } = {};
    /** Requests sent to the daemon and not answered yet, by key. */
    const pending = new Map<string, Id>();
    /** Client lines that came while no daemon was there. */
    /** With the id of each request among them, to answer it if the daemon does not come back. */
    let held: { line: Buffer; id?: Id }[] = [];
    let heldBytes = 0;
    /** Answers to the bridge's own replayed requests: kept from the client, handed to whoever waits. */
    const replayAnswers = new Map<string, (answer: Buffer) => void>();
    let replayCount = 0;

    const finish = (code: number) => {
      if (finished) return;
      finished = true;
      sock?.destroy();
      resolve(code);
    };

    const errorLine = (id: Id, message: string) => Buffer.from(JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32603, message } }) + '\n');
    const withNewline = (line: Buffer) => Buffer.concat([line, NEWLINE]);
    const holdsRequests = () => held.some((h) => h.id !== undefined);

    function fromClient(line: Buffer) {
      // Parsed when small enough (the method matters then); a long line is only scanned for its id.
      const msg = parsed(line);
      const { id, hasMethod } = msg ? { id: msg.id as Id | undefined, hasMethod: msg.method !== undefined } : scan(line);
      const requestId = hasMethod && (typeof id === 'string' || typeof id === 'number') ? id : undefined;
      if (requestId !== undefined) pending.set(keyOf(requestId), requestId);
      if (msg?.method === 'initialize') initialize = line;
      else if (msg?.method === 'notifications/initialized') initialized = line;
      else if (msg?.method === 'notifications/cancelled') {
        // A cancelled request is never answered: it is not pending any more.
        const cancelled = (msg.params as { requestId?: unknown } | undefined)?.requestId;
        if (typeof cancelled === 'string' || typeof cancelled === 'number') pending.delete(keyOf(cancelled));
      } else if (msg) {
        // The last init, and the last project use after it: all that decides the active project.
        const kind = sessionCall(msg);
        if (kind === 'init') session = { init: line, use: undefined };
        else if (kind === 'use') session.use = line;
      }
      if (flowing) return void sock!.write(withNewline(line));
      if (heldBytes + line.length > HELD_MAX_BYTES) {
        if (requestId !== undefined) stdout.write(errorLine(requestId, 'brain serve is restarting and this bridge holds as much as it may; send it again in a few seconds.'));
        return;
      }
      held.push({ line, id: requestId });
      heldBytes += line.length;
    }

    function fromDaemon(line: Buffer) {
      const { id, hasMethod } = scan(line);
      if (!hasMethod && id !== undefined) {
        const key = keyOf(id);
        const waiter = replayAnswers.get(key);
        if (waiter) return waiter(line);
        pending.delete(key);
      }
      stdout.write(withNewline(line));
      if (endWhenAnswered && pending.size === 0) {
        endWhenAnswered = false;
        sock?.end();
      }
    }

    /**
     * Sends one of the session's lines again under an id of the bridge's own and waits for its
     * answer; false when the socket closed first or no answer came within REPLAY_ANSWER_MS (the
     * new daemon is not well: look again). A refused `initialize` (maintenance mode) ends the
     * replay with the refusal; a refused tool call is logged and the replay goes on.
     */
    function replay(s: Duplex, line: Buffer): Promise<Replayed> {
      const msg = parsed(line);
      if (!msg || msg.id === undefined) {
        s.write(withNewline(line));
        return Promise.resolve(true);
      }
      // The session an init resumed ended with the old daemon: the new one starts a session of its own.
      const params = msg.params as { name?: unknown; arguments?: Record<string, unknown> } | undefined;
      if (params?.name === 'init' && params.arguments && 'session_id' in params.arguments) {
        const { session_id: _ended, ...rest } = params.arguments;
        msg.params = { ...params, arguments: rest };
      }
      const id = `brain-bridge-replay-${++replayCount}`;
      const key = keyOf(id);
      return new Promise((done) => {
        const end = (outcome: Replayed) => {
          clearTimeout(timer);
          replayAnswers.delete(key);
          s.off('close', lost);
          done(outcome);
        };
        const lost = () => end(false);
        const timer = setTimeout(lost, REPLAY_ANSWER_MS);
        s.once('close', lost);
        replayAnswers.set(key, (answer) => {
          const reply = parsed(answer) as { error?: { message?: string }; result?: { isError?: boolean; content?: { text?: string }[] } } | undefined;
          const refused = reply?.error?.message ?? (reply?.result?.isError ? (reply.result.content?.[0]?.text ?? 'refused') : undefined);
          if (refused && msg.method === 'initialize') return end({ refused });
          if (refused) opts.log?.(`replaying ${String(msg.method)} ${params?.name ? String(params.name) + ' ' : ''}to the new server failed: ${refused}`);
          end(true);
        });
        s.write(JSON.stringify({ ...msg, id }) + '\n');
      });
    }

    /** Connects; resolves to the socket once connected, or undefined when the connection failed. */
    function connect(path: string): Promise<net.Socket | undefined> {
      return new Promise((done) => {
        const s = net.connect(path);
        s.once('connect', () => {
          s.removeAllListeners('error');
          done(s);
        });
        s.once('error', () => done(undefined));
      });
    }

    function attach(s: Duplex) {
      sock = s;
      const lines = new LineSplitter();
      s.on('data', (chunk: Buffer) => lines.push(chunk, fromDaemon));
      s.on('error', () => undefined);
      s.on('close', () => {
        if (sock !== s) return;
        flowing = false;
        sock = undefined;
        if (finished) return;
        if (embedded || (clientEnded && !holdsRequests())) return finish(0);
        if (!resuming) void resume();
      });
    }

    /**
     * Sets the session up again on `s` (a new daemon, or the embedded server): replays `replayed`,
     * then sends what was held and lets the client's lines through. False when `s` was lost or did
     * not answer a replayed call; the refusal when it refused the session.
     */
    async function carryOn(s: Duplex, replayed: Buffer[]): Promise<Replayed> {
      attach(s);
      let outcome: Replayed = true;
      for (const line of replayed) if (outcome === true && sock === s) outcome = await replay(s, line);
      if (outcome !== true) return outcome;
      if (sock !== s) return false;
      resuming = false;
      flowing = true;
      const waiting = held;
      held = [];
      heldBytes = 0;
      for (const h of waiting) s.write(withNewline(h.line));
      // A client that already closed its stdin gets its answers, then the bridge ends.
      if (clientEnded) endSession(s);
      return true;
    }

    /**
     * The client is done: tell the server. A daemon answers what it has after its input ends; the
     * embedded server closes with its input, so it is told once every request has its answer.
     */
    function endSession(s: Duplex) {
      if (embedded && pending.size > 0) endWhenAnswered = true;
      else s.end();
    }

    async function resume() {
      resuming = true;
      opts.log?.('brain serve went away; waiting for it to come back');
      // What the old daemon never answered, it never will: say so now.
      for (const id of pending.values()) stdout.write(errorLine(id, 'brain serve restarted before answering this request; it may or may not have been carried out: check, then send it again.'));
      pending.clear();
      // The session as the client had set it up when the daemon went away: the handshake, then init
      // and project use. Such calls sent meanwhile are among the held lines and go after it.
      const replayed = [initialize, initialized, session.init, session.use].filter((l): l is Buffer => !!l);
      const deadline = Date.now() + resumeWaitMs;
      while (!finished && Date.now() < deadline) {
        const path = await opts.findDaemon();
        const s = path ? await connect(path) : undefined;
        if (finished) return void s?.destroy();
        if (s) {
          if ((await carryOn(s, replayed)) === true) return void opts.log?.('bridged to brain serve again');
          s.destroy(); // lost again while replaying, no answer, or refused (maintenance): look again
        }
        await new Promise((r) => setTimeout(r, retryEveryMs));
      }
      if (finished) return;
      const waited = `brain serve did not come back within ${Math.round(resumeWaitMs / 1000)} s`;
      let failed: string | undefined;
      if (opts.fallback) {
        try {
          const server = await opts.fallback();
          embedded = true;
          if (finished) return void server.destroy();
          const outcome = await carryOn(server, replayed);
          if (outcome === true) return void opts.log?.(`${waited}; running embedded (this process opens the database itself)`);
          // Refused (maintenance mode: a restore may be under way) or no answer: it stops again.
          failed = typeof outcome === 'object' ? outcome.refused : 'the embedded server did not take the session up';
          server.destroy();
        } catch (err) {
          failed = (err as Error).message;
        }
        if (finished) return;
      }
      opts.log?.(`${waited}${failed ? `, and running embedded failed (${failed})` : ''}; stopping`);
      const message = failed ? `brain serve stopped and did not come back, and running embedded failed: ${failed}.` : 'brain serve stopped and did not come back; restart this MCP server.';
      for (const h of held) if (h.id !== undefined) stdout.write(errorLine(h.id, message));
      finish(0);
    }

    void connect(socketPath).then((s) => {
      if (!s) return finish(unreachable);
      attach(s);
      flowing = true;
      const lines = new LineSplitter();
      stdin.on('data', (chunk: Buffer) => lines.push(chunk, fromClient));
      // The client closed our stdin: tell the daemon we are done, and leave once it has closed.
      stdin.on('end', () => {
        clientEnded = true;
        if (sock && flowing) endSession(sock);
        // Resuming with requests held: they are answered first (by the new daemon or with an error).
        else if (!holdsRequests()) finish(0);
      });
      stdout.on('error', () => finish(0));
    });
  });
}
