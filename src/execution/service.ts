// The execution area's API: checks the host, runs the self-test, owns the piscina pool, records
// every execution, and turns worker results into small answers.
import fs from 'node:fs';
import path from 'node:path';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import type { Piscina } from 'piscina';
import type { Config } from '../core/config.js';
import { toDbTime, type Db } from '../core/db.js';
import { UnavailableError, UserError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import { scriptPath } from '../core/version.js';
import { pidAlive, removeCgroupBase } from '../../worker/cgroup.js';
import type { ExecOutcome, ExecTask, WarmTask } from '../../worker/execute-worker.js';
import { detectHost, isProblem, mechanisms, type SandboxHost } from './host.js';
import { inline, readPage, type Page } from './output.js';
import { canaryProgram, judgeCanary } from './self-test.js';
import { openWorkspaces, type WorkspacePaths, type Workspaces } from './workspaces.js';
import {
  failOrphans, finishExecution, getExecution, insertExecution, listExecutions, markRunning, purgeExecutions,
  type ExecutionFilter, type ExecutionRow, type ExecutionStatus,
} from './store.js';

export type SandboxState = 'starting' | 'ready' | 'unavailable';

export interface SandboxStatus {
  state: SandboxState;
  reason?: string;
  fix?: string;
  canaries?: { passed: string[]; failed: string[] };
  mechanisms?: Record<string, string>;
  workspaceRoot?: string;
}

export interface InputFile {
  path: string;
  data: Buffer;
}

export interface ExecuteRequest {
  code: string;
  language: 'python' | 'bash';
  timeoutMs?: number;
  stdin?: string;
  files?: InputFile[];
  project: string;
  sessionId: string | null;
}

export interface ExecuteContext {
  signal?: AbortSignal;
  progress?: (progress: number, total?: number, message?: string) => Promise<void>;
}

export interface ExecuteResult {
  execution_id: number;
  status: ExecutionStatus;
  exit_code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
  stdout_bytes: number;
  stderr_bytes: number;
  wall_ms: number;
  cpu_ms: number | null;
  max_rss_kb: number | null;
  files: { path: string; size: number; change: string; escaped?: true }[];
  images: { data: string; bytes: number }[];
  warm: boolean;
  /** brain's own sentences about the run: the limit it was stopped at and how to raise it, figures or names it could not return as they were. */
  note?: string;
}

export interface ExecutionService {
  /** Starts the host check, self-test and warm sandboxes in the background, `delayMs` from now (default a second). */
  warmUp(delayMs?: number): void;
  status(): SandboxStatus;
  /** For GET /health: degraded (not failing) when execution is unavailable, since memory still works. */
  health(): { status: 'ok' | 'degraded'; detail: string; queue: number; workers: number };
  /** Resolves once the sandbox is ready; throws UnavailableError with the fix otherwise. */
  ready(): Promise<SandboxHost>;
  execute(req: ExecuteRequest, ctx?: ExecuteContext): Promise<ExecuteResult>;
  get(id: number): ExecutionRow | undefined;
  list(filter: ExecutionFilter): ExecutionRow[];
  readOutput(id: number, stream: 'stdout' | 'stderr', offset: number, length: number): Page;
  workspaceFor(project: string): Promise<WorkspacePaths>;
  purge(retentionDays: number): number;
  close(): Promise<void>;
}

export interface ExecutionDeps {
  db: Db;
  config: Config;
  logger: Logger;
  metrics: Metrics;
  /**
   * Told about outcomes an operator should see later (the events area records them): executions
   * that timed out, ran out of memory or were turned away, and sandbox failures. A program that
   * simply exits non-zero is its own answer, not an event.
   */
  onEvent?: (type: string, severity: 'warning' | 'error', message: string, details?: Record<string, unknown>) => void;
}

/** The compiled worker; tests run from src/ but the pool always loads the built file. */
function workerFile(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, 'dist', 'worker', 'execute-worker.js');
    if (fs.existsSync(candidate)) return candidate;
    if (path.basename(dir) === 'dist' && fs.existsSync(path.join(dir, 'worker', 'execute-worker.js'))) return path.join(dir, 'worker', 'execute-worker.js');
    dir = path.dirname(dir);
  }
  throw new Error('dist/worker/execute-worker.js not found: run `npm run build`');
}

