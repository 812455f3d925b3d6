// The one maintenance scheduler, built by createApp for every mode (embedded `brain`, `brain
// serve`, one-shot commands that run a task with runNow). Each task runs when it is due: one
// interval after its last run, and once `startDelayMs` after start-up when it asks for that. Tasks
// whose interval is long (VACUUM, backups) remember their last run in the config table, so a
// restart does not redo them nor push them back forever; a task that can tell when its work was
// last done (backups: the newest file on disk) goes by that instead, and runs at start-up when it
// is over an interval old. Every run is counted in metrics, timed into the slow-query log, and
// failures and notable results become events.
import type { Db } from '../core/db.js';
import type { Logger } from '../core/logger.js';
import type { MaintenanceTask } from '../core/maintenance.js';
import type { Metrics } from '../core/metrics.js';
import type { EventsService } from '../events/service.js';
import type { SlowQueryRecorder } from './query-log.js';
import { getSetting, setSetting } from './settings.js';

/**
 * The timer never sleeps longer than this: due times are wall-clock times, and Node's timers do
 * not count a machine's suspend, so a laptop that slept runs what fell due at most 30 s after waking.
 */
const MAX_SLEEP_MS = 30_000;

export interface SchedulerDeps {
  db: Db;
  logger: Logger;
  metrics: Metrics;
  events: Pick<EventsService, 'record'>;
  slow?: SlowQueryRecorder;
  tasks: MaintenanceTask[];
}

export interface ScheduleOptions {
  /** Start of the schedule (tests pass a fixed clock). */
  nowMs?: number;
  /** Tasks a mode leaves off its timers; they stay runnable with runNow (e.g. POST /admin/backup). */
  unscheduled?: readonly string[];
}

export type Scheduler = ReturnType<typeof createScheduler>;

export function createScheduler(deps: SchedulerDeps, opts: ScheduleOptions = {}) {
  const { db, logger, metrics, events, tasks } = deps;
  const origin = opts.nowMs ?? Date.now();
  const off = new Set(opts.unscheduled);
  const lastRun = new Map<string, number>();
  /** When each task runs next; Infinity = only when asked. */
  const due = new Map<string, number>();
  const scheduled = tasks.filter((t) => !off.has(t.name) && (t.intervalMs > 0 || t.startDelayMs !== undefined)).map((t) => t.name);
  for (const task of tasks) {
    if (!scheduled.includes(task.name)) {
      due.set(task.name, Infinity);
      continue;
    }
    const stored = task.persist ? Number(getSetting(db, `last_run:${task.name}`)) : NaN;
    if (Number.isFinite(stored) && stored > 0) lastRun.set(task.name, stored);
    if (task.lastDoneMs && task.intervalMs > 0) {
      // What is on disk, not the stored run time: backups deleted or a new BRAIN_BACKUP_PATH mean none is recent.
      const done = task.lastDoneMs() ?? -Infinity;
      due.set(task.name, Math.max(origin + (task.startDelayMs ?? 0), done + task.intervalMs));
      continue;
    }
    const byInterval = task.intervalMs > 0 ? (lastRun.get(task.name) ?? origin) + task.intervalMs : Infinity;
    const byStart = task.startDelayMs !== undefined ? origin + task.startDelayMs : Infinity;
    due.set(task.name, Math.min(byInterval, byStart));
  }
  let timer: NodeJS.Timeout | undefined;
  let started = false;
  let stopped = false;
  let queue: Promise<unknown> = Promise.resolve();

  async function runTask(task: MaintenanceTask, now: number): Promise<boolean> {
    const startedAt = performance.now();
    // A failed run is retried at the next interval, not in a tight loop.
    lastRun.set(task.name, now);
    due.set(task.name, task.intervalMs > 0 && !off.has(task.name) ? now + task.intervalMs : Infinity);
    try {
      const result = await task.run();
      if (task.persist) setSetting(db, `last_run:${task.name}`, String(now));
      metrics.maintenanceRuns.inc({ task: task.name, status: 'ok' });
      const elapsed_ms = Math.round(performance.now() - startedAt);
      // Routine runs that changed nothing stay out of the logs at the default level: an embedded
      // brain would otherwise write six lines at every start and one every five minutes.
      logger[result?.event ? 'info' : 'debug'](`maintenance ${task.name} done`, { elapsed_ms, ...result?.details });
      if (result?.event) events.record(`maintenance.${task.name}`, 'info', result.event, { elapsed_ms, ...result.details });
      return true;
    } catch (err) {
      metrics.maintenanceRuns.inc({ task: task.name, status: 'error' });
      logger.error(`maintenance ${task.name} failed`, { error: (err as Error).stack ?? String(err) });
      events.record(`maintenance.${task.name}`, 'error', `${task.name} failed: ${(err as Error).message}`);
      return false;
    } finally {
      deps.slow?.(`maintenance ${task.name}`, performance.now() - startedAt);
    }
  }

  /** Runs `work` after whatever runs now, so two tasks never overlap. */
  function exclusive<T>(work: () => Promise<T>): Promise<T> {
    const p = queue.then(work);
    queue = p.catch(() => undefined);
    return p;
  }

  /** Runs every due task, in list order; resolves to the names that ran. */
  function tick(now = Date.now()): Promise<string[]> {
    return exclusive(async () => {
      const ran: string[] = [];
      for (const task of tasks) {
        if (stopped) break;
        if (due.get(task.name)! > now) continue;
        await runTask(task, now);
        ran.push(task.name);
      }
      return ran;
    });
  }

  function arm() {
    if (!started || stopped) return;
    clearTimeout(timer);
    const next = Math.min(...due.values());
    if (next === Infinity) return;
    timer = setTimeout(() => {
      timer = undefined;
      void tick().finally(arm);
    }, Math.min(Math.max(0, next - Date.now()), MAX_SLEEP_MS));
    timer.unref(); // maintenance never keeps the process alive on its own
  }

  return {
    /** Every task this brain has, scheduled or not. */
    tasks: tasks as readonly MaintenanceTask[],
    /** The tasks that run on their own (the rest only when asked). */
    scheduled: scheduled as readonly string[],
    tick,
    /** Runs one task now, whatever its schedule; resolves to whether it succeeded. */
    runNow(name: string): Promise<boolean> {
      const task = tasks.find((t) => t.name === name);
      if (!task) throw new Error(`no maintenance task ${name}`);
      return exclusive(() => runTask(task, Date.now())).finally(arm);
    },
    lastRun: (name: string) => lastRun.get(name),
    start() {
      if (started) return;
      started = true;
      arm();
    },
    /** Stops the timer and waits for a task in progress; no further task starts. */
    async stop() {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
      await queue;
    },
  };
}
