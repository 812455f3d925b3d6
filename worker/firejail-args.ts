// The firejail command line of one sandbox. Kept in one place so that the worker, the self-test
// and `brain doctor` describe the same sandbox.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BOOT_PY } from './runner-py.js';

export interface SandboxSpec {
  firejail: string;
  /** deployment/brain-sandbox.profile */
  profile: string;
  python: string;
  /** Drop to this uid/gid before starting firejail (brain running as root). */
  uid?: number;
  gid?: number;
  /** The sandbox user's home; the workspace is mounted there. */
  home: string;
  /** Host paths the sandbox must not see (brain's data, notes, logs, sockets, ...). */
  hidden: string[];
  memoryBytes: number;
  /** Processes per sandbox (cgroup pids.max). */
  pids: number;
  /** RLIMIT_NPROC: counted per user, so it also covers the other sandboxes waiting. */
  nproc: number;
  cpuSeconds: number;
  fileBytes: number;
  /** Address-space rlimit: the memory limit when no cgroup can hold it. */
  rlimitAs: boolean;
}

/** deployment/brain-sandbox.profile: the options that do not depend on configuration. */
export function profilePath(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, 'deployment', 'brain-sandbox.profile');
    if (fs.existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('deployment/brain-sandbox.profile not found next to the brain package');
}

export function firejailArgs(spec: SandboxSpec, workspace: string): string[] {
  const args = [
    `--profile=${spec.profile}`,
    `--private=${workspace}`,
    // Only the three pipes and the control socket reach the sandbox.
    '--keep-fd=3',
    `--rlimit-nproc=${spec.nproc}`,
    `--rlimit-fsize=${spec.fileBytes}`,
    `--rlimit-cpu=${spec.cpuSeconds}`,
    '--rlimit-nofile=512',
    // Address space is not memory use (numpy maps far more than it touches), so the fallback
    // limit leaves room above the configured memory.
    ...(spec.rlimitAs ? [`--rlimit-as=${spec.memoryBytes * 2 + 256 * 1024 * 1024}`] : []),
    ...spec.hidden.map((p) => `--blacklist=${p}`),
    '--env=PATH=/usr/bin:/bin',
    '--env=LANG=C.UTF-8',
    `--env=HOME=${spec.home}`,
    '--env=MPLBACKEND=Agg',
    '--env=MPLCONFIGDIR=/tmp/.matplotlib',
    '--env=PYTHONDONTWRITEBYTECODE=1',
    '--env=OPENBLAS_NUM_THREADS=1',
    // No "--" before the program: firejail 0.9.72 then fails to start it. The program and its
    // arguments are fixed here, never user input.
    spec.python,
    '-I',
    '-c',
    BOOT_PY,
  ];
  return args;
}
