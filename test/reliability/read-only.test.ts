// Read-only places: a database folder brain cannot write is refused at start with one sentence
// (no stack), `brain check` still reads it; a notes folder brain cannot write makes a note write
// fail with a sentence that says so, leaving the database as it was, while memories still work.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { brainEnv, CLI, tempDir, testConfig } from '../helpers/brain.js';
import { report } from './figures.js';
import { cannotRun, mountReadOnly, unmount } from './mounts.js';
import { callTool, handshake, startPeer } from './rpc-peer.js';

const dir = tempDir('brain-ro-');
const source = path.join(dir, 'data');
const readOnly = path.join(dir, 'read-only');
fs.mkdirSync(path.join(source, 'notes', '_global'), { recursive: true });
{
  const env = brainEnv(dir, { BRAIN_DB_PATH: path.join(source, 'brain.db') });
  const app = createApp(testConfig(dir, env));
  app.memories.remember({ project: '', key: 'kept', content: 'written before the folder became read-only', type: 'general', tags: [], importance: 0.5 });
  app.close();
  fs.writeFileSync(path.join(source, 'notes', '_global', 'old.md'), '# Old\n\nA note from before.\n');
}
const cannotMount = mountReadOnly(source, readOnly);
afterAll(() => {
  if (!cannotMount) unmount(readOnly);
});

const brain = (args: string[], env: Record<string, string>, input = '') => spawnSync(process.execPath, [CLI, ...args], { env, input, encoding: 'utf8', timeout: 60_000 });

describe('read-only folders', () => {
  it('the database folder: start refused with one sentence, check still reads it', async (ctx) => {
    if (cannotMount) return cannotRun('read-only folder', cannotMount, () => ctx.skip());
    const env = brainEnv(dir, { BRAIN_DB_PATH: path.join(readOnly, 'brain.db'), BRAIN_NOTES_PATH: path.join(dir, 'notes') });
    const started = brain([], env, '{"jsonrpc":"2.0","id":1,"method":"ping"}\n');
    expect(started.status).toBe(3);
    expect(started.stderr.trim()).toMatch(/^brain: cannot open the database: .*\. Check BRAIN_DB_PATH and that its directory is writable\.$/);
    const fresh = brain([], { ...env, BRAIN_DB_PATH: path.join(readOnly, 'new.db') }, '');
    expect(fresh.status).toBe(3);
    expect(fresh.stderr).not.toMatch(/unexpected error|\n\s+at /);
    const check = brain(['check'], env);
    expect(check.status, check.stderr).toBe(0);
    expect(check.stdout).toMatch(/result:\s+sound/);
    report('read-only database folder', { 'starts refused with a sentence': 2, 'stack traces': 0, 'check on it': 'sound' });
  });

  it('the notes folder: note write refused with a sentence, nothing changed; memories still work', async (ctx) => {
    if (cannotMount) return cannotRun('read-only folder', cannotMount, () => ctx.skip());
    const env = brainEnv(dir, { BRAIN_DB_PATH: path.join(dir, 'writable.db'), BRAIN_NOTES_PATH: path.join(readOnly, 'notes'), BRAIN_LOG_FILES: 'false', BRAIN_SANDBOX_WARM: '0' });
    const peer = startPeer(env);
    try {
      await handshake(peer);
      const listed = await callTool(peer, 'note', { action: 'list' });
      expect(JSON.stringify(listed.result?.structuredContent)).toContain('old.md');
      const refused = [];
      for (const args of [{ title: 'New plan', content: 'Ship on Friday.' }, { path: 'old.md', content: 'more', mode: 'append' }]) {
        const r = await callTool(peer, 'note', { action: 'write', ...args });
        expect(r.result?.isError).toBe(true);
        expect(r.result?.content?.[0]?.text).toMatch(/was not written: the notes folder .* cannot be written to \(EROFS\)\. Make it writable, then write it again\./);
        refused.push(r);
      }
      const after = await callTool(peer, 'note', { action: 'list' });
      expect(after.result?.structuredContent).toEqual(listed.result?.structuredContent);
      const remembered = await callTool(peer, 'remember', { key: 'still-works', content: 'memories do not need the notes folder' });
      expect(remembered.result?.isError).toBeFalsy();
      report('read-only notes folder', { 'note writes refused with a sentence': refused.length, 'data changed': 0, 'memory writes meanwhile': 1, crashes: 0 });
    } finally {
      peer.kill('SIGTERM');
      await peer.exited;
    }
  });
});
