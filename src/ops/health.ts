// Health checks behind GET /health: database, workers, memory, disk. Each is cheap (a stat, one
// tiny query) because load balancers and systemd watchdogs poll them.
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import type { Db } from '../core/db.js';
import { damageOf } from '../core/integrity-watch.js';
import type { CheckStatus, HealthCheck } from '../core/ops-http.js';
import type { Metrics } from '../core/metrics.js';

const MB = 1024 * 1024;

/**
 * The database is healthy when the handle answers a query and the file it has open is still the
 * one at BRAIN_DB_PATH. A file deleted or moved away keeps answering through the open handle while
 * every new process (and the next restart) would start from nothing, so that counts as failing.
 */
export function databaseCheck(db: Db, dbPath: string): () => HealthCheck {
  let identity: { dev: number; ino: number } | undefined;
  try {
    const st = fs.statSync(dbPath);
    identity = { dev: st.dev, ino: st.ino };
  } catch {
    /* reported below */
  }
  return () => {
    if (!db.open) return { status: 'fail', detail: 'the database handle is closed' };
    const damaged = damageOf(db);
    if (damaged) return { status: 'fail', detail: damaged.message };
    let st: fs.Stats;
    try {
      st = fs.statSync(dbPath);
      fs.accessSync(dbPath, fs.constants.R_OK | fs.constants.W_OK);
    } catch (err) {
      return { status: 'fail', detail: `${dbPath} is not available: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; restore it or check its permissions` };
    }
    if (identity && (st.dev !== identity.dev || st.ino !== identity.ino)) {
      return { status: 'fail', detail: `${dbPath} was replaced while brain had it open; restart brain to use the new file` };
    }
    try {
      const started = performance.now();
      db.prepare('SELECT count(*) FROM sqlite_master').pluck().get();
      const ms = performance.now() - started;
      return { status: 'ok', detail: `${dbPath} answers (${ms.toFixed(1)} ms)`, bytes: st.size };
    } catch (err) {
      return { status: 'fail', detail: `query failed: ${(err as Error).message}` };
    }
  };
}

/** V8 heap use against its limit: degraded above 85%, failing above 95%. */
export function memoryCheck(): HealthCheck {
  const heap = v8.getHeapStatistics();
  const ratio = heap.used_heap_size / heap.heap_size_limit;
  const rss = process.memoryUsage.rss();
  const detail = `rss ${(rss / MB).toFixed(0)} MB, heap ${(heap.used_heap_size / MB).toFixed(0)} of ${(heap.heap_size_limit / MB).toFixed(0)} MB`;
  return { status: ratio > 0.95 ? 'fail' : ratio > 0.85 ? 'degraded' : 'ok', detail, rss_bytes: rss, heap_ratio: Number(ratio.toFixed(3)) };
}

/** Free space where the database lives: failing under 64 MB (writes will fail soon), degraded under 512 MB or 5%. */
export function diskCheck(dbPath: string): HealthCheck {
  const dir = path.dirname(path.resolve(dbPath));
  try {
    const s = fs.statfsSync(dir);
    const free = s.bavail * s.bsize;
    const ratio = s.blocks ? s.bavail / s.blocks : 1;
    const status = free < 64 * MB ? 'fail' : free < 512 * MB || ratio < 0.05 ? 'degraded' : 'ok';
    return { status, detail: `${(free / MB).toFixed(0)} MB free on ${dir}`, free_bytes: free, free_ratio: Number(ratio.toFixed(3)) };
  } catch (err) {
    return { status: 'fail', detail: `cannot read free space of ${dir}: ${(err as Error).message}` };
  }
}

export type CheckFn = () => HealthCheck;

/** Runs every check (a throwing check fails, it does not break the endpoint) and mirrors them into metrics. */
export function runChecks(checks: Record<string, CheckFn>, metrics: Metrics): Record<string, HealthCheck> {
  const out: Record<string, HealthCheck> = {};
  for (const [name, check] of Object.entries(checks)) {
    try {
      out[name] = check();
    } catch (err) {
      out[name] = { status: 'fail', detail: (err as Error).message };
    }
    metrics.healthStatus.set({ check: name }, out[name].status === 'ok' ? 1 : out[name].status === 'degraded' ? 0.5 : 0);
  }
  return out;
}

/**
 * Runs the checks every `intervalMs` (BRAIN_HEALTH_CHECK_INTERVAL_MS) so the health gauges stay
 * current between scrapes, and reports each change of a check's state once: as a log line and an
 * event (error when it starts failing, info when it recovers).
 */
export function watchHealth(
  checks: Record<string, CheckFn>,
  metrics: Metrics,
  report: (check: string, from: CheckStatus, to: HealthCheck) => void,
  intervalMs: number,
): () => void {
  const last = new Map<string, CheckStatus>();
  const tick = () => {
    for (const [name, result] of Object.entries(runChecks(checks, metrics))) {
      const before = last.get(name) ?? 'ok';
      if (result.status !== before) report(name, before, result);
      last.set(name, result.status);
    }
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
