// The sessions area's maintenance: sessions that expired, or ended longer ago than the retention
// period, are removed.
import { PURGE_INTERVAL_MS, purged, type MaintenanceTask } from '../core/maintenance.js';
import type { SessionService } from './service.js';

export function sessionTasks(sessions: SessionService): MaintenanceTask[] {
  return [
    {
      name: 'purge.sessions',
      intervalMs: PURGE_INTERVAL_MS,
      startDelayMs: 0,
      run: () => purged('sessions', { sessions: sessions.purge() }),
    },
  ];
}
