// The execution area's maintenance: execution records older than the retention period go, with
// their stored output files.
import { PURGE_INTERVAL_MS, purged, type MaintenanceTask } from '../core/maintenance.js';
import type { ExecutionService } from './service.js';

export function executionTasks(executions: ExecutionService, retentionDays: number): MaintenanceTask[] {
  return [
    {
      name: 'purge.executions',
      intervalMs: PURGE_INTERVAL_MS,
      startDelayMs: 0,
      run: () => purged('executions', { executions: executions.purge(retentionDays) }),
    },
  ];
}
