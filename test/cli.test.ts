// The operator commands of the built CLI: exit codes scripts can trust, and clear messages.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { brainEnv, call, CLI, startBrain, tempDir } from './helpers/brain.js';

let dir: string;
let env: Record<string, string>;
const brain = (args: string[], extraEnv: Record<string, string> = {}, input?: string) =>
  spawnSync(process.execPath, [CLI, ...args], { env: { ...env, ...extraEnv }, encoding: 'utf8', input, timeout: 60_000 });

beforeEach(() => {
  dir = tempDir();
  env = brainEnv(dir);
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('brain CLI', () => {
  it('--version and help', () => {
    expect(brain(['--version']).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const help = brain(['help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/brain doctor/);
    const unknown = brain(['frobnicate']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "frobnicate"/);
  });

  it('a bad setting stops start-up with a message naming the variable', () => {
    const r = brain(['stats'], { BRAIN_MAX_CONTENT_KB: 'lots', BRAIN_HOT_TIER_MAX_ITEMS: '-4' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/BRAIN_MAX_CONTENT_KB="lots"/);
    expect(r.stderr).toMatch(/BRAIN_HOT_TIER_MAX_ITEMS="-4"/);
    const secret = brain(['stats'], { BRAIN_HTTP_TOKEN: 'tooshort-secret' });
    expect(secret.status).toBe(2);
    expect(secret.stderr).toMatch(/BRAIN_HTTP_TOKEN=\(hidden\)/);
    expect(secret.stderr).not.toMatch(/tooshort-secret/);
    const stdio = brain([], { BRAIN_LOG_LEVEL: 'loud' }, '');
    expect(stdio.status).toBe(2);
    expect(stdio.stderr).toMatch(/BRAIN_LOG_LEVEL/);
    expect(stdio.stdout).toBe('');
  });

  it('doctor checks what brain needs and exits 0 when ready', () => {
    const r = brain(['doctor']);
    expect(r.stdout).toMatch(/ok\s+sqlite: SQLite [\d.]+ with FTS5/);
    expect(r.stdout).toMatch(/ok\s+database: .*quick_check ok/);
    expect(r.status, r.stdout).toBe(0);
  });

  it('doctor fails with a fix when the database directory cannot be used', () => {
    const blocker = path.join(dir, 'file-not-dir');
    fs.writeFileSync(blocker, 'x');
    const r = brain(['doctor'], { BRAIN_DB_PATH: path.join(blocker, 'brain.db') });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/FAIL\s+database directory/);
    expect(r.stdout).toMatch(/fix: /);
  });

  it('stats, rebalance, export and import round-trip', async () => {
    const c = await startBrain(env);
    await call(c.client, 'remember', { key: 'one', content: 'first memory', importance: 0.9 });
    await call(c.client, 'remember', { key: 'two', content: 'second memory', tags: ['x'] });
    await call(c.client, 'remember', { key: 'two', content: 'second memory, edited', tags: ['x'] });
    await c.close();

    const stats = JSON.parse(brain(['stats', '--json']).stdout);
    expect(stats).toMatchObject({ total: 2, history: { updated: 1 } });
    const moved = JSON.parse(brain(['rebalance', '--json']).stdout);
    expect(moved.hot_items).toBe(2);

    const file = path.join(dir, 'export.jsonl');
    const exported = brain(['export', file]);
    expect(exported.status).toBe(0);
    expect(exported.stderr).toMatch(/exported 3 records/);
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
    expect(lines.map((l) => JSON.parse(l).kind)).toEqual(['memory', 'memory', 'memory_history']);

    const otherDir = tempDir();
    try {
      const other = brainEnv(otherDir);
      const imported = spawnSync(process.execPath, [CLI, 'import', '--json', file], { env: other, encoding: 'utf8' });
      expect(imported.status).toBe(0);
      expect(JSON.parse(imported.stdout)).toMatchObject({ format: 'brain', created: 2, history: 1 });
      const again = spawnSync(process.execPath, [CLI, 'export'], { env: other, encoding: 'utf8' });
      expect(again.stdout.trim().split('\n')).toEqual(lines);
    } finally {
      fs.rmSync(otherDir, { recursive: true, force: true });
    }
    const missing = brain(['import', path.join(dir, 'nope.jsonl')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/does not exist/);
  });

  it('init stays within its size budget however much is stored', async () => {
    const c = await startBrain(brainEnv(dir, { BRAIN_INIT_BUDGET_CHARS: '3000' }));
    for (let i = 0; i < 30; i++) {
      await call(c.client, 'remember', { key: `pref-${i}`, type: 'user_preferences', content: `preference ${i}: ` + 'detail '.repeat(80) });
      await call(c.client, 'remember', { key: `fact-${i}`, content: `fact ${i}: ` + 'words '.repeat(80), importance: 0.9 });
    }
    const r = await c.client.callTool({ name: 'init', arguments: {} });
    const text = (r.content as { text: string }[])[0].text;
    const init = r.structuredContent as { budget: { used_chars: number; omitted_memories: number }; preferences: unknown[]; memories: unknown[] };
    expect(text.length).toBeLessThanOrEqual(3000);
    expect(init.budget.used_chars).toBe(text.length);
    expect(init.preferences.length).toBeGreaterThan(0);
    expect(init.budget.omitted_memories).toBeGreaterThan(0);
    await c.close();
  });
});
