// What this host offers for sandboxing: firejail, the interpreter, the unprivileged user, cgroups.
// Decided once at start-up; anything missing makes `execute` fail closed with the fix to apply.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../core/config.js';
import { detectCgroups, type CgroupPlan } from '../../worker/cgroup.js';
import { scriptPath } from '../core/version.js';
import { NS_TOOLS, profilePath, type SandboxSpec } from '../../worker/firejail-args.js';
import { LEGACY_WORKSPACES, quotaPlan, type QuotaPlan } from './workspaces.js';

export interface HostProblem {
  reason: string;
  fix: string;
}

export interface SandboxHost {
  spec: SandboxSpec;
  plan: CgroupPlan | null;
  user: string;
  /** One directory per project (0700; as root, each one the mount point of its filesystem). */
  workspaceRoot: string;
  /** As root with a quota: the filesystem image of each project's workspace. */
  imageRoot: string;
  quota: QuotaPlan;
  outputRoot: string;
}

interface PasswdEntry {
  uid: number;
  gid: number;
  home: string;
}

function lookupUser(name: string): PasswdEntry | undefined {
  try {
    for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[0] === name && f.length >= 7) return { uid: Number(f[2]), gid: Number(f[3]), home: f[5] };
    }
  } catch {
    /* no /etc/passwd: treated as "user missing" */
  }
  return undefined;
}

/** Whether this user can run the file. */
export function executable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Sockets under /run that the sandbox must not reach (blacklisting /run itself breaks firejail). */
function runSockets(): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.name === 'firejail') continue;
      if (e.isSocket()) out.push(p);
      else if (e.isDirectory() && depth < 3) walk(p, depth + 1);
    }
  };
  walk('/run', 0);
  return out;
}

/** Processes of a uid right now (RLIMIT_NPROC counts them all, not just one sandbox's). */
function processesOf(uid: number): number {
  let n = 0;
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (fs.statSync(`/proc/${name}`).uid === uid) n++;
    } catch {
      /* exited */
    }
  }
  return n;
}

function nprocLimit(config: Config, root: boolean, cgroup: boolean): number {
  // Each waiting or running sandbox holds about three processes of the sandbox user.
  const sandboxes = config.workerMax * (config.sandboxWarm * 2 + 1) + 2;
  if (!root) return processesOf(process.getuid?.() ?? 0) + config.maxProcesses + sandboxes * 3;
  return (cgroup ? config.maxProcesses * 4 : config.maxProcesses) + sandboxes * 3;
}

/**
 * An empty directory every root sandbox binds its own workspace onto, in a mount namespace of
 * its own, for firejail to mount as home. It has to be on a path the sandbox user can walk
 * (firejail resolves it as that user), and outside /var/lib, which firejail mounts read-only.
 */
export const SANDBOX_STUB = '/run/brain-sandbox/home';

const SETUP = `run \`sudo ${scriptPath('setup-sandbox.sh')}\` (it creates the sandbox user), then restart brain`;

/** Paths the sandbox must never see, whatever the configuration puts where. */
export function hiddenPaths(config: Config, sandboxHome: string): string[] {
  const db = path.resolve(config.dbPath);
  const candidates = [
    path.dirname(db),
    db,
    `${db}-wal`,
    `${db}-shm`,
    path.resolve(config.notesPath),
    path.resolve(config.logPath),
    path.resolve(config.backupPath),
    path.resolve(config.socketPath),
    path.dirname(path.resolve(config.socketPath)),
    path.resolve(config.executionPath),
    LEGACY_WORKSPACES,
    '/run/user',
    ...runSockets(),
  ];
  // As root, the server's own home (secrets, keys) is hidden too. As a normal user the sandbox's
  // home *is* that path, with the workspace mounted over it, so it must stay.
  const home = process.env.HOME;
  if (process.getuid?.() === 0 && home && home !== '/' && home !== sandboxHome) candidates.push(path.resolve(home));
  return [...new Set(candidates)].filter((p) => p !== '/' && p !== sandboxHome && fs.existsSync(p));
}

