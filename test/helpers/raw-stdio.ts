// The built CLI over stdio without the SDK client: whatever bytes a test writes reach brain as
// they are (malformed lines, over-long lines), and every line brain writes back is kept.
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI } from './brain.js';

export interface RawReply {
  jsonrpc: string;
  id?: string | number | null;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: unknown };
  method?: string;
  params?: Record<string, unknown>;
}

export interface RawStdio {
  child: ChildProcess;
  /** Every JSON line brain wrote, in order. */
  lines: RawReply[];
  stderr(): string;
  write(text: string | Buffer): Promise<void>;
  send(message: unknown): Promise<void>;
  /** The reply whose id is `id` (waits for it). */
  reply(id: string | number | null, timeoutMs?: number): Promise<RawReply>;
  /** initialize + initialized, as a client does first. */
  handshake(protocolVersion?: string): Promise<RawReply>;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
}

export function startRaw(env: Record<string, string>): RawStdio {
  const child = spawn(process.execPath, [CLI], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: RawReply[] = [];
  let partial = '';
  let stderr = '';
  const waiters: (() => void)[] = [];
  child.stdout!.on('data', (d: Buffer) => {
    partial += d.toString('utf8');
    let nl: number;
    while ((nl = partial.indexOf('\n')) !== -1) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      if (line.trim()) lines.push(JSON.parse(line) as RawReply);
    }
    for (const w of waiters.splice(0)) w();
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // A test that writes after brain exited must see its assertion fail, not an EPIPE crash.
  child.stdin!.on('error', () => {});

  const write = (text: string | Buffer) =>
    new Promise<void>((resolve) => {
      if (child.stdin!.write(text)) resolve();
      else child.stdin!.once('drain', () => resolve());
    });

  async function reply(id: string | number | null, timeoutMs = 30_000): Promise<RawReply> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = lines.find((l) => 'id' in l && l.id === id && (l.result !== undefined || l.error !== undefined));
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no reply with id ${JSON.stringify(id)}; got ${JSON.stringify(lines).slice(0, 2000)}\nstderr: ${stderr.slice(-2000)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 100);
        waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  return {
    child,
    lines,
    stderr: () => stderr,
    write,
    send: (message) => write(JSON.stringify(message) + '\n'),
    reply,
    async handshake(protocolVersion = '2025-06-18') {
      await write(
        JSON.stringify({ jsonrpc: '2.0', id: 'init', method: 'initialize', params: { protocolVersion, capabilities: {}, clientInfo: { name: 'raw-test', version: '1' } } }) + '\n',
      );
      const r = await reply('init');
      await write(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) + '\n');
      return r;
    },
    exited,
  };
}
