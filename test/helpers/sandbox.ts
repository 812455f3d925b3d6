// Helpers for the sandbox tests: they run real firejail sandboxes and must never skip silently.
import fs from 'node:fs';

export const SANDBOX_USER = 'brain-sandbox';

/** Small limits so bombs finish fast on a loaded CI machine. */
export const SANDBOX_LIMITS = {
  BRAIN_MAX_EXECUTION_TIME_MS: '4000',
  BRAIN_MAX_MEMORY_MB: '128',
  BRAIN_MAX_OUTPUT_SIZE_MB: '1',
  BRAIN_MAX_PROCESSES: '32',
  BRAIN_MAX_FILE_SIZE_MB: '32',
  BRAIN_WORKER_MAX: '2',
  BRAIN_SANDBOX_WARM: '1',
  // As root each project's workspace is a preallocated filesystem of this size.
  BRAIN_WORKSPACE_QUOTA_MB: '64',
};

function uidOf(user: string): number | undefined {
  for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === user) return Number(f[2]);
  }
  return undefined;
}

/** The uid sandboxed code runs as (the sandbox user when the tests run as root). */
export function sandboxUid(): number {
  if (process.getuid?.() !== 0) return process.getuid!();
  const uid = uidOf(SANDBOX_USER);
  if (uid === undefined) throw new Error(`the sandbox user ${SANDBOX_USER} does not exist: run scripts/setup-sandbox.sh as root (.ci/run does)`);
  return uid;
}

/** pids of live processes owned by a uid (the no-orphan checks). */
export function processesOf(uid: number): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = fs.readFileSync(`/proc/${name}/status`, 'utf8');
      const m = /^Uid:\s+(\d+)/m.exec(status);
      if (!m || Number(m[1]) !== uid) continue;
      if (/^State:\s+Z/m.test(status)) continue;
      out.push({ pid: Number(name), cmd: fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ').slice(0, 120) });
    } catch {
      /* exited while we looked */
    }
  }
  return out;
}

/** Polls until `fn` is true or the time is up; returns the last value. */
export async function eventually<T>(fn: () => T, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  let v = fn();
  while (!ok(v) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    v = fn();
  }
  return v;
}

/**
 * Processes that belong to the sandboxes of one brain: firejail names the workspace on its
 * command line, and sandboxed processes see it as the source of their home mount. Other brains
 * (other test files running at the same time) have other workspace roots.
 */
export function sandboxProcesses(workspaceRoot: string): { pid: number; cmd: string }[] {
  return processesOf(sandboxUid()).filter((p) => {
    try {
      if (fs.readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').includes(workspaceRoot)) return true;
      return fs.readFileSync(`/proc/${p.pid}/mountinfo`, 'utf8').includes(workspaceRoot);
    } catch {
      return false;
    }
  });
}

/** What `execute` returns (the fields the tests read). */
export interface Exec {
  execution_id: number;
  status: string;
  exit_code: number | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
  stdout_bytes: number;
  wall_ms: number;
  files: { path: string; size: number; change: string }[];
  images: number;
}