const QUEUE_FULL = 'execution queue is full';
/** When the sandbox host check, self-test and warm sandboxes start after brain does (see warmUp). */
const WARM_UP_DELAY_MS = 1_000;

export function createExecutionService(deps: ExecutionDeps): ExecutionService {
  const { db, config, logger, metrics } = deps;
  let status: SandboxStatus = { state: 'starting' };
  let host: SandboxHost | undefined;
  let workspaces: Workspaces | undefined;
  let pool: Piscina | undefined;
  let starting: Promise<SandboxHost> | undefined;
  let closed = false;
  /** execute calls between their start (waiting for the sandbox, queued or running) and their answer. */
  let executing = 0;

  try {
    const n = failOrphans(db, pidAlive);
    if (n) logger.warn(`${n} execution(s) were left unfinished by a stopped brain; marked failed`);
  } catch (err) {
    logger.warn('could not check for unfinished executions', { error: String(err) });
  }

  metrics.executionSource.queueSize = () => (pool ? pool.queueSize : 0);
  metrics.executionSource.workers = () => (pool?.threads ?? []).map((t) => ({ id: String(t.threadId), healthy: status.state === 'ready' }));

  async function workspaceFor(project: string): Promise<WorkspacePaths> {
    if (!host || !workspaces) throw new UnavailableError('the sandbox is not ready');
    return workspaces.ensure(project);
  }

  function baseTask(h: SandboxHost) {
    return { spec: { ...h.spec, holder: workspaces?.holder() }, plan: h.plan, warm: config.sandboxWarm };
  }

  async function runTask(task: ExecTask, signal?: AbortSignal): Promise<ExecOutcome> {
    return (await pool!.run(task, { transferList: [task.port] as never, signal: signal ?? null })) as ExecOutcome;
  }

  async function warm(project: string) {
    if (!host || !pool || config.sandboxWarm === 0 || closed) return;
    const workspace = (await workspaceFor(project)).path;
    // Warming ahead is for an idle pool: a warm task queued behind a running execution would take a
    // slot of BRAIN_EXECUTION_QUEUE_MAX from the user's next call. Skipped, it is not tried again:
    // the executions under way refill their own workspace's warm sandboxes when they end, which is
    // what the next call of that project uses. Checked after the await, right before the task is
    // handed over, so no execute can slip in between.
    if (executing > 0 || pool.queueSize > 0) return;
    const task: WarmTask = { kind: 'warm', workspace, ...baseTask(host) };
    await pool.run(task);
  }

  async function selfTest(h: SandboxHost): Promise<{ passed: string[]; failed: string[] }> {
    const { port1, port2 } = new MessageChannel();
    fs.mkdirSync(h.outputRoot, { recursive: true, mode: 0o700 });
    const out = path.join(h.outputRoot, `self-test-${process.pid}`);
    const ws = await workspaceFor('');
    const task: ExecTask = {
      kind: 'execute',
      ...baseTask(h),
      warm: 0,
      workspace: ws.path,
      view: ws.view,
      program: { code: canaryProgram(path.resolve(config.dbPath)), language: 'python', stdin: '', files: [] },
      timeoutMs: 20_000,
      maxOutputBytes: 65_536,
      headBytes: 16_384,
      tailBytes: 0,
      maxImageBytes: 0,
      stdoutFile: `${out}.stdout`,
      stderrFile: `${out}.stderr`,
      port: port2,
    };
    port1.unref();
    try {
      const r = await runTask(task);
      if (r.status !== 'succeeded') return { passed: [], failed: [`canary program ${r.status} (exit ${r.exitCode}): ${(r.stderr.head + r.stderr.tail).slice(0, 300)}`] };
      return judgeCanary(r.stdout.head, h, process.env);
    } finally {
      port1.close();
      fs.rmSync(`${out}.stdout`, { force: true });
      fs.rmSync(`${out}.stderr`, { force: true });
    }
  }

  async function start(): Promise<SandboxHost> {
    const detected = detectHost(config);
    if (isProblem(detected)) {
      status = { state: 'unavailable', reason: detected.reason, fix: detected.fix };
      logger.warn(`execute is disabled: ${detected.reason}; fix: ${detected.fix}`);
      deps.onEvent?.('execution.sandbox_unavailable', 'warning', `code execution is unavailable on this host: ${detected.reason}`, { fix: detected.fix });
      throw new UnavailableError(`Code execution is unavailable: ${detected.reason}. To fix: ${detected.fix}.`);
    }
    host = detected;
    // Said once at start-up: without root the quota is a check, not a limit the kernel holds.
    if (detected.quota.how !== 'filesystem') logger.warn(`workspace quota: ${mechanisms(detected, config).workspace_quota}`);
    workspaces = openWorkspaces(detected, config, (message) => logger.warn(message));
    try {
      const moved = await workspaces.adoptLegacy();
      if (moved) logger.info(`moved ${moved} workspace(s) out of the shared /srv/brain-workspaces`);
    } catch (err) {
      logger.warn('could not move workspaces out of /srv/brain-workspaces', { error: String(err) });
    }
    // Loaded on first use: the memory server's start-up does not pay for the pool.
    const { Piscina: Pool } = await import('piscina');
    pool = new Pool({
      filename: workerFile(),
      minThreads: config.workerMin,
      maxThreads: config.workerMax,
      maxQueue: Math.max(1, config.executionQueueMax),
      idleTimeout: 60_000,
      // Workers keep sandboxes waiting between tasks, so their event loop must keep running.
      atomics: 'disabled',
    });
    pool.on('error', (err: unknown) => logger.error('execution worker crashed', { error: String(err) }));
    let report: { passed: string[]; failed: string[] };
    try {
      report = await selfTest(detected);
    } catch (err) {
      report = { passed: [], failed: [`sandbox did not start: ${(err as Error).message}`] };
    }
    // brain stopped while the self-test ran (a client that connected and left at once): its
    // workers were terminated, which says nothing about the sandbox. No error, no event.
    if (closed) throw new UnavailableError('brain is shutting down');
    if (report.failed.length) {
      status = {
        state: 'unavailable',
        reason: `the sandbox self-test failed: ${report.failed.join('; ')}`,
        fix: `run \`brain doctor\` for details; check that firejail works (\`firejail --version\`) and that ${scriptPath('setup-sandbox.sh')} ran as root`,
        canaries: report,
      };
      logger.error(`execute is disabled: ${status.reason}`);
      deps.onEvent?.('execution.sandbox_unavailable', 'error', `code execution is disabled: ${status.reason}`, { fix: status.fix });
      throw new UnavailableError(`Code execution is disabled: ${status.reason}. To fix: ${status.fix}.`);
    }
    status = { state: 'ready', canaries: report, mechanisms: mechanisms(detected, config), workspaceRoot: detected.workspaceRoot };
    logger.info('sandbox ready', { mechanisms: status.mechanisms });
    return detected;
  }

  function ready(): Promise<SandboxHost> {
    if (closed) return Promise.reject(new UnavailableError('brain is shutting down'));
    starting ??= start();
    return starting;
  }

  /** brain's sentences about a run: which limit stopped it and how to raise it, what it could not return. */
  function noteFor(r: ExecOutcome, timeoutMs: number): string | undefined {
    const mb = (bytes: number) => `${Math.round((bytes / 1048576) * 100) / 100} MB`;
    const parts: string[] = [];
    if (r.status === 'timeout') {
      const max = config.maxExecutionTimeMs;
      parts.push(`Stopped at the time limit of ${timeoutMs} ms; ${timeoutMs < max ? `pass a larger timeout_ms (up to ${max} ms, set by BRAIN_MAX_EXECUTION_TIME_MS)` : `timeout_ms can ask for at most ${max} ms: raise BRAIN_MAX_EXECUTION_TIME_MS for more`}.`);
    }
    if (r.status === 'oom') parts.push(`Stopped at the memory limit of ${config.maxMemoryMb} MB (BRAIN_MAX_MEMORY_MB); use less memory (e.g. process data in chunks) or raise BRAIN_MAX_MEMORY_MB.`);
    if (r.status === 'output_truncated') parts.push(`Stopped at the output limit of ${mb(config.maxOutputBytes)} (BRAIN_MAX_OUTPUT_SIZE_MB); print less (write large results to files) or raise BRAIN_MAX_OUTPUT_SIZE_MB.`);
    if (r.workspaceLimit === 'bytes') parts.push(`The workspace of this project reached its quota of ${mb(config.workspaceQuotaBytes)} (BRAIN_WORKSPACE_QUOTA_MB): writes past it fail and brain stops the program there; delete files from the workspace or raise BRAIN_WORKSPACE_QUOTA_MB.`);
    if (r.workspaceLimit === 'files') parts.push(`The workspace of this project reached its limit of ${config.workspaceMaxFiles} files (BRAIN_WORKSPACE_MAX_FILES): no more can be created and brain stops the program there; delete files from the workspace or raise BRAIN_WORKSPACE_MAX_FILES.`);
    if (r.imagesDropped) parts.push(`${r.imagesDropped} figure(s) larger than BRAIN_MAX_IMAGE_KB (${Math.round(config.maxImageBytes / 1024)} KB) or not valid PNG images were not returned; save them to files instead.`);
    const escaped = r.files.filter((f) => f.escaped).length;
    if (escaped) parts.push(`${escaped} file name(s) are not valid UTF-8: they are listed with their odd bytes as \\xNN (and "\\" as "\\\\"), marked escaped: true.`);
    return parts.length ? parts.join(' ') : undefined;
  }

  /** Records a finished execution: its row, the metrics, and an event when it timed out or ran out of memory. */
  function record(id: number, r: ExecOutcome, note: string | undefined) {
    finishExecution(db, id, {
      status: r.status,
      error: note ?? null,
      exitCode: r.exitCode,
      signal: r.signal,
      stdout: r.stdout,
      stderr: r.stderr,
      files: r.files,
      images: r.images.length,
      wallMs: r.wallMs,
      cpuMs: r.cpuMs,
      maxRssKb: r.maxRssKb,
      warm: r.warmHit,
    });
    metrics.executions.inc({ status: r.status });
    metrics.executionDuration.observe({ status: r.status }, r.wallMs / 1000);
    if (r.status === 'timeout' || r.status === 'oom') {
      const what = r.status === 'timeout' ? `timed out after ${Math.round(r.wallMs)} ms` : `ran out of memory (limit ${config.maxMemoryMb} MB)`;
      deps.onEvent?.(`execution.${r.status}`, 'warning', `execution ${id} ${what}`, { execution_id: id, wall_ms: Math.round(r.wallMs), max_rss_kb: r.maxRssKb });
    }
    metrics.sandboxStarts.inc({ kind: r.warmHit ? 'warm' : 'cold' });
  }

  /** What every queue-full refusal does, whichever check caught it: count, tell the operator, answer the user. */
  function queueFull(id: number): UserError {
    metrics.executions.inc({ status: 'rejected' });
    deps.onEvent?.('execution.rejected', 'warning', `execution ${id} was turned away: ${QUEUE_FULL} (${config.executionQueueMax} waiting)`, { execution_id: id });
    return new UserError(`The execution queue is full (${config.executionQueueMax} waiting); try again when running executions finish, or raise BRAIN_EXECUTION_QUEUE_MAX.`);
  }

  /** Records the call as queued, or as rejected (and refuses it) when every worker is busy and the queue is full. */
  function admit(req: ExecuteRequest, timeoutMs: number): number {
    const full = pool!.queueSize >= config.executionQueueMax && pool!.threads.length >= config.workerMax;
    const id = insertExecution(db, {
      project: req.project,
      sessionId: req.sessionId,
      language: req.language,
      code: req.code,
      timeoutMs,
      status: full ? 'rejected' : 'queued',
      error: full ? QUEUE_FULL : undefined,
    });
    if (full) throw queueFull(id);
    return id;
  }

  /** Records why the pool did not run execution `id`, and the error the caller gets. */
  function notRun(id: number, err: Error, cancelledWhileQueued: boolean): Error {
    if (cancelledWhileQueued) {
      finishExecution(db, id, { status: 'cancelled', error: 'cancelled while queued' });
      metrics.executions.inc({ status: 'cancelled' });
      return new UserError(`Execution ${id} was cancelled before it started.`);
    }
    // Between admit and the pool, other calls can fill the queue: piscina then refuses the task.
    if (err.message.includes('Task queue is at limit')) {
      finishExecution(db, id, { status: 'rejected', error: QUEUE_FULL });
      return queueFull(id);
    }
    finishExecution(db, id, { status: 'failed', error: err.message });
    metrics.executions.inc({ status: 'failed' });
    deps.onEvent?.('execution.sandbox_failed', 'error', `the sandbox could not run execution ${id}: ${err.message}`, { execution_id: id });
    return new UnavailableError(`The sandbox could not run execution ${id}: ${err.message}. Run \`brain doctor\` to check the sandbox.`);
  }

  /** The worker's task for execution `id`: the program, its limits, and where its full output goes. */
  function programTask(id: number, h: SandboxHost, workspace: WorkspacePaths, req: ExecuteRequest, timeoutMs: number, port: MessagePort): ExecTask {
    return {
      kind: 'execute',
      ...baseTask(h),
      workspace: workspace.path,
      view: workspace.view,
      quota: workspaces!.watch(workspace),
      program: { code: req.code, language: req.language, stdin: req.stdin ?? '', files: (req.files ?? []).map((f) => ({ path: f.path, base64: f.data.toString('base64') })) },
      timeoutMs,
      maxOutputBytes: config.maxOutputBytes,
      headBytes: Math.floor(config.executionInlineBytes / 2),
      tailBytes: Math.floor(config.executionInlineBytes / 2),
      maxImageBytes: config.maxImageBytes,
      stdoutFile: path.join(h.outputRoot, `${id}.stdout`),
      stderrFile: path.join(h.outputRoot, `${id}.stderr`),
      port,
    };
  }

  /**
   * Hands the program to a worker and waits for its outcome. The worker says when the sandbox
   * starts (the row turns `running`; progress notifications begin); cancelling drops a queued task
   * from the queue and has the worker kill a running one.
   */
  async function run(id: number, h: SandboxHost, workspace: WorkspacePaths, req: ExecuteRequest, timeoutMs: number, ctx: ExecuteContext): Promise<ExecOutcome> {
    const queuedAt = performance.now();
    fs.mkdirSync(h.outputRoot, { recursive: true, mode: 0o700 });
    const { port1, port2 } = new MessageChannel();
    let started = false;
    let progressTimer: NodeJS.Timeout | undefined;
    port1.on('message', (m) => {
      if (m !== 'started') return;
      started = true;
      markRunning(db, id, performance.now() - queuedAt);
      if (ctx.progress) {
        const t0 = Date.now();
        progressTimer = setInterval(() => {
          ctx.progress!(Date.now() - t0, timeoutMs, 'running').catch(() => undefined);
        }, 1000);
      }
    });
    const queueAbort = new AbortController();
    const onAbort = () => {
      if (started) port1.postMessage('cancel');
      else queueAbort.abort();
    };
    ctx.signal?.addEventListener('abort', onAbort, { once: true });
    const task = programTask(id, h, workspace, req, timeoutMs, port2);
    if (ctx.signal?.aborted) onAbort();
    try {
      return await runTask(task, queueAbort.signal);
    } catch (err) {
      throw notRun(id, err as Error, queueAbort.signal.aborted);
    } finally {
      ctx.signal?.removeEventListener('abort', onAbort);
      if (progressTimer) clearInterval(progressTimer);
      port1.close();
    }
  }

  /** The answer to the caller: inline heads and tails of the output, and pointers to the rest. */
  function toResult(id: number, r: ExecOutcome, note: string | undefined): ExecuteResult {
    const truncated = r.status === 'output_truncated' || r.stdout.bytes > Buffer.byteLength(r.stdout.head) + Buffer.byteLength(r.stdout.tail) || r.stderr.bytes > Buffer.byteLength(r.stderr.head) + Buffer.byteLength(r.stderr.tail);
    return {
      execution_id: id,
      status: r.status,
      exit_code: r.exitCode,
      signal: r.signal,
      stdout: inline(r.stdout.head, r.stdout.tail, r.stdout.bytes, id, 'stdout'),
      stderr: inline(r.stderr.head, r.stderr.tail, r.stderr.bytes, id, 'stderr'),
      truncated,
      stdout_bytes: r.stdout.bytes,
      stderr_bytes: r.stderr.bytes,
      wall_ms: Math.round(r.wallMs * 10) / 10,
      cpu_ms: r.cpuMs === null ? null : Math.round(r.cpuMs),
      max_rss_kb: r.maxRssKb,
      files: r.files,
      images: r.images,
      warm: r.warmHit,
      ...(note ? { note } : {}),
    };
  }

  async function execute(req: ExecuteRequest, ctx: ExecuteContext = {}): Promise<ExecuteResult> {
    executing++;
    try {
      const h = await ready();
      const timeoutMs = Math.min(req.timeoutMs ?? config.maxExecutionTimeMs, config.maxExecutionTimeMs);
      const workspace = await workspaceFor(req.project);
      const id = admit(req, timeoutMs);
      const r = await run(id, h, workspace, req, timeoutMs, ctx);
      const note = noteFor(r, timeoutMs);
      record(id, r, note);
      return toResult(id, r, note);
    } finally {
      executing--;
    }
  }

  return {
    warmUp(delayMs = WARM_UP_DELAY_MS) {
      // In the background, a second after start: the MCP handshake and the first calls go first
      // (the self-test's workers and firejail cost ~60 ms of this thread), and the first execute
      // comes later than that in practice; one that comes sooner waits for ready() as before.
      setTimeout(() => {
        ready().then(
          // Stopping brain terminates the workers under a warm task: that is no failure to report.
          () => warm('').catch((err: unknown) => closed || logger.warn('could not start sandboxes ahead of time', { error: String(err) })),
          () => undefined,
        );
      }, delayMs).unref();
    },
    status: () => status,
    health() {
      const queue = pool?.queueSize ?? 0;
      const workers = pool?.threads.length ?? 0;
      if (status.state === 'unavailable') return { status: 'degraded', detail: `execute is unavailable: ${status.reason}`, queue, workers };
      if (status.state === 'starting') return { status: 'ok', detail: 'sandbox self-test not run yet', queue, workers };
      return { status: 'ok', detail: `sandbox ready; ${workers} worker(s), ${queue} queued`, queue, workers };
    },
    ready,
    execute,
    get: (id) => getExecution(db, id),
    list: (filter) => listExecutions(db, filter),
    readOutput(id, stream, offset, length) {
      const dir = host?.outputRoot ?? path.join(path.resolve(config.executionPath), 'outputs');
      return readPage(path.join(dir, `${id}.${stream}`), offset, length);
    },
    workspaceFor,
    purge(retentionDays) {
      const ids = purgeExecutions(db, toDbTime(Date.now() - retentionDays * 86_400_000));
      const dir = path.join(path.resolve(config.executionPath), 'outputs');
      for (const id of ids) for (const s of ['stdout', 'stderr']) fs.rmSync(path.join(dir, `${id}.${s}`), { force: true });
      return ids.length;
    },
    async close() {
      if (closed) return;
      closed = true;
      const p = pool;
      pool = undefined;
      // Terminating the threads closes every sandbox's pipes: waiting sandboxes exit on EOF and
      // running ones are killed by their watchdog.
      if (p) await p.destroy().catch(() => undefined);
      workspaces?.close();
      removeCgroupBase(host?.plan ?? null);
    },
  };
}
