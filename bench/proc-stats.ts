// What a running process holds, read from /proc (Linux): resident memory, open file descriptors,
// and its descendants (sandboxes: firejail, python3, the namespace holder) with their commands.
import fs from 'node:fs';

export interface ProcSample {
  rssKb: number;
  /** The part of RSS that is file pages (SQLite maps the database: it grows with the file, and the kernel takes it back when short). */
  rssFileKb: number;
  fds: number;
  /** pid -> command name of every process below the watched one. */
  children: Map<number, string>;
}

function statusField(text: string, field: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${field}:`));
  return line ? Number(line.split(/\s+/)[1]) : NaN;
}

/** pid -> [parent pid, command name, start time] of every process on the host (the ones that vanish while read are skipped). */
function processTable(): Map<number, [number, string, string]> {
  const out = new Map<number, [number, string, string]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command sits in parentheses and may itself contain spaces or parentheses.
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const rest = stat.slice(close + 2).split(' ');
      // rest[0] is field 3 of stat(5), the state; the parent is field 4, the start time field 22.
      // A zombie (state Z) has exited and holds nothing but its pid until its parent reaps it.
      out.set(Number(entry), [Number(rest[1]), rest[0] === 'Z' ? `${comm} (exited, not reaped)` : comm, rest[19]]);
    } catch {
      // exited between readdir and read
    }
  }
  return out;
}

/** pid -> command name of every process below `pid`. */
export function descendants(pid: number): Map<number, string> {
  return new Map([...descendantsWithStart(pid)].map(([p, [comm]]) => [p, comm]));
}

/** pid -> [command name, start time]: a pid and its start time name one process, even after the pid is reused. */
function descendantsWithStart(pid: number): Map<number, [string, string]> {
  const table = processTable();
  const kids = new Map<number, number[]>();
  for (const [p, [ppid]] of table) kids.set(ppid, [...(kids.get(ppid) ?? []), p]);
  const out = new Map<number, [string, string]>();
  const stack = [...(kids.get(pid) ?? [])];
  while (stack.length) {
    const p = stack.pop()!;
    const row = table.get(p);
    out.set(p, [row?.[1] ?? '?', row?.[2] ?? '?']);
    stack.push(...(kids.get(p) ?? []));
  }
  return out;
}

export function sample(pid: number): ProcSample {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rssKb: statusField(status, 'VmRSS'), rssFileKb: statusField(status, 'RssFile') + statusField(status, 'RssShmem'), fds: fs.readdirSync(`/proc/${pid}/fd`).length, children: descendants(pid) };
}

/** "firejail 2, python3 2, sleep 1" */
export function describeChildren(children: Map<number, string>): string {
  const counts = new Map<string, number>();
  for (const comm of children.values()) counts.set(comm, (counts.get(comm) ?? 0) + 1);
  return [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([c, n]) => `${c} ${n}`).join(', ') || 'none';
}

/** A process seen below the watched one: pid, command name, start time. */
export interface SeenProcess {
  pid: number;
  comm: string;
  start: string;
}

/**
 * The ones of `seen` still running (same pid and start time), wherever they are in the tree now.
 * Zombies are left out: once their parent has exited they belong to init, and a container's init
 * may take seconds to reap them (2 s measured under process_api), which says nothing about brain.
 */
export function stillAlive(seen: Iterable<SeenProcess>): SeenProcess[] {
  const table = processTable();
  return [...seen].filter((s) => {
    const row = table.get(s.pid);
    return row?.[2] === s.start && !row[1].endsWith('(exited, not reaped)');
  });
}

/**
 * Every process that was below `pid` at any sample, sampled every `everyMs` (a sandbox lives for
 * 100 ms or more, so 250 ms samples see most of them) until stopped.
 */
export function watchDescendants(pid: number, everyMs = 250): { seen: Map<string, SeenProcess>; stop(): void } {
  const seen = new Map<string, SeenProcess>();
  const tick = () => {
    for (const [p, [comm, start]] of descendantsWithStart(pid)) seen.set(`${p}:${start}`, { pid: p, comm, start });
  };
  tick();
  const timer = setInterval(tick, everyMs);
  return { seen, stop: () => clearInterval(timer) };
}
