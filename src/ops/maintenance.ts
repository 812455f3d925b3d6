// The maintenance tasks `brain serve` schedules (and `brain maintain` runs once): memory tiers,
// expiry of memories, sessions, events and the slow-query log, WAL checkpoints, ANALYZE/VACUUM,
// and backups with retention.
import { databaseSizeBytes, truncateWal, type Db } from '../core/db.js';
import type { Config } from '../core/config.js';
import type { Metrics } from '../core/metrics.js';
import type { EventsService } from '../events/service.js';
import type { MemoryService } from '../memory/service.js';
import { purgeSessions } from '../sessions/store.js';
import { backupDatabase } from './backup.js';
import { purgeQueryLog, timed, type SlowQueryRecorder } from './query-log.js';
import type { Task } from './scheduler.js';

export interface MaintenanceDeps {
  db: Db;
  config: Config;
  metrics: Metrics;
  memories: MemoryService;
  events: EventsService;
  /** Old execution records and their output files expire with the rest. */
  executions: { purge(retentionDays: number): number };
  slow: SlowQueryRecorder;
}

const CHECKPOINT_INTERVAL_MS = 5 * 60_000;
const PURGE_INTERVAL_MS = 60 * 60_000;

export function maintenanceTasks(d: MaintenanceDeps): Task[] {
  const { db, config, memories, events, slow } = d;
  return [
    {
      name: 'rebalance',
      intervalMs: config.rebalanceIntervalMs,
      run() {
        const r = timed(slow, 'maintenance: rebalance memory tiers', () => memories.rebalance('schedule'));
        return r.promoted || r.demoted
          ? { event: `memory tiers rebalanced: ${r.promoted} promoted, ${r.demoted} demoted; hot tier holds ${r.hot_items}`, details: { ...r } }
          : { details: { ...r } };
      },
    },
    {
      name: 'purge',
      intervalMs: PURGE_INTERVAL_MS,
      run() {
        const memoriesPurged = timed(slow, 'maintenance: purge memories', () => memories.purge());
        const sessions = timed(slow, 'DELETE FROM sessions WHERE expires_at < ? OR ended_at < ?', () => purgeSessions(db, config.retentionDays));
        const eventsPurged = timed(slow, 'DELETE FROM events WHERE created_at < ?', () => events.purge());
        const queries = purgeQueryLog(db, config.retentionDays);
        const executions = timed(slow, 'maintenance: purge executions', () => d.executions.purge(config.retentionDays));
        const details = { ...memoriesPurged, sessions, events: eventsPurged, query_log: queries, executions };
        const removed = Object.values(details).reduce<number>((a, b) => a + (typeof b === 'number' ? b : 0), 0);
        return removed ? { event: `expired data removed: ${JSON.stringify(details)}`, details } : { details };
      },
    },
    {
      name: 'checkpoint',
      intervalMs: CHECKPOINT_INTERVAL_MS,
      run() {
        // PASSIVE never waits for readers, so the daemon's event loop is not held up.
        const [r] = timed(slow, 'PRAGMA wal_checkpoint(PASSIVE)', () => db.pragma('wal_checkpoint(PASSIVE)')) as { busy: number; log: number; checkpointed: number }[];
        return { details: { wal_pages: r.log, checkpointed: r.checkpointed } };
      },
    },
    {
      name: 'optimize',
      intervalMs: Math.round(config.vacuumIntervalHours * 3_600_000),
      persist: true,
      run() {
        const before = databaseSizeBytes(db);
        timed(slow, 'ANALYZE', () => db.exec('ANALYZE'));
        timed(slow, 'VACUUM', () => db.exec('VACUUM'));
        timed(slow, 'PRAGMA wal_checkpoint(TRUNCATE)', () => truncateWal(db));
        const after = databaseSizeBytes(db);
        d.metrics.databaseSize.set(after);
        return { event: `database analysed and vacuumed: ${before} -> ${after} bytes`, details: { bytes_before: before, bytes_after: after } };
      },
    },
    {
      name: 'backup',
      intervalMs: config.backupIntervalMs,
      persist: true,
      async run() {
        const r = await backupDatabase(db, config.backupPath, config.backupKeep, Date.now(), config.notesPath);
        d.metrics.backupLastSuccess.set(Date.now() / 1000);
        return { event: `backup written to ${r.file} (${r.bytes} bytes, integrity ${r.integrity})`, details: { ...r } };
      },
    },
  ];
}
