// A maintenance task: upkeep an area needs on a schedule (expiry, rebalancing, ...). Each area
// describes its own in `<area>/tasks.ts`, as it describes its tools; app.ts gathers them into one
// list, and the one scheduler (src/ops/scheduler.ts) runs that list in every serving mode.

/** How often expired data is looked for: expiry counts in days, so an hour late costs nothing. */
export const PURGE_INTERVAL_MS = 60 * 60_000;

export interface TaskResult {
  /** Sentence for an event; no event when undefined (routine runs that changed nothing). */
  event?: string;
  details?: Record<string, unknown>;
}

export interface MaintenanceTask {
  /**
   * Label in brain_maintenance_runs_total{task} and event type `maintenance.<name>`. Expiry tasks
   * are named `purge.<what>`: `brain maintain` runs every one of them.
   */
  name: string;
  /** How often it runs; 0 = never on an interval (runNow, or startDelayMs, still run it). */
  intervalMs: number;
  /** Also run once this long after start-up (expiry, the first rebalance of a fresh file). */
  startDelayMs?: number;
  /**
   * When the task's work was last done, by evidence the scheduler does not keep (the newest backup
   * on disk, which cron or a person may have made). With it, a task whose work is older than one
   * interval, or was never done, runs at start-up (after `startDelayMs`, default 0) rather than one
   * interval later. Only for tasks with an interval.
   */
  lastDoneMs?(): number | undefined;
  /** Keep the last run time in the database, so a restart neither repeats nor postpones it (long intervals). */
  persist?: boolean;
  run(): Promise<TaskResult | void> | TaskResult | void;
}

/** The result of an expiry task: an event only when something went. */
export function purged(what: string, details: Record<string, number>): TaskResult {
  const removed = Object.values(details).reduce((a, b) => a + b, 0);
  return removed ? { event: `expired ${what} removed: ${JSON.stringify(details)}`, details } : { details };
}
