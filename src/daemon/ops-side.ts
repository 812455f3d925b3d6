// The metrics side port for one brain process (daemon or embedded): health checks over this
// process's database, gauges refreshed at scrape time, and the admin actions.
import type { App } from '../app.js';
import { databaseSizeBytes } from '../core/db.js';
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

export function startOpsSide(opts: OpsSideOptions): Promise<OpsServer | undefined> {
  const { app } = opts;
  const { config, db, metrics, memories, events } = app;
  const checks = healthChecks(app);
  const newest = listBackups(config.backupPath)[0];
  if (newest) metrics.backupLastSuccess.set(newest.mtimeMs / 1000);
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
