// Per-sandbox control groups: the memory limit that also counts tmpfs pages, a process cap, CPU
// accounting, and a reliable "kill everything in here". cgroup v2 (root, or a delegated subtree)
// and v1 (root) are supported; when neither can be created the sandbox falls back to rlimits and
// `brain doctor` says so.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface CgroupPlan {
  version: 1 | 2;
  /** v2: the directory under which this brain process makes one child per sandbox. */
  base?: string;
  /** v1: the same, per controller. */
  memory?: string;
  pids?: string;
  cpuacct?: string;
  /** v1: whether memory.memsw (swap accounting) exists, so swap cannot extend the limit. */
  memsw?: boolean;
}

export interface CgroupLimits {
  memoryBytes: number;
  pids: number;
}

export interface CgroupStats {
  cpuMs?: number;
  peakBytes?: number;
  oomKilled: boolean;
}

const ROOT = '/sys/fs/cgroup';

function write(file: string, value: string) {
  fs.writeFileSync(file, value);
}

function readNumber(file: string): number | undefined {
  try {
    const n = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

function ownPaths(): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of fs.readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [, controllers, p] = line.split(':');
    if (p === undefined) continue;
    for (const c of controllers.split(',')) map.set(c, p);
    if (controllers === '') map.set('', p);
  }
  return map;
}

/** Whether a process exists (EPERM: it does, but belongs to another user). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Kills whatever is left in a directory tree of cgroups from a brain process that died, and removes it. */
function sweepStale(parent: string, procsFile: string) {
  let entries: string[] = [];
  try {
    entries = fs.readdirSync(parent).filter((n) => /^brain-\d+$/.test(n));
  } catch {
    return;
  }
  for (const name of entries) {
    if (pidAlive(Number(name.slice(6)))) continue;
    const dir = path.join(parent, name);
    for (const child of safeList(dir)) {
      killProcs(path.join(dir, child, procsFile));
      rmdirRetry(path.join(dir, child));
    }
    rmdirRetry(dir);
  }
}

function safeList(dir: string): string[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
}

