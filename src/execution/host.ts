// What this host offers for sandboxing: firejail, the interpreter, the unprivileged user, cgroups.
// Decided once at start-up; anything missing makes `execute` fail closed with the fix to apply.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../core/config.js';
import { detectCgroups, type CgroupPlan } from '../../worker/cgroup.js';
import { profilePath, type SandboxSpec } from '../../worker/firejail-args.js';

export interface HostProblem {
  reason: string;
  fix: string;
}

export interface SandboxHost {
  spec: SandboxSpec;
  plan: CgroupPlan | null;
  user: string;
  workspaceRoot: string;
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

function executable(file: string): boolean {
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

/** Whether `uid` can reach `dir` (every ancestor searchable for it). */
export function traversableBy(dir: string, uid: number, gid: number): boolean {
  let p = path.resolve(dir);
  const chain: string[] = [];
  while (true) {
    chain.push(p);
    const parent = path.dirname(p);
    if (parent === p) break;
    p = parent;
  }
  for (const d of chain) {
    let st: fs.Stats;
    try {
      st = fs.statSync(d);
    } catch {
      continue; // not created yet: brain creates it with mode 0755
    }
    const ok = st.mode & 0o001 || (st.uid === uid && st.mode & 0o100) || (st.gid === gid && st.mode & 0o010);
    if (!ok) return false;
  }
  return true;
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

export const FALLBACK_WORKSPACES = '/srv/brain-workspaces';

const SETUP = 'run `sudo scripts/setup-sandbox.sh` from the brain package (it creates the sandbox user), then restart brain';

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
  // Created here with mode 0755 so that whatever creates it later (the outputs directory is
  // 0700) does not decide whether the sandbox user can reach the workspaces.
  try {
    fs.mkdirSync(path.resolve(config.executionPath), { recursive: true, mode: 0o755 });
  } catch (err) {
    return { reason: `cannot create ${config.executionPath}: ${(err as Error).message}`, fix: 'set BRAIN_EXECUTION_PATH to a writable directory' };
  }
  let workspaceRoot = path.join(path.resolve(config.executionPath), 'workspaces');
  // firejail resolves the workspace path as the sandbox user, so every directory above it must be
  // traversable by that user. When it is not (root's XDG default under /root, a 0700 temp dir),
  // workspaces live under /srv/brain-workspaces instead (mode 0711: reachable, not listable),
  // one folder per brain data directory. Not inside the sandbox user's home: firejail cannot
  // mount a directory over its own ancestor, and it mounts /var/lib read-only.
  if (root && !traversableBy(path.resolve(config.executionPath), uid!, gid!)) {
    const tag = createHash('sha256').update(path.resolve(config.executionPath)).digest('hex').slice(0, 16);
    workspaceRoot = path.join(FALLBACK_WORKSPACES, tag);
    try {
      fs.mkdirSync(workspaceRoot, { recursive: true, mode: 0o711 });
      fs.chmodSync(FALLBACK_WORKSPACES, 0o711);
      fs.chmodSync(workspaceRoot, 0o711);
      // Written aside and renamed: another brain on the same data directory reads it meanwhile, and
      // a truncated file in between would read as no owner.
      const owner = path.join(workspaceRoot, `${OWNER_FILE}.${process.pid}`);
      fs.writeFileSync(owner, path.resolve(config.executionPath), { mode: 0o600 });
      fs.renameSync(owner, path.join(workspaceRoot, OWNER_FILE));
    } catch (err) {
      return { reason: `cannot create ${workspaceRoot}: ${(err as Error).message}`, fix: 'set BRAIN_EXECUTION_PATH to a directory the sandbox user can reach (e.g. /opt/brain/executions with mode 0755 parents)' };
    }
    removeOrphanWorkspaces(workspaceRoot);
    spec.hidden.push(FALLBACK_WORKSPACES);
  }
  return { spec, plan, user, workspaceRoot, outputRoot };
}

/** In each folder under FALLBACK_WORKSPACES: the BRAIN_EXECUTION_PATH it belongs to. */
const OWNER_FILE = '.owner';

/**
 * Removes the fallback workspace folders of brain data directories that no longer exist (a
 * temporary directory deleted, a data directory moved), so they do not pile up. A folder without
 * an owner file (made by an older brain) is left alone: nothing says whose it is.
 */
export function removeOrphanWorkspaces(keep: string): number {
  let removed = 0;
  for (const name of fs.readdirSync(FALLBACK_WORKSPACES)) {
    const dir = path.join(FALLBACK_WORKSPACES, name);
    if (dir === keep) continue;
    let owner: string;
    try {
      owner = fs.readFileSync(path.join(dir, OWNER_FILE), 'utf8');
    } catch {
      continue;
    }
    if (!path.isAbsolute(owner) || fs.existsSync(owner)) continue;
    try {
      fs.rmSync(dir, { recursive: true, force: true });
      removed++;
    } catch {
      // Another brain removing it at the same moment, or a file in use: the next start retries.
    }
  }
  return removed;
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
    filesystem: 'workspace as home, private /tmp and /dev, minimal /etc; brain data, notes, logs, sockets hidden',
    privileges: `${process.getuid?.() === 0 ? `user ${host.user} (uid ${host.spec.uid}), ` : ''}no capabilities, no new privileges, seccomp, no root in the sandbox`,
  };
}

/** The workspace directory of a project ('' = global), created on first use and owned by the sandbox user. */
export function ensureWorkspace(host: SandboxHost, project: string): string {
  const dir = path.join(host.workspaceRoot, project === '' ? '_global' : project);
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(host.workspaceRoot, { recursive: true, mode: 0o755 });
    fs.mkdirSync(dir, { mode: 0o755 });
    if (host.spec.uid !== undefined) fs.chownSync(dir, host.spec.uid, host.spec.gid!);
  }
  const st = fs.lstatSync(dir);
  if (!st.isDirectory()) throw new Error(`the workspace ${dir} is not a directory; remove it`);
  return dir;
}
