// The maintenance tasks of the database file as a whole: expiry of the slow-query log, WAL
// checkpoints, ANALYZE/VACUUM, and backups with retention. The areas bring their own tasks
// (<area>/tasks.ts); app.ts puts these beside them in the one list the scheduler runs.
import { databaseSizeBytes, truncateWal, type Db } from '../core/db.js';
import type { Config } from '../core/config.js';
import { PURGE_INTERVAL_MS, purged, type MaintenanceTask } from '../core/maintenance.js';
import type { Metrics } from '../core/metrics.js';
import type { EventsService } from '../events/service.js';
import { backupTimeMs, listBackups } from './backup.js';
import { takeBackup } from './backup-job.js';
import { purgeQueryLog } from './query-log.js';

export interface OpsTaskDeps {
  db: Db;
  config: Config;
  metrics: Metrics;
  events: Pick<EventsService, 'record'>;
}

const CHECKPOINT_INTERVAL_MS = 5 * 60_000;

export function opsTasks({ db, config, metrics, events }: OpsTaskDeps): MaintenanceTask[] {
  return [
    {
      name: 'purge.query_log',
      intervalMs: PURGE_INTERVAL_MS,
      startDelayMs: 0,
      run: () => purged('slow-query log rows', { query_log: purgeQueryLog(db, config.retentionDays) }),
    },
    {
      name: 'checkpoint',
      intervalMs: CHECKPOINT_INTERVAL_MS,
      run() {
        // PASSIVE never waits for readers, so the event loop is not held up.
        const [r] = db.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
        return { details: { wal_pages: r.log, checkpointed: r.checkpointed } };
      },
    },
    {
      name: 'optimize',
      intervalMs: Math.round(config.vacuumIntervalHours * 3_600_000),
      persist: true,
      run() {
        const before = databaseSizeBytes(db);
        const t0 = performance.now();
        db.exec('ANALYZE');
        const t1 = performance.now();
        db.exec('VACUUM');
        const t2 = performance.now();
        truncateWal(db);
        const after = databaseSizeBytes(db);
        metrics.databaseSize.set(after);
        const details = { bytes_before: before, bytes_after: after, analyze_ms: Math.round(t1 - t0), vacuum_ms: Math.round(t2 - t1) };
        return { event: `database analysed and vacuumed: ${before} -> ${after} bytes`, details };
      },
    },
    {
      name: 'backup',
      intervalMs: config.backupIntervalMs,
      persist: true,
      // The newest backup on disk, whoever made it: a service that starts with none within one
      // interval takes one at once, so a fresh install has a recovery point (and a quiet
      // BrainBackupStale) from its first minute.
      lastDoneMs() {
        const newest = listBackups(config.backupPath)[0];
        return newest ? backupTimeMs(newest.file) : undefined;
      },
      async run() {
        const r = await takeBackup({ db, config, metrics, events });
        const offsite = !r.offsite ? '' : r.offsite.status === 'ok' ? '; copied off-site' : '; NOT copied off-site (see the backup.offsite event)';
        const event = `backup written to ${r.file} (${r.bytes} bytes, ${r.compressed_bytes} gzipped, integrity ${r.integrity})${offsite}`;
        return { event, details: { ...r, offsite: r.offsite && { status: r.offsite.status, exit_code: r.offsite.exit_code, elapsed_ms: r.offsite.elapsed_ms } } };
      },
    },
  ];
}
