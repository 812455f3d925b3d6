// Fail closed: without a usable sandbox, memory keeps working and execute explains the fix;
// code never runs unsandboxed. Also `brain doctor`'s sandbox section.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { detectHost, isProblem } from '../src/execution/host.js';
import { judgeCanary } from '../src/execution/self-test.js';
import { brainEnv, call, callError, CLI, startBrain, tempDir, testConfig, type Connected } from './helpers/brain.js';
import { SANDBOX_LIMITS } from './helpers/sandbox.js';

let dir: string | undefined;
let brain: Connected | undefined;

afterEach(async () => {
  await brain?.close();
  brain = undefined;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/**
 * How to start brain on this machine as if firejail were not installed (a Mac, Windows, a
 * container without it): as root, in a mount namespace of its own where the default
 * /usr/bin/firejail is /dev/null (there, but nothing to run); otherwise through
 * BRAIN_FIREJAIL_PATH naming a file that does not exist.
 */
function withoutFirejail(dir: string): { command: string; args: string[]; env: Record<string, string> } {
  const env = brainEnv(dir, SANDBOX_LIMITS);
  if (process.getuid?.() !== 0 || !fs.existsSync('/usr/bin/firejail')) return { command: process.execPath, args: [CLI], env: { ...env, BRAIN_FIREJAIL_PATH: '/nonexistent/firejail' } };
  delete env.BRAIN_FIREJAIL_PATH;
  return { command: 'unshare', args: ['-m', '--propagation', 'private', 'sh', '-c', 'mount --bind /dev/null /usr/bin/firejail && exec "$@"', 'sh', process.execPath, CLI], env };
}

describe('fail closed', () => {
  it('without firejail brain starts, every tool but execute works, and execute says what to install', async () => {
    dir = tempDir();
    const marker = `${dir}/ran-unsandboxed`;
    const run = withoutFirejail(dir);
    const transport = new StdioClientTransport({ ...run, stderr: 'pipe' });
    const client = new Client({ name: 'no-sandbox', version: '1.0.0' });
    await client.connect(transport);
    brain = { client, transport, stderr: () => '', close: () => client.close() };
    const text = await callError(client, 'execute', { code: `open(${JSON.stringify(marker)}, 'w').write('x')` });
    expect(text).toMatch(/firejail is not installed/);
    expect(text).toMatch(/apt-get install firejail/);
    expect(fs.existsSync(marker)).toBe(false);
    // Nothing was run, so nothing is listed as run.
    expect((await call<{ executions: unknown[] }>(client, 'executions', { project: '*' })).executions).toEqual([]);

    // Everything else: memory, projects, notes, search, events, blueprints.
    await call(client, 'init', { project: 'offline' });
    await call(client, 'remember', { key: 'still-works', content: 'memory works without a sandbox' });
    expect((await call<{ results: { key: string }[] }>(client, 'recall', { key: 'still-works' })).results[0].key).toBe('still-works');
    await call(client, 'project', { action: 'save', add: { goals: ['work without firejail'] } });
    expect((await call<{ projects: { context: { goals: string[] } }[] }>(client, 'project', { action: 'list', name: 'offline' })).projects[0].context.goals).toEqual(['work without firejail']);
    await call(client, 'note', { action: 'write', title: 'Plan', content: 'notes work without a sandbox' });
    expect((await call<{ content: string }>(client, 'note', { action: 'read', title: 'Plan' })).content).toMatch(/notes work without a sandbox/);
    const found = await call<{ results: { kind: string }[] }>(client, 'search', { query: 'without a sandbox' });
    expect(found.results.map((r) => r.kind).sort()).toEqual(['memory', 'note']);
    const event = await call<{ id: number }>(client, 'events', { action: 'record', type: 'deploy', message: 'deployed without a sandbox' });
    expect((await call<{ events: { id: number }[] }>(client, 'events', { query: 'deployed' })).events.map((e) => e.id)).toEqual([event.id]);
    expect((await call<{ blueprints: unknown[] }>(client, 'blueprint', { action: 'list' })).blueprints).toEqual([]);
  });

  it('a missing sandbox user is reported with the setup script to run', () => {
    if (process.getuid?.() !== 0) {
      expect(isProblem(detectHost(testConfig(tempDir(), { BRAIN_SANDBOX_USER: 'no-such-user-xyz' })))).toBe(false);
      return;
    }
    const problem = detectHost(testConfig(tempDir(), { BRAIN_SANDBOX_USER: 'no-such-user-xyz' }));
    expect(isProblem(problem) && problem.reason).toMatch(/sandbox user "no-such-user-xyz" does not exist/);
    expect(isProblem(problem) && problem.fix).toMatch(/setup-sandbox\.sh/);
  });

  it('BRAIN_SANDBOX_USER=nobody is a configuration error naming the variable', () => {
    dir = tempDir();
    const r = spawnSync(process.execPath, [CLI, 'stats'], { env: brainEnv(dir, { BRAIN_SANDBOX_USER: 'nobody' }), encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/BRAIN_SANDBOX_USER="nobody"/);
  });

  it('a canary that gets out disables execute (the self-test judge)', () => {
    dir = tempDir();
    const host = detectHost(testConfig(dir));
    if (isProblem(host)) throw new Error(host.reason);
    const leaky = JSON.stringify({ uid: 0, capeff: '000001ffffffffff', nonewprivs: '0', seccomp: '0', net: 'open', ifaces: ['lo', 'eth0'], env: ['PATH', 'BRAIN_DB_PATH'], secret: true, shadow: true });
    const bad = judgeCanary(leaky, host, { BRAIN_DB_PATH: '/x' });
    expect(bad.passed).toEqual([]);
    expect(bad.failed).toHaveLength(8);
    const clean = JSON.stringify({ uid: host.spec.uid ?? 1000, capeff: '0000000000000000', nonewprivs: '1', seccomp: '2', net: 'blocked', ifaces: ['lo'], env: ['PATH', 'HOME'], secret: false, shadow: false });
    expect(judgeCanary(clean, host, { BRAIN_DB_PATH: '/x' }).failed).toEqual([]);
  });
});

describe('brain doctor', () => {
  it('prints the sandbox status and which mechanism enforces each limit', () => {
    dir = tempDir();
    const r = spawnSync(process.execPath, [CLI, 'doctor'], { env: brainEnv(dir, SANDBOX_LIMITS), encoding: 'utf8', timeout: 60_000 });
    expect(r.stdout).toMatch(/^ok\s+sandbox: firejail as .*canary attacks contained/m);
    for (const limit of ['memory', 'processes', 'cpu', 'wall time', 'file size', 'output', 'network', 'workspace quota']) {
      expect(r.stdout).toMatch(new RegExp(`^(ok|warn)\\s+sandbox ${limit}: .*\\b(by|none)\\b`, 'm'));
    }
    expect(r.stdout).toMatch(/python stack: numpy/);
    if (process.getuid?.() === 0) expect(r.stdout).toMatch(/^ok\s+sandbox workspace quota: 64 MB and 100000 files per project workspace by an ext4 filesystem per workspace/m);
    expect(r.status).toBe(0);
    const host = detectHost(testConfig(dir, SANDBOX_LIMITS));
    if (!isProblem(host)) fs.rmSync(host.workspaceRoot, { recursive: true, force: true });
  });

  it('without firejail the sandbox line fails with the fix, names every package execute needs, and says the rest works', () => {
    dir = tempDir();
    const run = withoutFirejail(dir);
    const r = spawnSync(run.command, [...run.args, 'doctor'], { env: run.env, encoding: 'utf8', timeout: 60_000 });
    expect(r.stdout).toMatch(/^FAIL\s+sandbox: execute is unavailable: firejail is not installed/m);
    expect(r.stdout).toMatch(/fix: install it/);
    expect(r.stdout).toMatch(/^warn\s+execute needs: firejail MISSING, python3 installed, python3-numpy (installed|missing \(optional\)), python3-pandas .*, python3-matplotlib .*; everything but execute works without them$/m);
    expect(r.stdout).toMatch(/^\s+fix: sudo apt-get install firejail( python3-\w+)* \(Debian\/Ubuntu\), then restart brain$/m);
    expect(r.stdout).toMatch(/^brain works without execute: memory, notes, projects, events and clusters are ready; fix the FAIL lines above for execute\.$/m);
    expect(r.status).toBe(1);
  });
});

describe('rlimit fallback (no cgroup)', () => {
  it('with BRAIN_SANDBOX_CGROUP=off a heap bomb is still oom and doctor warns that /tmp is not counted', async () => {
    dir = tempDir();
    // RLIMIT_AS limits address space, which bytes() reserves without touching (calloc): the bomb
    // meets the limit at once, where zeroing every page (bytearray) took 12 s of wall time on a
    // loaded machine (the attack suite does the same).
    const extra = { ...SANDBOX_LIMITS, BRAIN_SANDBOX_CGROUP: 'off', BRAIN_SANDBOX_WARM: '0' };
    const host = detectHost(testConfig(dir, extra));
    if (isProblem(host)) throw new Error(host.reason);
    expect(host.plan).toBeNull();
    brain = await startBrain(brainEnv(dir, extra));
    const bomb = await call<{ status: string }>(brain.client, 'execute', { code: 'a = []\nwhile True:\n    a.append(bytes(8 * 1024 * 1024))', timeout_ms: 4000 });
    expect(bomb.status).toBe('oom');
    const ok = await call<{ status: string; stdout: string }>(brain.client, 'execute', { code: 'import numpy\nprint(numpy.ones(3).sum())' });
    expect(ok).toMatchObject({ status: 'succeeded', stdout: '3.0\n' });
    const r = spawnSync(process.execPath, [CLI, 'doctor'], { env: brainEnv(dir, extra), encoding: 'utf8', timeout: 60_000 });
    expect(r.stdout).toMatch(/^warn\s+sandbox memory: .*RLIMIT_AS.*NOT counted/m);
    fs.rmSync(host.workspaceRoot, { recursive: true, force: true });
  });
});
