// Shared benchmark helpers: timing, percentiles, and MCP clients over real stdio.
import fs from 'node:fs';
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
  run(ctx: BenchContext): Promise<void>;
}
