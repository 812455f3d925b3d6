// The sessions area's maintenance: sessions that expired, or ended longer ago than the retention
// period, are removed.
import type { Db } from '../core/db.js';
import { PURGE_INTERVAL_MS, purged, type MaintenanceTask } from '../core/maintenance.js';
import { purgeSessions } from './store.js';

export function sessionTasks(db: Db, retentionDays: number): MaintenanceTask[] {
  return [
    {
      name: 'purge.sessions',
      intervalMs: PURGE_INTERVAL_MS,
      startDelayMs: 0,
      run: () => purged('sessions', { sessions: purgeSessions(db, retentionDays) }),
    },
  ];
}
