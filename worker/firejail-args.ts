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
  /**
   * Root only: the sandbox starts in a mount namespace of its own in which its workspace is bound
   * onto this empty directory, and firejail mounts that as home. Workspaces themselves sit in
   * directories only root can enter, so no sandbox has a path to any workspace but its own.
   */
  stub?: string;
  /** Root with workspace filesystems: a process whose mount namespace has them mounted. */
  holder?: number;
}

/** util-linux programs that start a sandbox in its own mount namespace (root only). */
/**
 * nsenter's arguments (before the command) for running in the holder's mount namespace. Entering a
 * mount namespace resets the root to the namespace's own, which is not brain's when brain runs
 * chrooted (a chroot keeps its namespace): `--root` takes the holder's root (the same directory as
 * brain's), so paths mean the same on both sides.
 */
export function enterHolder(pid: number): string[] {
  return [`--mount=/proc/${pid}/ns/mnt`, `--root=/proc/${pid}/root`, '--'];
}

export const NS_TOOLS = { nsenter: '/usr/bin/nsenter', unshare: '/usr/bin/unshare', setpriv: '/usr/bin/setpriv', mount: '/usr/bin/mount', sh: '/bin/sh' };

/**
 * Runs in the new mount namespace as root: binds the workspace onto the stub, then starts firejail
 * ("$@") through setpriv with the sandbox user as its real uid and gid and root still effective:
 * the state a setuid firejail starts in, reached without executing a setuid binary, so it works
 * under no-new-privileges (systemd's NoNewPrivileges=, and what every seccomp setting implies).
 * firejail runs the program as the real uid. Arguments, never interpolation: paths stay data.
 */
const BIND_AND_START = '"$1" --bind -- "$2" "$3" </dev/null || exit 125; shift 3; exec "$@"';

export interface SandboxCommand {
  file: string;
  args: string[];
  /** Drop to these before exec (brain as root without a stub mount: never used together with stub). */
  uid?: number;
  gid?: number;
}

/** The process brain spawns for one sandbox. */
export function sandboxCommand(spec: SandboxSpec, workspace: string): SandboxCommand {
  if (!spec.stub) return { file: spec.firejail, args: firejailArgs(spec, workspace), uid: spec.uid, gid: spec.gid };
  const start = [
    NS_TOOLS.unshare, '--mount', '--propagation', 'private', '--',
    NS_TOOLS.sh, '-c', BIND_AND_START, 'brain-sandbox', NS_TOOLS.mount, workspace, spec.stub,
    NS_TOOLS.setpriv, `--ruid=${spec.uid}`, `--rgid=${spec.gid}`, '--clear-groups', '--',
    spec.firejail, ...firejailArgs(spec, spec.stub),
  ];
  if (spec.holder === undefined) return { file: start[0], args: start.slice(1) };
  return { file: NS_TOOLS.nsenter, args: [...enterHolder(spec.holder), ...start] };
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
    // The stub shows the workspace a second time; home is the one place it belongs.
    ...(spec.stub ? [`--blacklist=${spec.stub}`] : []),
    '--env=PATH=/usr/bin:/bin',
    '--env=LANG=C.UTF-8',
    `--env=HOME=${spec.home}`,
    '--env=MPLBACKEND=Agg',
    '--env=MPLCONFIGDIR=/tmp/.matplotlib',
    // Caches (fontconfig's among them) go to the private /tmp, not into the workspace.
    '--env=XDG_CACHE_HOME=/tmp/.cache',
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
