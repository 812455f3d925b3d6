// The sandbox section of `brain doctor`: is execution available, did the canaries stay inside,
// which mechanism enforces each limit here, and is the scientific stack usable.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../core/config.js';
import type { Check } from '../doctor.js';
import { removeCgroupBase } from '../../worker/cgroup.js';
import { Sandbox, type RunResult } from '../../worker/sandbox-process.js';
import { detectHost, ensureWorkspace, isProblem, mechanisms, type SandboxHost } from './host.js';
import { canaryProgram, judgeCanary } from './self-test.js';

async function runOnce(host: SandboxHost, code: string): Promise<RunResult> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'brain-doctor-'));
  const sandbox = new Sandbox(host.spec, ensureWorkspace(host, ''), host.plan);
  try {
    return await sandbox.run(
      { code, language: 'python', stdin: '', files: [] },
      {
        timeoutMs: 30_000,
        maxOutputBytes: 65_536,
        headBytes: 16_384,
        tailBytes: 0,
        stdoutFile: path.join(tmp, 'out'),
        stderrFile: path.join(tmp, 'err'),
        maxImageBytes: 0,
        signal: { cancelled: false },
      },
    );
  } finally {
    await sandbox.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

const STACK = `
import importlib
for m in ['numpy', 'pandas', 'matplotlib']:
    try:
        print(m, importlib.import_module(m).__version__)
    except Exception:
        print(m, '-')
`;

export async function sandboxChecks(config: Config): Promise<Check[]> {
  const host = detectHost(config);
  if (isProblem(host)) return [{ name: 'sandbox', ok: false, detail: `execute is unavailable: ${host.reason}`, fix: host.fix }];
  const checks: Check[] = [];
  try {
    const r = await runOnce(host, canaryProgram(path.resolve(config.dbPath)));
    const report = r.status === 'succeeded' ? judgeCanary(r.stdout.head, host, process.env) : { passed: [], failed: [`canary program ${r.status}: ${r.stderr.head.slice(0, 300)}`] };
    checks.push({
      name: 'sandbox',
      ok: report.failed.length === 0,
      detail: report.failed.length
        ? `execute is disabled: ${report.failed.join('; ')}`
        : `firejail as ${host.user}; ${report.passed.length} canary attacks contained (${report.passed.join(', ')}); workspaces in ${host.workspaceRoot}`,
      fix: 'check that firejail works (`firejail --version`), run `sudo scripts/setup-sandbox.sh`, then brain doctor again',
    });
    if (report.failed.length) return checks;
  } catch (err) {
    return [{ name: 'sandbox', ok: false, detail: `a sandbox could not start: ${(err as Error).message}`, fix: 'run `sudo scripts/setup-sandbox.sh` and check `firejail --version`' }];
  }
  for (const [limit, how] of Object.entries(mechanisms(host, config))) {
    const weak = limit === 'memory' && !host.plan;
    checks.push({ name: `sandbox ${limit.replace('_', ' ')}`, ok: !weak, optional: true, detail: how, fix: weak ? 'run brain as root (cgroup v1) or give it a delegated cgroup v2 subtree so memory limits count /tmp too' : undefined });
  }
  try {
    const r = await runOnce(host, STACK);
    const missing = r.stdout.head.split('\n').filter((l) => l.endsWith(' -')).map((l) => l.split(' ')[0]);
    checks.push({
      name: 'python stack',
      ok: r.status === 'succeeded' && missing.length === 0,
      optional: true,
      detail: r.stdout.head.trim().split('\n').join(', ') || r.status,
      fix: `install the missing packages from Debian: sudo apt-get install ${missing.map((m) => `python3-${m}`).join(' ')}`,
    });
  } finally {
    removeCgroupBase(host.plan);
  }
  return checks;
}
