// Events in the full export, as stored (ids and times kept). An event already in the log (same
// type, time and message) is skipped; one whose id is taken by another event gets a new id
// (nothing refers to event ids), so logs of two brains merge.
import { stmt, type Db } from '../core/db.js';
import { emptyImport, recordFrom, reportBad, rowFrom, type AreaTransfer, type Column } from '../core/transfer.js';

const COLUMNS: Record<string, Column> = {
  id: 'int',
  event_type: 'text',
  severity: 'text',
  message: 'text',
  source: 'text?',
  details: 'json?',
  created_at: 'time',
  updated_at: 'time',
};

export function eventTransfer(db: Db): AreaTransfer {
  return {
    kinds: ['event'],
    *exportRecords() {
      for (const row of db.prepare('SELECT * FROM events ORDER BY id').iterate() as Iterable<Record<string, unknown>>) {
        yield recordFrom('event', row, COLUMNS);
      }
    },
    importRecords(records) {
      const report = emptyImport(this.kinds);
      const tally = report.kinds.event;
      db.transaction(() => {
        for (const { line, value } of records) {
          try {
            const row = rowFrom(value, COLUMNS);
            if (stmt(db, 'SELECT 1 FROM events WHERE event_type = ? AND created_at = ? AND message = ?').get(row.event_type, row.created_at, row.message)) {
              tally.skipped++;
              continue;
            }
            const idFree = !stmt(db, 'SELECT 1 FROM events WHERE id = ?').get(row.id);
            stmt(db, `INSERT INTO events (id, event_type, severity, message, source, details, created_at, updated_at)
              VALUES (@id, @event_type, @severity, @message, @source, @details, @created_at, @updated_at)`).run({ ...row, id: idFree ? row.id : null });
            tally.created++;
          } catch (err) {
            reportBad(report, line, err);
          }
        }
      }).immediate();
      return report;
    },
  };
}
