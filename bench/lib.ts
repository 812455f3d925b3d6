// Shared benchmark helpers: timing, percentiles, and MCP clients over real stdio.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = path.join(ROOT, 'dist', 'src', 'cli.js');
/** Where generated corpora are cached between runs (gitignored). */
export const DATA_DIR = path.join(ROOT, '.bench-data');

export interface Summary {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  mean: number;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function summarize(samples: number[]): Summary {
  const s = [...samples].sort((a, b) => a - b);
  return {
    n: s.length,
    p50: percentile(s, 50),
    p95: percentile(s, 95),
    p99: percentile(s, 99),
    mean: s.reduce((a, b) => a + b, 0) / (s.length || 1),
  };
}

export const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');

/** Prints one aligned table to stdout (the bench is a CLI: stdout is for people here). */
export function table(title: string, header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of cells.slice(1)) console.log(line(r));
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function brainEnv(dir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    BRAIN_DB_PATH: path.join(dir, 'brain.db'),
    BRAIN_NOTES_PATH: path.join(dir, 'notes'),
    BRAIN_EXECUTION_PATH: path.join(dir, 'executions'),
    BRAIN_BACKUP_PATH: path.join(dir, 'backups'),
    BRAIN_LOG_PATH: path.join(dir, 'logs'),
    BRAIN_LOG_LEVEL: 'warn',
    BRAIN_LOG_FILES: 'false',
    // SQLite's memory settings pass through, so a bench can compare them (BRAIN_MMAP_SIZE_MB=0 npm run bench ...).
    ...Object.fromEntries(['BRAIN_MMAP_SIZE_MB', 'BRAIN_CACHE_SIZE_MB'].filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]!])),
    ...extra,
  };
}

export interface StdioPeer {
  client: Client;
  close(): Promise<void>;
}

/** Spawns an MCP server over stdio and connects a client; returns the time to a served initialize. */
export async function connectStdio(command: string, args: string[], env: Record<string, string>): Promise<StdioPeer & { startupMs: number }> {
  const started = performance.now();
  const transport = new StdioClientTransport({ command, args, env, stderr: 'ignore' });
  const client = new Client({ name: 'brain-bench', version: '1.0.0' });
  await client.connect(transport);
  const startupMs = performance.now() - started;
  return { client, startupMs, close: () => client.close() };
}

/** Round-trip time of each call, in milliseconds. Throws on an error result (a bench must not time failures). */
export async function timeCalls(client: Client, name: string, argsFor: (i: number) => Record<string, unknown>, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const r = await client.callTool({ name, arguments: argsFor(i) });
    out.push(performance.now() - t);
    if (r.isError) throw new Error(`${name} failed during the bench: ${JSON.stringify(r.content).slice(0, 300)}`);
  }
  return out;
}

export interface BenchContext {
  /** Fewer items and iterations (for a quick look; the full run is the one that counts). */
  quick: boolean;
  /** Results other sections may want (e.g. the protocol floor). */
  shared: Record<string, unknown>;
}

export interface BenchSection {
  name: string;
  /** Minutes long (soak, scale): runs only when named with --only, never in a plain `npm run bench`. */
  onRequest?: boolean;
  run(ctx: BenchContext): Promise<void>;
}

// The protocol floor and brain's own time, shared by every section that times tool calls.

/** A free loopback port for the metrics side port. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** brain's own time for a tool so far (sum, count), from its request-duration histogram. */
export async function ownTime(port: number, tool: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let sum = 0;
  let count = 0;
  for (const line of text.split('\n')) {
    if (!line.includes(`tool="${tool}"`)) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (line.startsWith('brain_mcp_request_duration_seconds_sum')) sum += value;
    if (line.startsWith('brain_mcp_request_duration_seconds_count')) count += value;
  }
  return { sum, count };
}

/** Mean own time in ms of the calls made while `fn` ran. */
export async function measuredOwnTime(port: number, tool: string, fn: () => Promise<void>): Promise<number> {
  const before = await ownTime(port, tool);
  await fn();
  const after = await ownTime(port, tool);
  return ((after.sum - before.sum) / Math.max(1, after.count - before.count)) * 1000;
}

/** One kind of call to time: a tool of a connected server, with its arguments for call i. */
export interface Timed {
  client: Client;
  name: string;
  args: (i: number) => Record<string, unknown>;
}

/**
 * Times `n` calls of each part in blocks of 100 that take turns, so all parts see the same
 * machine: on a small, shared machine latency drifts by a fifth within a minute, which parts
 * timed one after the other would read as a difference between them.
 */
export async function timeAlternating(parts: Timed[], n: number): Promise<number[][]> {
  const block = 100;
  const out = parts.map(() => [] as number[]);
  for (let done = 0; done < n; done += block) {
    const size = Math.min(block, n - done);
    for (const [k, part] of parts.entries()) out[k].push(...(await timeCalls(part.client, part.name, (i) => part.args(done + i), size)));
  }
  return out;
}

/** Enough calls for V8 to have optimised both sides' code paths (fewer leave the floor slow). */
export const WARM_UP_CALLS = 1000;

export const noopCall = (floor: Client): Timed => ({ client: floor, name: 'noop', args: () => ({ text: 'The user prefers vim keybindings.' }) });

export const FLOOR_SCRIPT = path.join(ROOT, 'dist', 'bench', 'noop-server.js');

/** The floor server's start-up time, and a connected floor server (warmed up) for timing beside brain. */
export async function startFloor(): Promise<{ startup: Summary; peer: StdioPeer }> {
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    const peer = await connectStdio(process.execPath, [FLOOR_SCRIPT], { PATH: process.env.PATH ?? '' });
    samples.push(peer.startupMs);
    await peer.close();
  }
  const peer = await connectStdio(process.execPath, [FLOOR_SCRIPT], { PATH: process.env.PATH ?? '' });
  await timeCalls(peer.client, 'noop', () => ({ text: 'warm-up' }), WARM_UP_CALLS);
  return { startup: summarize(samples), peer };
}
