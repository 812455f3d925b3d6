// The events area's maintenance: events older than the retention period (at least 30 days) go.
import { PURGE_INTERVAL_MS, purged, type MaintenanceTask } from '../core/maintenance.js';
import type { EventsService } from './service.js';

export function eventTasks(events: EventsService): MaintenanceTask[] {
  return [
    {
      name: 'purge.events',
      intervalMs: PURGE_INTERVAL_MS,
      startDelayMs: 0,
      run: () => purged('events', { events: events.purge() }),
    },
  ];
}
