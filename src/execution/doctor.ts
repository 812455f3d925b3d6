// The sandbox section of `brain doctor`: is execution available, did the canaries stay inside,
// which mechanism enforces each limit here, and is the scientific stack usable.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../core/config.js';
import { scriptPath } from '../core/version.js';
import type { Check } from '../doctor.js';
import { removeCgroupBase } from '../../worker/cgroup.js';
import { Sandbox, type RunResult } from '../../worker/sandbox-process.js';
import { detectHost, executable, isProblem, mechanisms, type SandboxHost } from './host.js';
import { canaryProgram, judgeCanary } from './self-test.js';
import { openWorkspaces, type Workspaces } from './workspaces.js';

async function runOnce(host: SandboxHost, workspaces: Workspaces, code: string): Promise<RunResult> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'brain-doctor-'));
  const sandbox = new Sandbox({ ...host.spec, holder: workspaces.holder() }, (await workspaces.ensure('')).path, host.plan);
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

/**
 * On a host where execute cannot run: every system package it needs, which are there and which
 * are not, and one command that installs the missing ones. Memory, notes, projects, events and
 * clusters need none of them (an npm install of brain brings everything they use).
 */
export function sandboxPackages(config: Config): Check {
  const name = 'execute needs';
  if (process.platform !== 'linux') {
    return {
      name,
      ok: false,
      optional: true,
      detail: `Linux with firejail (Debian/Ubuntu packages firejail python3 python3-numpy python3-pandas python3-matplotlib); this host is ${process.platform}: everything but execute works here`,
      fix: 'run brain on a Linux host (or a Linux VM) for execute',
    };
  }
  const wanted: { pkg: string; there: boolean; optional?: boolean }[] = [
    { pkg: 'firejail', there: executable(config.firejailPath) },
    { pkg: 'python3', there: executable(config.sandboxPython) },
  ];
  const python = executable(config.sandboxPython);
  for (const m of ['numpy', 'pandas', 'matplotlib']) {
    // Only an import by the interpreter the sandbox would use; no user code runs outside a sandbox.
    const there = python && spawnSync(config.sandboxPython, ['-c', `import ${m}`], { stdio: 'ignore', timeout: 30_000 }).status === 0;
    wanted.push({ pkg: `python3-${m}`, there, optional: true });
  }
  if (process.getuid?.() === 0) {
    wanted.push({ pkg: 'util-linux', there: ['/usr/bin/unshare', '/usr/bin/nsenter'].every(executable) });
    wanted.push({ pkg: 'e2fsprogs', there: ['/usr/sbin/mkfs.ext4', '/sbin/mkfs.ext4'].some(executable), optional: true });
  }
  const missing = wanted.filter((w) => !w.there).map((w) => w.pkg);
  return {
    name,
    ok: missing.length === 0,
    optional: true,
    detail: wanted.map((w) => `${w.pkg} ${w.there ? 'installed' : w.optional ? 'missing (optional)' : 'MISSING'}`).join(', ') + '; everything but execute works without them',
    fix: missing.length ? `sudo apt-get install ${missing.join(' ')} (Debian/Ubuntu), then restart brain` : undefined,
  };
}

export async function sandboxChecks(config: Config): Promise<Check[]> {
  const host = detectHost(config);
  if (isProblem(host)) return [{ name: 'sandbox', ok: false, detail: `execute is unavailable: ${host.reason}`, fix: host.fix, disables: 'execute' }, sandboxPackages(config)];
  const checks: Check[] = [];
  const workspaces = openWorkspaces(host, config);
  try {
    return await sandboxRuns(config, host, workspaces, checks);
  } catch (err) {
    return [...checks, { name: 'sandbox', ok: false, detail: `a sandbox could not start: ${(err as Error).message}`, fix: `run \`sudo ${scriptPath('setup-sandbox.sh')}\` and check \`firejail --version\``, disables: 'execute' }];
  } finally {
    workspaces.close();
    removeCgroupBase(host.plan);
  }
}

async function sandboxRuns(config: Config, host: SandboxHost, workspaces: Workspaces, checks: Check[]): Promise<Check[]> {
  const canary = await runOnce(host, workspaces, canaryProgram(path.resolve(config.dbPath)));
  const report = canary.status === 'succeeded' ? judgeCanary(canary.stdout.head, host, process.env) : { passed: [], failed: [`canary program ${canary.status}: ${canary.stderr.head.slice(0, 300)}`] };
  checks.push({
    name: 'sandbox',
    ok: report.failed.length === 0,
    detail: report.failed.length
      ? `execute is disabled: ${report.failed.join('; ')}`
      : `firejail as ${host.user}; ${report.passed.length} canary attacks contained (${report.passed.join(', ')}); workspaces in ${host.workspaceRoot}`,
    fix: `check that firejail works (\`firejail --version\`), run \`sudo ${scriptPath('setup-sandbox.sh')}\`, then brain doctor again`,
    disables: 'execute',
  });
  if (report.failed.length) return checks;
  for (const [limit, how] of Object.entries(mechanisms(host, config))) {
    const weakMemory = limit === 'memory' && !host.plan;
    const weakQuota = limit === 'workspace_quota' && host.quota.how !== 'filesystem';
    const fix = weakMemory
      ? 'run brain as root (cgroup v1) or give it a delegated cgroup v2 subtree so memory limits count /tmp too'
      : weakQuota
        ? host.quota.how === 'none'
          ? 'set BRAIN_WORKSPACE_QUOTA_MB to the most one project may keep'
          : 'run brain as root (a filesystem per workspace), or put BRAIN_EXECUTION_PATH on a filesystem of its own so a full workspace cannot fill the disk brain writes to'
        : undefined;
    checks.push({ name: `sandbox ${limit.replaceAll('_', ' ')}`, ok: !weakMemory && !weakQuota, optional: true, detail: how, fix });
  }
  const stack = await runOnce(host, workspaces, STACK);
  const missing = stack.stdout.head.split('\n').filter((l) => l.endsWith(' -')).map((l) => l.split(' ')[0]);
  checks.push({
    name: 'python stack',
    ok: stack.status === 'succeeded' && missing.length === 0,
    optional: true,
    detail: stack.stdout.head.trim().split('\n').join(', ') || stack.status,
    fix: `install the missing packages from Debian: sudo apt-get install ${missing.map((m) => `python3-${m}`).join(' ')}`,
  });
  return checks;
}
