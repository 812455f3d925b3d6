// Test helpers: temp directories with a brain environment, and the real built server over stdio.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { brainEnv as benchEnv } from '../../bench/lib.js';
import { loadConfig, type Config } from '../../src/core/config.js';
import type { App } from '../../src/app.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = path.join(ROOT, 'dist', 'src', 'cli.js');

const madeDirs: string[] = [];

/** A fresh directory under the system temp folder, removed after the test file that made it. */
export function tempDir(prefix = 'brain-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  madeDirs.push(dir);
  return dir;
}

// Registered when a test file imports this module, so it runs after that file's own afterAll
// hooks (they run in reverse order): every temp dir a test made goes, even one a test forgot.
afterAll(() => {
  for (const dir of madeDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** Environment for a brain whose every path is inside `dir` (the bench's, with log files on). */
export function brainEnv(dir: string, extra: Record<string, string> = {}): Record<string, string> {
  return benchEnv(dir, { BRAIN_LOG_FILES: 'true', ...extra });
}

/** Waits until recall is served by the in-process index (built in the background after start). */
export async function indexReady(app: App): Promise<void> {
  for (let i = 0; i < 500 && !app.memories.indexReady; i++) await new Promise((r) => setTimeout(r, 5));
  if (!app.memories.indexReady) throw new Error('the recall index was not built within 2.5 s');
}

export function testConfig(dir: string, extra: Record<string, string> = {}): Config {
  return loadConfig(brainEnv(dir, extra));
}

export interface Connected {
  client: Client;
  transport: StdioClientTransport;
  stderr: () => string;
  close: () => Promise<void>;
}

/** Starts the built CLI over real stdio and connects the SDK client to it. */
export async function startBrain(env: Record<string, string>, args: string[] = []): Promise<Connected> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, ...args], env, stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const client = new Client({ name: 'brain-e2e', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport, stderr: () => stderr, close: () => client.close() };
}

/** Calls a tool and returns its structured result, failing loudly on an error result. */
export async function call<T = Record<string, unknown>>(client: Client, name: string, args: Record<string, unknown> = {}): Promise<T> {
  const result = await client.callTool({ name, arguments: args });
  if (result.isError) throw new Error(`${name} failed: ${JSON.stringify(result.content)}`);
  return result.structuredContent as T;
}

/** Calls a tool that should fail; returns its error text. */
export async function callError(client: Client, name: string, args: Record<string, unknown> = {}): Promise<string> {
  const result = await client.callTool({ name, arguments: args });
  if (!result.isError) throw new Error(`${name} unexpectedly succeeded: ${JSON.stringify(result.structuredContent)}`);
  return (result.content as { type: string; text: string }[]).map((c) => c.text).join('\n');
}
