// The `config` table: small operator-controlled switches that every brain process sharing the
// database sees at once (maintenance mode), and bookkeeping of scheduled work (last backup, ...).
import { stmt, toDbTime, type Db } from '../core/db.js';

export function getSetting(db: Db, key: string): string | undefined {
  return stmt(db, `SELECT value FROM config WHERE key = ?`).pluck().get(key) as string | undefined;
}

export function setSetting(db: Db, key: string, value: string, nowMs = Date.now()): void {
  stmt(db, `INSERT INTO config (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`).run(
    key,
    value,
    toDbTime(nowMs),
  );
}

export function deleteSetting(db: Db, key: string): void {
  stmt(db, `DELETE FROM config WHERE key = ?`).run(key);
}

const MAINTENANCE = 'maintenance_mode';
const MAINTENANCE_REASON = 'maintenance_reason';

export interface MaintenanceState {
  on: boolean;
  reason?: string;
  since?: string;
}

export function maintenanceState(db: Db): MaintenanceState {
  const row = stmt(db, `SELECT value, updated_at FROM config WHERE key = ?`).get(MAINTENANCE) as { value: string; updated_at: string } | undefined;
  if (!row || row.value !== 'true') return { on: false };
  return { on: true, reason: getSetting(db, MAINTENANCE_REASON), since: row.updated_at };
}

export function setMaintenance(db: Db, on: boolean, reason?: string): MaintenanceState {
  db.transaction(() => {
    setSetting(db, MAINTENANCE, on ? 'true' : 'false');
    if (on && reason) setSetting(db, MAINTENANCE_REASON, reason);
    else deleteSetting(db, MAINTENANCE_REASON);
  }).immediate();
  return maintenanceState(db);
}

/** The sentence a client gets when it tries to open a session during maintenance. */
export function maintenanceRefusal(db: Db): string | undefined {
  const state = maintenanceState(db);
  if (!state.on) return undefined;
  return `brain is in maintenance mode${state.reason ? ` (${state.reason})` : ''} and is not accepting new sessions; try again in a few minutes. An operator ends it with: brain maintenance off`;
}

/** The refusal for a new session, or undefined; a failing database refuses nothing (its tools report it). */
export function sessionRefusal(db: Db): () => string | undefined {
  return () => {
    try {
      return maintenanceRefusal(db);
    } catch {
      return undefined;
    }
  };
}
