// brain audit: what it finds (executions stopped at a limit, refused HTTP requests from the real
// log lines, sandbox failures, loose file modes), its exit codes, and a live service's answers.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { refusalRecorder } from '../src/core/http-guard.js';
import { createLogger } from '../src/core/logger.js';
import { finishExecution, insertExecution } from '../src/execution/store.js';
import type { AuditReport } from '../src/ops/audit.js';
import { brainEnv, CLI, testConfig, tempDir } from './helpers/brain.js';
import { adminPost, daemonEnv, startServe, waitFor } from './helpers/daemon.js';

function audit(env: Record<string, string>, ...args: string[]) {
  return spawnSync(process.execPath, [CLI, 'audit', ...args], { env, encoding: 'utf8', timeout: 60_000 });
}

function auditJson(env: Record<string, string>, ...args: string[]): { status: number | null; report: AuditReport } {
  const r = audit(env, '--json', ...args);
  expect(r.stderr).toBe('');
  return { status: r.status, report: JSON.parse(r.stdout) as AuditReport };
}

/** A request as refusalRecorder sees it. */
function request(remote: string): http.IncomingMessage {
  return { method: 'POST', url: '/mcp?x=1', headers: { host: '127.0.0.1:8787', authorization: 'Bearer wrong' }, socket: { remoteAddress: remote } } as unknown as http.IncomingMessage;
}