/** Checks what the sandbox needs; returns the settings or the first problem with its fix. */
export function detectHost(config: Config): SandboxHost | HostProblem {
  if (process.platform !== 'linux') {
    return { reason: `code execution needs Linux with firejail; this host is ${process.platform}`, fix: 'run brain on Linux for execute; memory and notes work here' };
  }
  if (!executable(config.firejailPath)) {
    return { reason: `firejail is not installed (${config.firejailPath} not found)`, fix: 'install it (`sudo apt-get install firejail`) or set BRAIN_FIREJAIL_PATH, then restart brain' };
  }
  if (!executable(config.sandboxPython)) {
    return { reason: `${config.sandboxPython} not found`, fix: 'install Python 3 (`sudo apt-get install python3`) or set BRAIN_SANDBOX_PYTHON' };
  }
  const root = process.getuid?.() === 0;
  let uid: number | undefined;
  let gid: number | undefined;
  let home: string;
  let user: string;
  if (root) {
    user = config.sandboxUser;
    const entry = lookupUser(user);
    if (!entry) return { reason: `brain runs as root and the sandbox user "${user}" does not exist`, fix: SETUP };
    if (entry.uid === 0) return { reason: `the sandbox user "${user}" has uid 0`, fix: 'set BRAIN_SANDBOX_USER to an unprivileged user' };
    let owned = false;
    try {
      owned = fs.statSync(entry.home).uid === entry.uid;
    } catch {
      owned = false;
    }
    if (!owned) return { reason: `the home directory ${entry.home} of "${user}" is missing or not owned by it (firejail mounts the workspace there)`, fix: SETUP };
    ({ uid, gid, home } = entry);
  } else {
    const me = lookupUser(process.env.USER ?? '') ?? { uid: process.getuid?.() ?? -1, gid: process.getgid?.() ?? -1, home: process.env.HOME ?? '' };
    user = process.env.USER ?? String(me.uid);
    home = me.home || process.env.HOME || '';
    if (!home || !fs.existsSync(home)) return { reason: 'the home directory of the user running brain does not exist (firejail mounts the workspace there)', fix: 'set HOME to an existing directory owned by this user' };
  }
  const usersFile = '/etc/firejail/firejail.users';
  if (fs.existsSync(usersFile)) {
    const listed = fs.readFileSync(usersFile, 'utf8').split('\n').map((l) => l.trim());
    if (!listed.includes(user)) return { reason: `${usersFile} exists and does not list "${user}", so firejail refuses it`, fix: root ? SETUP : `add ${user} to ${usersFile}` };
  }
  const outputRoot = path.join(path.resolve(config.executionPath), 'outputs');
  const plan = root && config.sandboxCgroup === 'auto' ? detectCgroups() : null;
  const memoryBytes = config.maxMemoryMb * 1024 * 1024;
  const spec: SandboxSpec = {
    firejail: config.firejailPath,
    profile: profilePath(),
    python: config.sandboxPython,
    uid,
    gid,
    home,
    hidden: hiddenPaths(config, home),
    memoryBytes,
    pids: config.maxProcesses,
    nproc: nprocLimit(config, root, plan !== null),
    cpuSeconds: Math.ceil(config.maxExecutionTimeMs / 1000) + 1,
    fileBytes: config.maxFileBytes,
    rlimitAs: plan === null,
  };
  const executions = path.resolve(config.executionPath);
  const workspaceRoot = path.join(executions, 'workspaces');
  const imageRoot = path.join(executions, 'workspace-images');
  try {
    fs.mkdirSync(executions, { recursive: true, mode: 0o755 });
    // Only root (or, without root, the one user) may enter: as root, no sandbox user has a path
    // to any workspace here; its own is bound into its mount namespace (SANDBOX_STUB).
    fs.mkdirSync(workspaceRoot, { recursive: true, mode: 0o700 });
    fs.chmodSync(workspaceRoot, 0o700);
  } catch (err) {
    return { reason: `cannot create the workspaces in ${executions}: ${(err as Error).message}`, fix: 'set BRAIN_EXECUTION_PATH to a writable directory' };
  }
  if (root) {
    const missing = Object.values(NS_TOOLS).filter((t) => !executable(t));
    if (missing.length) return { reason: `${missing.join(', ')} not found (brain as root starts each sandbox in a mount namespace of its own)`, fix: 'install util-linux (`sudo apt-get install util-linux`), then restart brain' };
    try {
      fs.mkdirSync(SANDBOX_STUB, { recursive: true, mode: 0o755 });
      fs.chmodSync(path.dirname(SANDBOX_STUB), 0o755);
      fs.chmodSync(SANDBOX_STUB, 0o755);
      spec.profile = sandboxReadableProfile(spec.profile);
    } catch (err) {
      return { reason: `cannot create ${SANDBOX_STUB} or the profile beside it: ${(err as Error).message}`, fix: 'check that /run is writable for root' };
    }
    spec.stub = SANDBOX_STUB;
  }
  return { spec, plan, user, workspaceRoot, imageRoot, quota: quotaPlan(config, root), outputRoot };
}

