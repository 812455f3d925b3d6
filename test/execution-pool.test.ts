// The pool around the sandboxes: a full queue rejects at once (and records it), and the contract
// metrics and the workers health check report the pool.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { detectHost, isProblem } from '../src/execution/host.js';
import { brainEnv, call, callError, startBrain, tempDir, testConfig, type Connected } from './helpers/brain.js';
import { freePort, waitFor } from './helpers/daemon.js';
import { SANDBOX_LIMITS } from './helpers/sandbox.js';

let dir: string;
let brain: Connected;
let port: number;
let workspaceRoot: string;
let startedAt: number;

beforeAll(async () => {
  dir = tempDir();
  port = await freePort();
  const extra = { ...SANDBOX_LIMITS, BRAIN_WORKER_MIN: '1', BRAIN_WORKER_MAX: '1', BRAIN_EXECUTION_QUEUE_MAX: '1', BRAIN_MAX_EXECUTION_TIME_MS: '8000', BRAIN_METRICS_PORT: String(port) };
  const host = detectHost(testConfig(dir, extra));
  if (isProblem(host)) throw new Error(`the sandbox is unavailable on this machine: ${host.reason}; fix: ${host.fix}`);
  workspaceRoot = host.workspaceRoot;
  startedAt = Date.now();
  brain = await startBrain(brainEnv(dir, extra));
});

afterAll(async () => {
  await brain?.close();
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(workspaceRoot, { recursive: true, force: true });
});

describe('execution pool', () => {
  it('a full queue rejects at once with a clear error and a rejected row', async () => {
    // The first call comes before brain warms sandboxes ahead (a second after start), and the
    // second call after it: the warm-up must not take the one queue slot while the first runs.
    // Six seconds: room for a slow machine between the first call starting and the third.
    const running = call<{ status: string }>(brain.client, 'execute', { code: 'import time\ntime.sleep(6)\nprint("first")', project: 'q' });
    const statuses = async () => (await call<{ executions: { status: string }[] }>(brain.client, 'executions', { project: 'q' })).executions.map((e) => e.status);
    await waitFor('the first execution to run', async () => (await statuses()).includes('running'));
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, startedAt + 1_500 - Date.now())));
    const queued = call<{ status: string; stdout: string }>(brain.client, 'execute', { code: 'print("second")', project: 'q' });
    await waitFor('the second execution to wait in the queue', async () => (await statuses()).includes('queued'));
    const text = await callError(brain.client, 'execute', { code: 'print("third")', project: 'q' });
    // At once: the refusal came while the first still ran and the second still waited.
    expect(await statuses()).toEqual(expect.arrayContaining(['running', 'queued', 'rejected']));
    expect(text).toMatch(/execution queue is full/);
    expect(text).toMatch(/BRAIN_EXECUTION_QUEUE_MAX/);
    expect((await running).status).toBe('succeeded');
    expect(await queued).toMatchObject({ status: 'succeeded', stdout: 'second\n' });
    const rejected = await call<{ executions: { status: string; code: string }[] }>(brain.client, 'executions', { status: 'rejected', project: 'q' });
    expect(rejected.executions).toHaveLength(1);
    expect(rejected.executions[0].code).toBe('print("third")');
  });

  it('/metrics: brain_execution_queue_size, brain_worker_status, executions by status; /health reports the workers', async () => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(text).toMatch(/^brain_execution_queue_size 0$/m);
    expect(text).toMatch(/^brain_worker_status\{worker_id="\d+"\} 1$/m);
    expect(text).toMatch(/^brain_executions_total\{status="succeeded"\} 2$/m);
    expect(text).toMatch(/^brain_executions_total\{status="rejected"\} 1$/m);
    expect(text).toMatch(/^brain_execution_duration_seconds_count\{status="succeeded"\} 2$/m);
    expect(text).toMatch(/^brain_sandbox_starts_total\{kind="(warm|cold)"\} \d+/m);
    const health = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { checks: Record<string, { status: string; detail: string }> };
    expect(health.checks.workers).toMatchObject({ status: 'ok' });
    expect(health.checks.workers.detail).toMatch(/sandbox ready; 1 worker/);
  });
});

describe('warming sandboxes ahead', () => {
  it('never takes a queue slot while an execution runs: the next call still queues', async () => {
    const own = tempDir();
    const app = createApp(testConfig(own, { ...SANDBOX_LIMITS, BRAIN_WORKER_MIN: '1', BRAIN_WORKER_MAX: '1', BRAIN_EXECUTION_QUEUE_MAX: '1', BRAIN_MAX_EXECUTION_TIME_MS: '8000' }));
    try {
      const request = (code: string) => ({ code, language: 'python' as const, project: 'w', sessionId: null });
      const running = app.executions.execute(request('import time\ntime.sleep(2)\nprint("first")'));
      await waitFor('the first execution to run', async () => app.executions.list({ projects: ['w'], limit: 10 }).some((e) => e.status === 'running'));
      app.executions.warmUp(0);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const next = await app.executions.execute(request('print("second")'));
      expect(next).toMatchObject({ status: 'succeeded', stdout: 'second\n' });
      expect((await running).status).toBe('succeeded');
      expect(app.executions.list({ projects: ['w'], limit: 10 }).map((e) => e.status)).not.toContain('rejected');
    } finally {
      app.close();
      fs.rmSync(own, { recursive: true, force: true });
    }
  });
});
