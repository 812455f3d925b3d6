// Tells open sessions when maintenance mode starts or ends. The switch is a row in the database
// that `brain maintenance on` may set from another process, so every serving process looks at it
// every couple of seconds (one indexed read) and announces a change on its notice board: new
// sessions are refused from then on, and the people in open ones should know why.
import type { Db } from '../core/db.js';
import type { Logger } from '../core/logger.js';
import type { NoticeBoard } from '../core/notices.js';
import { maintenanceState } from '../ops/settings.js';

export const MAINTENANCE_POLL_MS = 2000;

/** Starts watching; returns the stop function. */
export function announceMaintenance(db: Db, notices: NoticeBoard, logger: Logger, pollMs = MAINTENANCE_POLL_MS): () => void {
  let on: boolean | undefined;
  const look = () => {
    let state;
    try {
      state = maintenanceState(db);
    } catch (err) {
      // The database is unwell: /health and the tools say so; the next look tries again.
      logger.debug('maintenance mode check failed', { error: String(err) });
      return;
    }
    if (on === undefined || state.on === on) {
      on = state.on;
      return;
    }
    on = state.on;
    if (state.on) {
      notices.publish(
        'warning',
        `brain is in maintenance mode${state.reason ? ` (${state.reason})` : ''}: new sessions are refused until an operator ends it; this session keeps working.`,
        { maintenance: true, ...(state.reason ? { reason: state.reason } : {}) },
      );
    } else {
      notices.publish('notice', 'brain maintenance mode has ended; new sessions are accepted again.', { maintenance: false });
    }
  };
  look();
  const timer = setInterval(look, pollMs);
  timer.unref();
  return () => clearInterval(timer);
}