describe('brain audit', () => {
  it('a data directory with nothing to report: exit 0 and "no findings"', () => {
    const dir = tempDir('brain-audit-clean-');
    createApp(testConfig(dir)).close();
    const env = brainEnv(dir);
    const r = audit(env);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('no findings');
    expect(r.stdout).toContain('executions that hit a limit: none');
    expect(r.status).toBe(0);
    const { status, report } = auditJson(env);
    expect(status).toBe(0);
    expect(report.findings).toEqual([]);
    // The database sits in a 0700 directory: private whatever its own mode.
    expect(report.permissions.find((p) => p.path === path.join(dir, 'brain.db'))).toMatchObject({ kind: 'file' });
    expect(report.permissions.every((p) => !p.problem)).toBe(true);
  });

  it('limits hit, refused requests, sandbox failures and loose modes are findings: exit 1', async () => {
    const dir = tempDir('brain-audit-');
    const config = testConfig(dir, { BRAIN_LOG_FILES: 'true' });
    const app = createApp(config);
    const run = (status: Parameters<typeof finishExecution>[2]['status'], error?: string) => {
      const id = insertExecution(app.db, { project: 'web', sessionId: null, language: 'python', code: 'x = 1', timeoutMs: 1000, status: 'queued' });
      finishExecution(app.db, id, { status, error, cpuMs: 12 });
      return id;
    };
    const timeout = run('timeout', 'Stopped at the time limit of 1000 ms');
    const oom = run('oom');
    const quota = run('failed', 'The workspace of this project reached its quota of 1 MB (BRAIN_WORKSPACE_QUOTA_MB): ...');
    run('failed'); // a program that exited non-zero: its own business, not a limit
    run('succeeded');
    const rejected = insertExecution(app.db, { project: '', sessionId: null, language: 'python', code: 'y', timeoutMs: 1000, status: 'rejected' });
    app.events.record('execution.sandbox_failed', 'error', 'the sandbox could not run execution 9: firejail exited');
    app.events.record('memory.rebalance', 'info', 'not a sandbox event');
    app.close();

    // Refusals written by the real logger and recorder: the second token refusal within a second
    // is folded into the next line (not_logged_since), so three token refusals make two lines.
    const logger = createLogger({ level: 'info', logPath: config.logPath, console: false });
    let t = 0;
    const refuse = refusalRecorder(logger, undefined, 'mcp', () => t);
    refuse('token', request('127.0.0.1'), 401);
    t = 100;
    refuse('token', request('127.0.0.1'), 401);
    t = 1500;
    refuse('token', request('127.0.0.2'), 401);
    refuse('origin', request('127.0.0.1'), 403);
    refuse('busy', request('127.0.0.1'), 503);
    const combined = path.join(config.logPath, 'combined.log');
    await waitFor('log lines', () => fs.existsSync(combined) && fs.readFileSync(combined, 'utf8').split('\n').filter((l) => l.includes('HTTP request refused')).length === 4);
    logger.close();

    // Loose modes: the directory lets everyone through, the database is world-readable, a backup
    // is group-writable.
    fs.chmodSync(dir, 0o755);
    fs.chmodSync(path.join(dir, 'brain.db'), 0o644);
    fs.mkdirSync(config.backupPath, { recursive: true, mode: 0o700 });
    fs.chmodSync(config.backupPath, 0o750);
    fs.writeFileSync(path.join(config.backupPath, 'brain_20260101_000000.db'), 'x', { mode: 0o660 });
    fs.chmodSync(path.join(config.backupPath, 'brain_20260101_000000.db'), 0o660);

    const env = brainEnv(dir, { BRAIN_LOG_FILES: 'true' });
    const { status, report } = auditJson(env);
    expect(status).toBe(1);
    expect(report.executions.limit_hits.map((h) => [h.id, h.limit])).toEqual([
      [rejected, 'queue full'],
      [quota, 'workspace quota'],
      [oom, 'memory'],
      [timeout, 'wall time'],
    ]);
    expect(report.executions.by_limit).toEqual({ 'wall time': 1, memory: 1, 'queue full': 1, 'workspace quota': 1 });
    expect(report.http.by_reason).toEqual({ token: 3, origin: 1, busy: 1 });
    expect(report.http.failed_logins).toBe(3);
    expect(report.http.refusals.filter((r) => r.reason === 'token').map((r) => r.remote).sort()).toEqual(['127.0.0.1', '127.0.0.2']);
    expect(report.sandbox.events.map((e) => e.type)).toEqual(['execution.sandbox_failed']);
    const messages = report.findings.map((f) => `[${f.section}] ${f.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        '[executions] 1 execution(s) stopped at the wall time limit',
        '[executions] 1 execution(s) stopped at the workspace quota limit',
        '[http] 3 HTTP request(s) with a missing or wrong bearer token (failed logins)',
        '[http] 1 HTTP request(s) refused for their origin (DNS rebinding or a web page calling brain)',
        '[sandbox] 1 execution(s) the sandbox could not run',
        `[permissions] ${path.join(dir, 'brain.db')} (0644) is readable by every user on the host`,
        `[permissions] ${path.join(config.backupPath, 'brain_20260101_000000.db')} (0660) is writable by its group`,
      ]),
    );
    // A busy server turning requests away is not an intrusion.
    expect(messages.some((m) => m.includes('busy'))).toBe(false);

    // Text for people says the same; tightening the modes clears those findings.
    const text = audit(env);
    expect(text.status).toBe(1);
    expect(text.stdout).toContain('failed logins: 3');
    expect(text.stdout).toMatch(/#\d+ .* wall time/);
    expect(text.stdout).toContain('<- readable by every user on the host');
    fs.chmodSync(dir, 0o700);
    fs.chmodSync(path.join(config.backupPath, 'brain_20260101_000000.db'), 0o600);
    const tidy = auditJson(env);
    expect(tidy.report.findings.every((f) => f.section !== 'permissions')).toBe(true);
  });

  it('a running service: its sandbox state comes from /health, a wrong token shows as a failed login', { timeout: 90_000 }, async () => {
    const dir = tempDir('brain-audit-live-');
    const env = await daemonEnv(dir, { BRAIN_LOG_FILES: 'true', BRAIN_LOG_LEVEL: 'info' });
    const daemon = await startServe(env);
    try {
      expect((await adminPost(daemon, 'backup', 'this-is-not-the-admin-token')).status).toBe(401);
      const combined = path.join(dir, 'logs', 'combined.log');
      await waitFor('the refusal in combined.log', () => fs.existsSync(combined) && fs.readFileSync(combined, 'utf8').includes('HTTP request refused (token)'));
      const { status, report } = auditJson(env);
      expect(report.http.failed_logins).toBe(1);
      expect(report.http.refusals[0]).toMatchObject({ port: 'ops', reason: 'token', status: 401 });
      expect(report.sandbox.service).toMatch(/^ok: /);
      expect(status).toBe(1);
    } finally {
      await daemon.stop();
    }
    // With the service gone, the audit says so instead of guessing.
    const { report } = auditJson(env);
    expect(report.sandbox.service).toContain('brain serve is not running');
    expect(report.findings.some((f) => f.section === 'sandbox')).toBe(false);
  });

  it('DAYS must be a whole number of days', () => {
    const r = audit(brainEnv(tempDir('brain-audit-usage-')), 'soon');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('DAYS must be a whole number of days from 1 to 3650 (got soon)');
  });
});
