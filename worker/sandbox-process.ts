// One sandbox: a firejail process started ahead of time, waiting for exactly one program. The
// supervisor applies the cgroup before handing over code, enforces wall time, the output cap and
// the workspace quota by killing the whole sandbox, and captures output into files plus a small
// head and tail. What it reports is its own observation: the status is the process's exit
// status, never something the sandboxed code wrote.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import type { Socket } from 'node:net';
import { SandboxCgroup, type CgroupPlan } from './cgroup.js';
import { sandboxCommand, type SandboxSpec } from './firejail-args.js';
import { pngProblem } from './png.js';
import { RUNNER_PY } from './runner-py.js';
import { QuotaWatcher, type QuotaWatch, type WorkspaceLimit } from './quota-watch.js';

export interface Program {
  code: string;
  language: 'python' | 'bash';
  stdin: string;
  files: { path: string; data: Buffer }[];
}

export interface RunOptions {
  timeoutMs: number;
  maxOutputBytes: number;
  /** Bytes of each stream kept inline at the start and at the end. */
  headBytes: number;
  tailBytes: number;
  stdoutFile: string;
  stderrFile: string;
  maxImageBytes: number;
  signal: { cancelled: boolean; onCancel?: () => void };
  quota?: QuotaWatch;
}

export type Outcome = 'succeeded' | 'failed' | 'timeout' | 'oom' | 'output_truncated' | 'cancelled';

export interface StreamCapture {
  head: string;
  tail: string;
  bytes: number;
  stored: number;
}

export interface RunResult {
  status: Outcome;
  exitCode: number | null;
  signal: string | null;
  wallMs: number;
  cpuMs: number | null;
  maxRssKb: number | null;
  stdout: StreamCapture;
  stderr: StreamCapture;
  images: { data: string; bytes: number }[];
  imagesDropped: number;
  /** The workspace quota the program ran into, if it did. */
  workspaceLimit?: WorkspaceLimit;
}

const READY_TIMEOUT_MS = 20_000;
/**
 * How long firejail may outlive the runner before brain kills the sandbox. The runner kills
 * everything it started before it exits, so firejail normally follows within milliseconds; a
 * sandbox still there after this holds something that escaped, and the run counts as failed.
 */
const LEFTOVER_GRACE_MS = 2000;

/** Keeps the first and the last bytes of a stream without holding the middle. */
class Capture {
  private headChunks: Buffer[] = [];
  private headLen = 0;
  private tailBuf = Buffer.alloc(0);
  bytes = 0;
  stored = 0;
  private out: number;

  constructor(private file: string, private headMax: number, private tailMax: number) {
    this.out = fs.openSync(file, 'w', 0o600);
  }

  push(chunk: Buffer, storeBudget: number): number {
    this.bytes += chunk.length;
    if (this.headLen < this.headMax) {
      const part = chunk.subarray(0, this.headMax - this.headLen);
      this.headChunks.push(part);
      this.headLen += part.length;
    }
    const t = Buffer.concat([this.tailBuf, chunk]);
    this.tailBuf = t.length > this.tailMax ? Buffer.from(t.subarray(t.length - this.tailMax)) : t;
    const keep = Math.max(0, Math.min(chunk.length, storeBudget));
    if (keep > 0) {
      fs.writeSync(this.out, chunk, 0, keep);
      this.stored += keep;
    }
    return keep;
  }

  finish(): StreamCapture {
    fs.closeSync(this.out);
    const head = Buffer.concat(this.headChunks);
    // The tail only adds what the head has not already shown.
    const tailStart = Math.max(0, this.bytes - this.tailBuf.length);
    const tail = tailStart < head.length ? this.tailBuf.subarray(head.length - tailStart) : this.tailBuf;
    return { head: head.toString('utf8'), tail: this.bytes > head.length ? tail.toString('utf8') : '', bytes: this.bytes, stored: this.stored };
  }
}

