// The sessions area's API: a session is one assistant conversation that called init (or used a
// tool). It lives for BRAIN_SESSION_TTL after its last use; ended and expired ones are kept for
// the retention period, then purged.
import type { Db } from '../core/db.js';
import * as store from './store.js';

export interface SessionServiceOptions {
  db: Db;
  ttlMs: number;
  retentionDays: number;
}

export type SessionService = ReturnType<typeof createSessionService>;

export function createSessionService(opts: SessionServiceOptions) {
  const { db, ttlMs } = opts;
  return {
    /** The session with this id, unless it ended, expired or never existed. */
    live: (id: string) => store.getLiveSession(db, id),

    start: (client: string | null, project: string) => store.createSession(db, client, project, ttlMs),

    /** The session was used now, in `project`: it lives another TTL from here. */
    touch: (id: string, project: string) => store.touchSession(db, id, project, ttlMs),

    /** The conversation closed (its connection went away). */
    end: (id: string) => store.endSession(db, id),

    /** Expired and ended sessions older than the retention period go; returns how many. */
    purge: () => store.purgeSessions(db, opts.retentionDays),
  };
}
