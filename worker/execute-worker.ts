// The piscina worker: runs one execution per task in a fresh sandbox. Each thread keeps a few
// sandboxes started ahead of time (per workspace), so a call only pays for handing the program
// over; every sandbox still runs exactly one program and is then thrown away.
import type { MessagePort } from 'node:worker_threads';
import type { CgroupPlan } from './cgroup.js';
import type { SandboxSpec } from './firejail-args.js';
import type { QuotaWatch } from './quota-watch.js';
import { Sandbox, type Program, type RunResult } from './sandbox-process.js';
import { diff, snapshot, type ChangedFile } from './workspace-diff.js';

export interface ExecTask {
  kind: 'execute';
  spec: SandboxSpec;
  plan: CgroupPlan | null;
  workspace: string;
  /** The workspace as this process reaches it (through the holder's mount namespace, as root). */
  view: string;
  quota?: QuotaWatch;
  program: { code: string; language: 'python' | 'bash'; stdin: string; files: { path: string; base64: string }[] };
  timeoutMs: number;
  maxOutputBytes: number;
  headBytes: number;
  tailBytes: number;
  maxImageBytes: number;
  stdoutFile: string;
  stderrFile: string;
  /** Sandboxes each thread keeps waiting (0 = start one per call). */
  warm: number;
  /** Receives "cancel"; gets "started" once the program is handed over. */
  port: MessagePort;
}

export interface WarmTask {
  kind: 'warm';
  spec: SandboxSpec;
  plan: CgroupPlan | null;
  workspace: string;
  warm: number;
}

export interface ExecOutcome extends RunResult {
  files: ChangedFile[];
  /** Whether a sandbox started ahead of time was used. */
  warmHit: boolean;
  /** Time from task start to the program being handed over. */
  startMs: number;
}

/** How long a waiting sandbox is kept before it is replaced by a fresh one. */
const MAX_IDLE_MS = 10 * 60_000;

interface Slot {
  key: string;
  sandbox: Sandbox;
  ready: Promise<boolean>;
}

const slots: Slot[] = [];

function keyOf(spec: SandboxSpec, plan: CgroupPlan | null, workspace: string): string {
  return JSON.stringify([workspace, spec, plan]);
}

function startSlot(spec: SandboxSpec, plan: CgroupPlan | null, workspace: string): Slot {
  const sandbox = new Sandbox(spec, workspace, plan);
  const slot: Slot = {
    key: keyOf(spec, plan, workspace),
    sandbox,
    ready: sandbox.whenReady().then(
      () => true,
      () => false,
    ),
  };
  return slot;
}

/** Keeps `warm` sandboxes for this workspace, dropping the least recently wanted others. */
function refill(spec: SandboxSpec, plan: CgroupPlan | null, workspace: string, warm: number) {
  if (warm <= 0) return;
  const key = keyOf(spec, plan, workspace);
  const now = Date.now();
  for (let i = slots.length - 1; i >= 0; i--) {
    const s = slots[i];
    if (!s.sandbox.alive || now - s.sandbox.startedAt > MAX_IDLE_MS) {
      slots.splice(i, 1);
      void s.sandbox.dispose();
    }
  }
  const have = slots.filter((s) => s.key === key).length;
  for (let i = have; i < warm; i++) slots.push(startSlot(spec, plan, workspace));
  // Most recently wanted at the end; the oldest others go first.
  while (slots.length > warm * 2) {
    const idx = slots.findIndex((s) => s.key !== key);
    const [old] = slots.splice(idx < 0 ? 0 : idx, 1);
    void old.sandbox.dispose();
  }
  const mine = slots.filter((s) => s.key === key);
  for (const s of mine) slots.push(...slots.splice(slots.indexOf(s), 1));
}

async function take(spec: SandboxSpec, plan: CgroupPlan | null, workspace: string): Promise<{ sandbox: Sandbox; warmHit: boolean }> {
  const key = keyOf(spec, plan, workspace);
  while (true) {
    const idx = slots.findIndex((s) => s.key === key);
    if (idx < 0) break;
    const [slot] = slots.splice(idx, 1);
    if ((await slot.ready) && slot.sandbox.alive) return { sandbox: slot.sandbox, warmHit: true };
    void slot.sandbox.dispose();
  }
  // A start can fail for a moment when the sandbox user is out of processes (RLIMIT_NPROC counts
  // every sandbox of that user, e.g. while another one is running a fork bomb): try again briefly.
  let lastError: unknown;
  for (const delay of [0, 250, 1000]) {
    if (delay) await new Promise((r) => setTimeout(r, delay));
    const sandbox = new Sandbox(spec, workspace, plan);
    try {
      await sandbox.whenReady();
      return { sandbox, warmHit: false };
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

export default async function run(task: ExecTask | WarmTask): Promise<ExecOutcome | { warmed: number }> {
  if (task.kind === 'warm') {
    refill(task.spec, task.plan, task.workspace, task.warm);
    const mine = slots.filter((s) => s.key === keyOf(task.spec, task.plan, task.workspace));
    const ok = await Promise.all(mine.map((s) => s.ready));
    const failed = ok.filter((x) => !x).length;
    if (failed) throw new Error(`${failed} sandbox(es) failed to start`);
    return { warmed: mine.length };
  }
  const t0 = performance.now();
  const signal: { cancelled: boolean; onCancel?: () => void } = { cancelled: false };
  task.port.on('message', (m) => {
    if (m === 'cancel') {
      signal.cancelled = true;
      signal.onCancel?.();
    }
  });
  try {
    const { sandbox, warmHit } = await take(task.spec, task.plan, task.workspace);
    // The replacement starts while this program runs: the next call finds it waiting.
    refill(task.spec, task.plan, task.workspace, task.warm);
    const before = snapshot(task.view);
    const program: Program = {
      code: task.program.code,
      language: task.program.language,
      stdin: task.program.stdin,
      files: task.program.files.map((f) => ({ path: f.path, data: Buffer.from(f.base64, 'base64') })),
    };
    const startMs = performance.now() - t0;
    task.port.postMessage('started');
    const result = await sandbox.run(program, {
      timeoutMs: task.timeoutMs,
      maxOutputBytes: task.maxOutputBytes,
      headBytes: task.headBytes,
      tailBytes: task.tailBytes,
      stdoutFile: task.stdoutFile,
      stderrFile: task.stderrFile,
      maxImageBytes: task.maxImageBytes,
      signal,
      quota: task.quota,
    });
    const files = diff(before, snapshot(task.view));
    return { ...result, files, warmHit, startMs };
  } finally {
    task.port.close();
  }
}