/** Every descendant of a process, found through /proc (deepest last). */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift()!;
    let kids: number[] = [];
    try {
      kids = fs.readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
    } catch {
      kids = [];
    }
    out.push(...kids);
    queue.push(...kids);
  }
  return out;
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function kill(pid: number) {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

let counter = 0;

export class Sandbox {
  readonly startedAt = Date.now();
  private child: ChildProcess;
  private ctl: Socket;
  private cgroup: SandboxCgroup | null = null;
  private ready: Promise<void>;
  private ctlData: Buffer[] = [];
  private exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private done = false;
  /** pid of firejail's process inside the new PID namespace: killing it ends the whole sandbox. */
  private pidNsInit: number | undefined;
  /** pid of the Python runner (the program itself, for python). */
  private runnerPid: number | undefined;

  constructor(readonly spec: SandboxSpec, readonly workspace: string, private plan: CgroupPlan | null, readonly name = `sbx-${process.pid}-${++counter}-${Date.now().toString(36)}`) {
    const cmd = sandboxCommand(spec, workspace);
    this.child = spawn(cmd.file, cmd.args, {
      // Only the three pipes and the control socket: no other descriptor reaches the sandbox.
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      env: {},
      cwd: '/',
      uid: cmd.uid,
      gid: cmd.gid,
      detached: true,
    });
    this.ctl = this.child.stdio[3] as Socket;
    this.child.stdin!.on('error', () => undefined);
    const runner = Buffer.from(RUNNER_PY);
    this.child.stdin!.write(String(runner.length).padStart(8, '0'));
    this.child.stdin!.write(runner);
    this.ctl.on('error', () => undefined);
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
    this.ready = new Promise<void>((resolve, reject) => {
      let early = '';
      const onErr = (d: Buffer) => (early += d.toString());
      this.child.stderr!.on('data', onErr);
      const timer = setTimeout(() => reject(new Error(`sandbox did not start within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
      const onData = (d: Buffer) => {
        this.ctlData.push(d);
        if (Buffer.concat(this.ctlData).includes('ready\n')) {
          clearTimeout(timer);
          this.ctl.off('data', onData);
          this.child.stderr!.off('data', onErr);
          this.ctlData = [];
          try {
            this.confine();
            resolve();
          } catch (err) {
            reject(err);
          }
        }
      };
      this.ctl.on('data', onData);
      this.child.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      void this.exited.then(({ code }) => {
        clearTimeout(timer);
        reject(new Error(`sandbox exited before it was ready (exit ${code}): ${early.trim().slice(0, 500)}`));
      });
    });
    this.ready.catch(() => this.destroy());
  }

  /** Moves the waiting sandbox into its own cgroup before any user code exists. */
  private confine() {
    const tree = descendants(this.child.pid!);
    this.pidNsInit = tree[0];
    this.runnerPid = tree.find((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('python');
      } catch {
        return false;
      }
    });
    if (!this.plan) return;
    this.cgroup = new SandboxCgroup(this.plan, this.name, { memoryBytes: this.spec.memoryBytes, pids: this.spec.pids });
    for (const pid of [this.child.pid!, ...tree]) this.cgroup.attach(pid);
  }

  whenReady(): Promise<void> {
    return this.ready;
  }

  get alive(): boolean {
    return !this.done && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pids(): number[] {
    return this.child.pid ? [this.child.pid, ...(this.pidNsInit ? [this.pidNsInit] : [])] : [];
  }

  /** Ends the sandbox and everything in it, now. */
  destroy() {
    if (this.pidNsInit) kill(this.pidNsInit);
    for (const pid of descendants(this.child.pid ?? 0).reverse()) kill(pid);
    if (this.child.pid) kill(this.child.pid);
    this.cgroup?.killAll();
    this.done = true;
  }

  async dispose() {
    this.destroy();
    await Promise.race([this.exited, new Promise((r) => setTimeout(r, 2000))]);
    await this.cgroup?.remove();
  }

  async run(program: Program, opts: RunOptions): Promise<RunResult> {
    await this.ready;
    const started = performance.now();
    const out = new Capture(opts.stdoutFile, opts.headBytes, opts.tailBytes);
    const err = new Capture(opts.stderrFile, opts.headBytes, opts.tailBytes);
    let outcome: Outcome | null = null;
    const stop = (why: Outcome) => {
      if (outcome) return;
      outcome = why;
      this.destroy();
    };
    let budget = opts.maxOutputBytes;
    const feed = (cap: Capture) => (chunk: Buffer) => {
      budget -= cap.push(chunk, budget);
      if (budget <= 0 && out.bytes + err.bytes > opts.maxOutputBytes) stop('output_truncated');
    };
    this.child.stdout!.on('data', feed(out));
    this.child.stderr!.on('data', feed(err));
    const ctlChunks: Buffer[] = [];
    let ctlBytes = 0;
    this.ctl.on('data', (d: Buffer) => {
      // Figures are capped; a program flooding the control socket is cut off like any output flood.
      ctlBytes += d.length;
      if (ctlBytes > opts.maxImageBytes * 8 + 4096) return stop('output_truncated');
      ctlChunks.push(d);
    });
    const ctlClosed = new Promise<void>((resolve) => {
      this.ctl.once('close', () => resolve());
      this.ctl.once('end', () => resolve());
    });

    const timer = setTimeout(() => stop('timeout'), opts.timeoutMs);
    // When the runner is gone, whatever it left behind (a daemon, a double fork) goes too: firejail
    // would otherwise keep the sandbox alive for them. It gets a moment to exit on its own first,
    // since its exit status (the runner's) is the run's status.
    const runner = this.runnerPid;
    let leftovers: NodeJS.Timeout | undefined;
    const reaper = setInterval(() => {
      if (runner === undefined || !pidExists(runner)) {
        clearInterval(reaper);
        leftovers = setTimeout(() => this.destroy(), LEFTOVER_GRACE_MS);
      }
    }, 20);
    opts.signal.onCancel = () => stop('cancelled');
    if (opts.signal.cancelled) stop('cancelled');
    const quota = opts.quota ? new QuotaWatcher(opts.quota) : undefined;
    quota?.start(() => stop('failed'));

    const code = Buffer.from(program.code, 'utf8');
    const stdin = Buffer.from(program.stdin, 'utf8');
    const files = program.files.map((f) => ({ path: f.path, size: f.data.length }));
    const header = Buffer.from(JSON.stringify({ code: code.length, stdin: stdin.length, language: program.language, files, max_image: opts.maxImageBytes }) + '\n');
    this.child.stdin!.end(Buffer.concat([header, code, stdin, ...program.files.map((f) => f.data)]));

    const exit = await this.exited;
    clearTimeout(timer);
    clearInterval(reaper);
    clearTimeout(leftovers);
    quota?.stop();
    const wallMs = performance.now() - started;
    // The pipes may still hold the last output after the process is gone.
    await Promise.all([
      streamEnd(this.child.stdout!),
      streamEnd(this.child.stderr!),
      Promise.race([ctlClosed, new Promise((r) => setTimeout(r, 500))]),
    ]);
    this.done = true;
    const stats = this.cgroup?.stats();
    // Removing the cgroup waits for the kernel to reap; the answer does not need to.
    void this.dispose();

    const { images, dropped, usage: u } = parseControl(Buffer.concat(ctlChunks), opts.maxImageBytes);
    const stderr = err.finish();
    const stdout = out.finish();
    // The exit status firejail passes on (deterministic-exit-code: the runner's), as the kernel
    // reported it to brain. Nothing the program writes can change it.
    const exitCode = exit.code;
    let signal: string | null = exit.signal;
    // firejail reports a program killed by a signal as 128 + signal.
    if (exitCode !== null && exitCode > 128 && exitCode < 160) signal = signalName(exitCode - 128);
    const errText = stderr.tail || stderr.head;
    const workspaceLimit: WorkspaceLimit | undefined = quota?.result(exitCode, errText);
    let status: Outcome;
    if (outcome) status = outcome;
    else if (stats?.oomKilled) status = 'oom';
    else if (exitCode !== 0 && /\bMemoryError\b/.test(errText)) status = 'oom';
    else if (workspaceLimit) status = 'failed';
    else if (exitCode === 0) status = 'succeeded';
    else status = 'failed';
    return {
      status,
      exitCode,
      signal,
      wallMs,
      cpuMs: stats?.cpuMs ?? u?.cpuMs ?? null,
      maxRssKb: u?.maxRssKb ?? (stats?.peakBytes ? Math.round(stats.peakBytes / 1024) : null),
      stdout,
      stderr,
      images,
      imagesDropped: dropped,
      ...(workspaceLimit ? { workspaceLimit } : {}),
    };
  }
}

function streamEnd(s: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve) => {
    if ((s as unknown as { readableEnded: boolean }).readableEnded || (s as unknown as { destroyed: boolean }).destroyed) return resolve();
    s.once('end', () => resolve());
    s.once('close', () => resolve());
    setTimeout(resolve, 1000);
  });
}

const SIGNALS: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 6: 'SIGABRT', 9: 'SIGKILL', 11: 'SIGSEGV', 13: 'SIGPIPE', 15: 'SIGTERM', 24: 'SIGXCPU', 25: 'SIGXFSZ' };

function signalName(n: number): string {
  return SIGNALS[n] ?? `SIG${n}`;
}

/**
 * Reads what the runner reported after the program: figures and resource use. The program can
 * write here too, so nothing in it decides the status, and a figure is only kept when it is a
 * well-formed PNG within the size cap.
 */
function parseControl(buf: Buffer, maxImageBytes: number) {
  const images: { data: string; bytes: number }[] = [];
  let dropped = 0;
  let usage: { cpuMs?: number; maxRssKb?: number } | undefined;
  let i = 0;
  while (i < buf.length) {
    const nl = buf.indexOf(10, i);
    if (nl < 0) break;
    const line = buf.subarray(i, nl).toString('latin1');
    i = nl + 1;
    const fig = /^figure (\d+)$/.exec(line);
    if (fig) {
      const n = Number(fig[1]);
      const png = buf.subarray(i, i + n);
      i += n;
      if (png.length === n && n <= maxImageBytes && pngProblem(png) === null) images.push({ data: png.toString('base64'), bytes: n });
      else dropped++;
      continue;
    }
    if (/^figure-dropped \d+$/.test(line)) {
      dropped++;
      continue;
    }
    const u = /^usage (\d+) (\d+)$/.exec(line);
    if (u) usage = { cpuMs: Number(u[1]), maxRssKb: Number(u[2]) };
  }
  return { images, dropped, usage };
}