function killProcs(procsFile: string): number {
  let pids: number[] = [];
  try {
    pids = fs.readFileSync(procsFile, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return 0;
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  return pids.length;
}

function rmdirRetry(dir: string) {
  try {
    fs.rmdirSync(dir);
  } catch {
    /* still busy or gone; the next start-up sweeps it */
  }
}

function mkdirOwn(dir: string) {
  fs.mkdirSync(dir, { recursive: true });
}

function enable(dir: string, controllers: string[]) {
  for (const c of controllers) {
    try {
      write(path.join(dir, 'cgroup.subtree_control'), `+${c}`);
    } catch (err) {
      if (c !== 'cpu') throw err; // cpu only adds accounting; memory and pids are required
    }
  }
}

/**
 * Proves a plan works end to end before any sandbox relies on it: a child cgroup takes limits and
 * a process. Anything less and the sandbox falls back to rlimits instead of failing at run time.
 */
function probe(dir: string, files: Record<string, string>, procsDirs: string[]): boolean {
  try {
    for (const [file, value] of Object.entries(files)) write(path.join(dir, file), value);
    const child = spawn('/bin/sleep', ['5'], { stdio: 'ignore' });
    try {
      for (const d of procsDirs) write(path.join(d, 'cgroup.procs'), String(child.pid));
      const inside = fs.readFileSync(path.join(procsDirs[0], 'cgroup.procs'), 'utf8').split('\n').includes(String(child.pid));
      return inside;
    } finally {
      child.kill('SIGKILL');
    }
  } catch {
    return false;
  }
}

/** The leaf brain's own processes move into when it gives sandboxes cgroups inside its own. */
const SERVICE_LEAF = 'brain-main';

function writable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Where sandbox cgroups go. Normally a tree beside the root's children (needs root or write access
 * to the root cgroup): the own cgroup holds processes, so v2's "no internal processes" rule forbids
 * enabling controllers for children there. Under systemd's ProtectControlGroups= the tree is
 * read-only but for what the unit made writable: deployment/brain.service makes its own
 * delegated cgroup writable (Delegate=yes), and sandboxes go there, where the unit's MemoryMax=
 * and TasksMax= count them too. brain's own processes first move into a leaf of it, which is
 * what lets the cgroup enable controllers for the sandboxes' cgroups.
 */
function v2Parent(): string | null {
  if (writable(path.join(ROOT, 'cgroup.subtree_control'))) return ROOT;
  const own = ownPaths().get('');
  if (!own || own === '/') return null;
  const unit = path.join(ROOT, path.basename(own) === SERVICE_LEAF ? path.dirname(own) : own);
  if (!writable(path.join(unit, 'cgroup.subtree_control'))) return null;
  const leaf = path.join(unit, SERVICE_LEAF);
  mkdirOwn(leaf);
  // Every process of the unit moves (brain and whatever it started so far); a fork racing with
  // the move lands in the unit's cgroup, so go round until it is empty.
  for (let round = 0; round < 10; round++) {
    const pids = fs.readFileSync(path.join(unit, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
    if (pids.length === 0) return unit;
    for (const pid of pids) {
      try {
        write(path.join(leaf, 'cgroup.procs'), pid);
      } catch {
        /* exited meanwhile */
      }
    }
  }
  return null;
}

function tryV2(): CgroupPlan | null {
  if (!fs.existsSync(path.join(ROOT, 'cgroup.controllers'))) return null;
  const parent = v2Parent();
  if (!parent) return null;
  const shared = path.join(parent, 'brain-sandbox');
  const base = path.join(shared, `brain-${process.pid}`);
  try {
    const available = fs.readFileSync(path.join(parent, 'cgroup.controllers'), 'utf8');
    if (!/\bmemory\b/.test(available) || !/\bpids\b/.test(available)) return null;
    const want = ['memory', 'pids', ...(/\bcpu\b/.test(available) ? ['cpu'] : [])];
    enable(parent, want);
    mkdirOwn(shared);
    enable(shared, want);
    sweepStale(shared, 'cgroup.procs');
    mkdirOwn(base);
    enable(base, want);
    const test = path.join(base, 'probe');
    mkdirOwn(test);
    if (!probe(test, { 'memory.max': String(64 * 1024 * 1024), 'pids.max': '16' }, [test])) throw new Error('cgroup v2 probe failed');
    return { version: 2, base };
  } catch {
    removeCgroupBase({ version: 2, base });
    return null;
  }
}

function tryV1(): CgroupPlan | null {
  const own = ownPaths();
  const dirs: Record<string, string> = {};
  for (const c of ['memory', 'pids', 'cpuacct']) {
    const mount = path.join(ROOT, c);
    if (!fs.existsSync(path.join(mount, 'cgroup.procs')) || !own.has(c)) {
      if (c === 'cpuacct') continue;
      return null;
    }
    const parent = path.join(mount, own.get(c)!, 'brain-sandbox');
    try {
      mkdirOwn(parent);
      sweepStale(parent, 'cgroup.procs');
      const dir = path.join(parent, `brain-${process.pid}`);
      mkdirOwn(dir);
      dirs[c] = dir;
    } catch {
      if (c === 'cpuacct') continue;
      return null;
    }
  }
  const plan: CgroupPlan = {
    version: 1,
    memory: dirs.memory,
    pids: dirs.pids,
    cpuacct: dirs.cpuacct,
    memsw: fs.existsSync(path.join(dirs.memory, 'memory.memsw.limit_in_bytes')),
  };
  const mem = path.join(dirs.memory, 'probe');
  const pids = path.join(dirs.pids, 'probe');
  try {
    mkdirOwn(mem);
    mkdirOwn(pids);
    const ok = probe(mem, { 'memory.limit_in_bytes': String(64 * 1024 * 1024) }, [mem, pids]) && probe(pids, { 'pids.max': '16' }, [pids]);
    if (!ok) throw new Error('cgroup v1 probe failed');
  } catch {
    removeCgroupBase(plan);
    return null;
  }
  return plan;
}

/** Finds a way to give each sandbox its own cgroup, or null when only rlimits are available. */
export function detectCgroups(): CgroupPlan | null {
  try {
    return tryV2() ?? tryV1();
  } catch {
    return null;
  }
}

/** Removes this process's cgroup directories (at shutdown, once every sandbox is gone). */
export function removeCgroupBase(plan: CgroupPlan | null) {
  if (!plan) return;
  for (const dir of [plan.base, plan.memory, plan.pids, plan.cpuacct]) {
    if (!dir) continue;
    for (const child of safeList(dir)) {
      killProcs(path.join(dir, child, 'cgroup.procs'));
      rmdirRetry(path.join(dir, child));
    }
    rmdirRetry(dir);
  }
}

/** One sandbox's cgroup(s). */
export class SandboxCgroup {
  private dirs: { memory?: string; pids?: string; cpuacct?: string; unified?: string } = {};

  constructor(private plan: CgroupPlan, name: string, limits: CgroupLimits) {
    if (plan.version === 2) {
      const dir = path.join(plan.base!, name);
      mkdirOwn(dir);
      this.dirs.unified = dir;
      write(path.join(dir, 'memory.max'), String(limits.memoryBytes));
      try {
        write(path.join(dir, 'memory.swap.max'), '0');
      } catch {
        /* no swap accounting: nothing to limit */
      }
      write(path.join(dir, 'pids.max'), String(limits.pids));
      return;
    }
    for (const c of ['memory', 'pids', 'cpuacct'] as const) {
      const parent = plan[c];
      if (!parent) continue;
      const dir = path.join(parent, name);
      mkdirOwn(dir);
      this.dirs[c] = dir;
    }
    const mem = this.dirs.memory!;
    write(path.join(mem, 'memory.limit_in_bytes'), String(limits.memoryBytes));
    if (plan.memsw) write(path.join(mem, 'memory.memsw.limit_in_bytes'), String(limits.memoryBytes));
    write(path.join(this.dirs.pids!, 'pids.max'), String(limits.pids));
  }

  attach(pid: number) {
    for (const dir of Object.values(this.dirs)) if (dir) write(path.join(dir, 'cgroup.procs'), String(pid));
  }

  /** SIGKILLs every process in the cgroup; true when it is empty afterwards. */
  killAll(): boolean {
    const main = this.dirs.unified ?? this.dirs.pids ?? this.dirs.memory!;
    if (this.dirs.unified) {
      try {
        write(path.join(main, 'cgroup.kill'), '1');
      } catch {
        /* kernel without cgroup.kill (< 5.14): signal one by one below */
      }
    }
    for (let i = 0; i < 20; i++) {
      if (killProcs(path.join(main, 'cgroup.procs')) === 0) return true;
    }
    return killProcs(path.join(main, 'cgroup.procs')) === 0;
  }

  isEmpty(): boolean {
    const main = this.dirs.unified ?? this.dirs.pids ?? this.dirs.memory!;
    try {
      return fs.readFileSync(path.join(main, 'cgroup.procs'), 'utf8').trim() === '';
    } catch {
      return true;
    }
  }

  stats(): CgroupStats {
    if (this.dirs.unified) {
      const d = this.dirs.unified;
      let cpuMs: number | undefined;
      let oom = false;
      try {
        const m = /usage_usec (\d+)/.exec(fs.readFileSync(path.join(d, 'cpu.stat'), 'utf8'));
        if (m) cpuMs = Number(m[1]) / 1000;
      } catch {
        /* no cpu.stat */
      }
      try {
        const m = /oom_kill (\d+)/.exec(fs.readFileSync(path.join(d, 'memory.events'), 'utf8'));
        oom = !!m && Number(m[1]) > 0;
      } catch {
        /* no memory.events */
      }
      return { cpuMs, peakBytes: readNumber(path.join(d, 'memory.peak')), oomKilled: oom };
    }
    const mem = this.dirs.memory!;
    let oom = false;
    try {
      const text = fs.readFileSync(path.join(mem, 'memory.oom_control'), 'utf8');
      const m = /oom_kill (\d+)/.exec(text);
      oom = m ? Number(m[1]) > 0 : false;
    } catch {
      /* older kernel */
    }
    const usage = this.dirs.cpuacct ? readNumber(path.join(this.dirs.cpuacct, 'cpuacct.usage')) : undefined;
    return {
      cpuMs: usage === undefined ? undefined : usage / 1e6,
      peakBytes: readNumber(path.join(mem, this.plan.memsw ? 'memory.memsw.max_usage_in_bytes' : 'memory.max_usage_in_bytes')),
      oomKilled: oom,
    };
  }

  /** Kills what is left and removes the directories (retrying while the kernel reaps). */
  async remove(): Promise<void> {
    for (let i = 0; i < 50; i++) {
      this.killAll();
      let left = false;
      for (const dir of Object.values(this.dirs)) {
        if (!dir) continue;
        try {
          fs.rmdirSync(dir);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') left = true;
        }
      }
      if (!left) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
