// The events area's API: other areas and the daemon record what happened through `record`;
// the tools, the CLI and the operations side use the rest.
import type { Db } from '../core/db.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import * as store from './store.js';
import { eventTransfer } from './transfer.js';

export type EventsService = ReturnType<typeof createEventsService>;

export function createEventsService(opts: { db: Db; metrics: Metrics; logger: Logger; retentionDays: number }) {
  const { db, metrics, logger } = opts;
  function create(e: store.NewEvent): store.EventRow {
    const row = store.insertEvent(db, e);
    metrics.events.inc({ type: row.event_type, severity: row.severity });
    return row;
  }

  return {
    create,

    /**
     * Records one of brain's own events. Never throws: a system event that cannot be written
     * (database gone, disk full) is logged instead, and the work that caused it carries on.
     */
    record(type: string, severity: store.Severity, message: string, details?: Record<string, unknown>): store.EventRow | undefined {
      try {
        return create({ type, severity, message, source: 'brain', details: details ?? null });
      } catch (err) {
        logger.warn('could not record event', { type, severity, message, error: String(err) });
        return undefined;
      }
    },

    get: (id: number) => store.getEvent(db, id),
    update: (id: number, patch: store.EventPatch) => store.updateEvent(db, id, patch),
    delete: (id: number) => store.deleteEvent(db, id),
    list: (filter: store.EventFilter, limit: number, beforeId?: number) => store.listEvents(db, filter, limit, beforeId),
    stats: (filter: store.EventFilter) => store.eventStats(db, filter),
    purge: () => store.purgeEvents(db, Math.max(opts.retentionDays, 30)),
    /** Events in the full export (brain export / import). */
    transfer: eventTransfer(db),
  };
}
