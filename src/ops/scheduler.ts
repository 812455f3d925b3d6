// The maintenance scheduler of `brain serve`. One timer ticks; each task runs when its interval
// has passed since its last run. Tasks whose interval is long (VACUUM, backups) remember their
// last run in the config table, so a restart does not redo them nor push them back forever.
// Every run is counted in metrics; failures and notable results become events.
import type { Db } from '../core/db.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { EventsService } from '../events/service.js';
import { getSetting, setSetting } from './settings.js';

export interface TaskResult {
  /** Sentence for an event; no event when undefined (routine runs that changed nothing). */
  event?: string;
  details?: Record<string, unknown>;
}

export interface Task {
  name: string;
  /** 0 = never on schedule (still runnable with runNow). */
  intervalMs: number;
  /** Keep the last run time in the database (for long intervals). */
  persist?: boolean;
  run(): Promise<TaskResult | void> | TaskResult | void;
}

export interface SchedulerDeps {
  db: Db;
  logger: Logger;
  metrics: Metrics;
  events: EventsService;
  tasks: Task[];
  /** How often due tasks are looked for. */
  tickMs?: number;
}

export type Scheduler = ReturnType<typeof createScheduler>;

export function createScheduler(deps: SchedulerDeps, nowMs = Date.now()) {
  const { db, logger, metrics, events } = deps;
  const lastRun = new Map<string, number>();
  for (const task of deps.tasks) {
    const stored = task.persist ? Number(getSetting(db, `last_run:${task.name}`)) : NaN;
    lastRun.set(task.name, Number.isFinite(stored) && stored > 0 ? stored : nowMs);
  }
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  async function runTask(task: Task, now: number): Promise<boolean> {
    const started = performance.now();
    try {
      const result = await task.run();
      lastRun.set(task.name, now);
      if (task.persist) setSetting(db, `last_run:${task.name}`, String(now));
      metrics.maintenanceRuns.inc({ task: task.name, status: 'ok' });
      const elapsed_ms = Math.round(performance.now() - started);
      logger.info(`maintenance ${task.name} done`, { elapsed_ms, ...result?.details });
      if (result?.event) events.record(`maintenance.${task.name}`, 'info', result.event, { elapsed_ms, ...result.details });
      return true;
    } catch (err) {
      // A failed run is retried at the next interval, not in a tight loop.
      lastRun.set(task.name, now);
      metrics.maintenanceRuns.inc({ task: task.name, status: 'error' });
      logger.error(`maintenance ${task.name} failed`, { error: (err as Error).stack ?? String(err) });
      events.record(`maintenance.${task.name}`, 'error', `${task.name} failed: ${(err as Error).message}`);
      return false;
    }
  }

  /** Runs every due task, one after another; overlapping ticks wait for the running one. */
  async function tick(now = Date.now()): Promise<string[]> {
    if (running) await running;
    const ran: string[] = [];
    const work = (async () => {
      for (const task of deps.tasks) {
        if (task.intervalMs <= 0 || now - lastRun.get(task.name)! < task.intervalMs) continue;
        await runTask(task, now);
        ran.push(task.name);
      }
    })();
    running = work;
    try {
      await work;
    } finally {
      running = undefined;
    }
    return ran;
  }

  return {
    tick,
    /** Runs one task now, whatever its schedule; resolves to whether it succeeded. */
    async runNow(name: string): Promise<boolean> {
      const task = deps.tasks.find((t) => t.name === name);
      if (!task) throw new Error(`no maintenance task ${name}`);
      if (running) await running;
      return runTask(task, Date.now());
    },
    lastRun: (name: string) => lastRun.get(name),
    start() {
      if (timer) return;
      timer = setInterval(() => void tick(), deps.tickMs ?? 30_000);
      timer.unref();
    },
    /** Stops the timer and waits for a task in progress. */
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      if (running) await running;
    },
  };
}