/**
 * firejail reads its profile as the sandbox user. brain installed where that user cannot look (an
 * npm prefix under /root or another 0700 folder) would leave every sandbox failing with
 * "inaccessible profile file", so root sandboxes read a copy in /run/brain-sandbox (mode 0644),
 * named by its content so brains of different versions on one host each read their own.
 */
function sandboxReadableProfile(source: string): string {
  const text = fs.readFileSync(source);
  const digest = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const copy = path.join(path.dirname(SANDBOX_STUB), `brain-sandbox.${digest}.profile`);
  if (!fs.existsSync(copy)) {
    // Atomically: another brain may be starting a sandbox with it right now.
    const tmp = `${copy}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text, { mode: 0o644 });
    fs.chmodSync(tmp, 0o644);
    fs.renameSync(tmp, copy);
  }
  return copy;
}

export function isProblem(x: SandboxHost | HostProblem): x is HostProblem {
  return (x as HostProblem).reason !== undefined;
}

/** How each limit is enforced on this host, for `brain doctor` and the logs. */
export function mechanisms(host: SandboxHost, config: Config): Record<string, string> {
  const cg = host.plan ? `cgroup v${host.plan.version}` : null;
  return {
    memory: cg
      ? `${config.maxMemoryMb} MB by ${cg} memory${host.plan!.version === 1 && !host.plan!.memsw ? ' (no swap accounting)' : ' (swap included)'}; /tmp (tmpfs) pages count`
      : `${config.maxMemoryMb} MB approximated by RLIMIT_AS (${config.maxMemoryMb * 2 + 256} MB of address space per process); /tmp (tmpfs) writes are NOT counted (no cgroup: run brain as root with cgroup v1 or v2)`,
    processes: `${config.maxProcesses} by ${cg ? `${cg} pids + ` : ''}RLIMIT_NPROC`,
    cpu: `${host.spec.cpuSeconds} s per process by RLIMIT_CPU`,
    wall_time: `${config.maxExecutionTimeMs} ms (or timeout_ms) by brain killing the sandbox's PID namespace${cg ? ` and ${cg}` : ''}`,
    file_size: `${Math.round(config.maxFileBytes / 1048576)} MB per file by RLIMIT_FSIZE`,
    output: `${(config.maxOutputBytes / 1048576).toFixed(2)} MB stdout+stderr by brain's capture (the sandbox is killed past it)`,
    network: 'none (firejail --net=none: a new network namespace with only loopback)',
    filesystem: host.spec.stub
      ? "its own workspace as home, bound into a mount namespace of its own (every workspace sits in a directory only root enters, so no other brain's or project's is reachable); private /tmp and /dev, minimal /etc; brain data, notes, logs, sockets hidden"
      : `workspace as home, private /tmp and /dev, minimal /etc; brain data, notes, logs, sockets hidden; runs as ${host.user}, so it reads what ${host.user} can read outside brain's paths (run brain as root for a sandbox user of its own)`,
    workspace_quota: quotaText(host.quota),
    privileges: `${process.getuid?.() === 0 ? `user ${host.user} (uid ${host.spec.uid}), ` : ''}no capabilities, no new privileges, seccomp, no root in the sandbox`,
  };
}

function quotaText(q: QuotaPlan): string {
  const limits = `${Math.round(q.bytes / 1048576)} MB and ${q.files} files per project workspace`;
  if (q.how === 'filesystem') return `${limits} by an ext4 filesystem per workspace (a loop device; space reserved when the project first runs code; the kernel refuses writes past it and brain stops the program)`;
  if (q.how === 'walk') return `${limits} checked by brain while code runs (every 0.1 s or more, spaced by what a walk costs), which stops the program past it; writes between two checks get through (${q.why})`;
  return `none (${q.why}): a workspace can grow until the disk is full`;
}
