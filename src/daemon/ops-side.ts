// The metrics side port for one brain process (daemon or embedded): health checks over this
// process's database, gauges refreshed at scrape time, and the admin actions.
import type { App } from '../app.js';
import { databaseSizeBytes, fromDbTime } from '../core/db.js';
import { startOpsServer, type HealthCheck, type OpsServer } from '../core/ops-http.js';
import { listBackups } from '../ops/backup.js';
import { databaseCheck, diskCheck, memoryCheck, runChecks, type CheckFn } from '../ops/health.js';
import { maintenanceState } from '../ops/settings.js';

export interface OpsSideOptions {
  app: App;
  ready: () => boolean;
  /** Bearer tokens that may use /admin/* (none: admin actions are off). */
  adminTokens: readonly string[];
}

export function healthChecks(app: App): Record<string, CheckFn> {
  return {
    database: databaseCheck(app.db, app.config.dbPath),
    workers: (): HealthCheck => app.executions.health(),
    memory: memoryCheck,
    disk: () => diskCheck(app.config.dbPath),
  };
}

/**
 * The backup gauges as they stood before this process started: the newest backup on disk, and the
 * off-site hook's last success and failure as events recorded them. Starting them at 0 would let a
 * restart silence BrainBackupOffsiteFailing (failure newer than success) until the next failure,
 * and restart its 30 minutes.
 */
export function restoreBackupGauges(app: App): void {
  const { config, db, metrics } = app;
  const newest = listBackups(config.backupPath)[0];
  if (newest) metrics.backupLastSuccess.set(newest.mtimeMs / 1000);
  if (!config.backupHook) return;
  const lastAt = (sql: string) => {
    const at = db.prepare(sql).pluck().get() as string | undefined;
    return at ? fromDbTime(at) / 1000 : undefined;
  };
  const failed = lastAt(`SELECT created_at FROM events WHERE event_type = 'backup.offsite' ORDER BY id DESC LIMIT 1`);
  const copied = lastAt(
    `SELECT created_at FROM events WHERE event_type = 'maintenance.backup' AND json_extract(details, '$.offsite.status') = 'ok' ORDER BY id DESC LIMIT 1`,
  );
  if (failed !== undefined) metrics.backupOffsiteLastFailure.set(failed);
  if (copied !== undefined) metrics.backupOffsiteLastSuccess.set(copied);
}

export function startOpsSide(opts: OpsSideOptions): Promise<OpsServer | undefined> {
  const { app } = opts;
  const { config, db, metrics, memories, events } = app;
  const checks = healthChecks(app);
  restoreBackupGauges(app);
  const admin = new Map<string, () => unknown>([
    ['backup', async () => ({ ok: await app.maintenance.runNow('backup'), newest: listBackups(config.backupPath)[0]?.file ?? null })],
    // What `brain stats` prints, from this process: its recall index and word queue are its own.
    ['memory-stats', () => memories.stats()],
    [
      'rebalance-memory',
      () => {
        const r = memories.rebalance('manual');
        events.record('memory.rebalance', 'info', `memory tiers rebalanced on request: ${r.promoted} promoted, ${r.demoted} demoted`, { ...r });
        return r;
      },
    ],
  ]);
  return startOpsServer({
    host: config.metricsHost,
    port: config.metricsPort,
    metrics,
    logger: app.logger,
    beforeScrape() {
      runChecks(checks, metrics);
      memories.observe();
      metrics.databaseSize.set(databaseSizeBytes(db));
      metrics.maintenanceMode.set(maintenanceState(db).on ? 1 : 0);
    },
    health: () => runChecks(checks, metrics),
    ready: opts.ready,
    admin,
    adminTokens: opts.adminTokens,
  });
}
