// The notes area's maintenance: notes edited while brain was not running are reconciled from
// start-up on, in batches on later turns of the event loop, so the MCP handshake is not held up
// (the first notes call finishes whatever is left).
import type { MaintenanceTask } from '../core/maintenance.js';
import type { NotesService } from './service.js';

export function noteTasks(notes: NotesService): MaintenanceTask[] {
  return [
    {
      name: 'notes.reconcile',
      intervalMs: 0,
      startDelayMs: 0,
      run: () => notes.sync.startInBackground(),
    },
  ];
}
