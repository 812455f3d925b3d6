// A bare JSON-RPC peer for the built `brain` over stdio: no SDK, so a test can send any line,
// count what was answered, and SIGKILL the process at any moment.
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI } from '../helpers/brain.js';

export interface RpcAnswer {
  id?: number | string | null;
  result?: { isError?: boolean; content?: { text?: string }[]; structuredContent?: Record<string, unknown> } & Record<string, unknown>;
  error?: { code: number; message: string };
}

export interface RpcPeer {
  child: ChildProcess;
  /** Sends a request and resolves to its answer; rejects when the process ends first. */
  request(method: string, params?: unknown): Promise<RpcAnswer>;
  /** Writes one raw line (a fuzzed one); nothing is awaited. */
  raw(line: string): void;
  notify(method: string, params?: unknown): void;
  exited: Promise<number | null>;
  stderr(): string;
  kill(signal?: NodeJS.Signals): void;
}

export function startPeer(env: Record<string, string>): RpcPeer {
  const child = spawn(process.execPath, [CLI], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
  // A process that dies mid-write makes our writes fail with EPIPE: that is what the test expects.
  child.stdin!.on('error', () => undefined);
  const pending = new Map<number, { resolve: (a: RpcAnswer) => void; reject: (e: Error) => void }>();
  let buffer = '';
  child.stdout!.on('data', (d: Buffer) => {
    buffer += d.toString();
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      let msg: RpcAnswer;
      try {
        msg = JSON.parse(line) as RpcAnswer;
      } catch {
        continue;
      }
      if (typeof msg.id === 'number' && pending.has(msg.id)) {
        pending.get(msg.id)!.resolve(msg);
        pending.delete(msg.id);
      }
    }
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      for (const p of pending.values()) p.reject(new Error(`brain exited (${code}) before answering`));
      pending.clear();
      resolve(code);
    }),
  );
  let next = 1;
  const write = (msg: unknown) => {
    if (child.stdin!.writable) child.stdin!.write(JSON.stringify(msg) + '\n');
  };
  return {
    child,
    exited,
    stderr: () => stderr,
    request(method, params) {
      const id = next++;
      return new Promise<RpcAnswer>((resolve, reject) => {
        if (child.exitCode !== null || child.signalCode !== null) return reject(new Error('brain has exited'));
        pending.set(id, { resolve, reject });
        write({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });
      });
    },
    raw(line) {
      if (child.stdin!.writable) child.stdin!.write(line.endsWith('\n') ? line : line + '\n');
    },
    notify(method, params) {
      write({ jsonrpc: '2.0', method, ...(params === undefined ? {} : { params }) });
    },
    kill(signal = 'SIGKILL') {
      child.kill(signal);
    },
  };
}

/** initialize + initialized, as a client does first. */
export async function handshake(peer: RpcPeer): Promise<void> {
  const r = await peer.request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'reliability', version: '1.0.0' } });
  if (!r.result) throw new Error(`initialize failed: ${JSON.stringify(r.error)}`);
  peer.notify('notifications/initialized');
}

export const callTool = (peer: RpcPeer, name: string, args: Record<string, unknown>) => peer.request('tools/call', { name, arguments: args });
