// Projects in the full export: each project with its description, context and state, as stored.
// A project whose name (in any case) is taken already is left as it is.
import { stmt, type Db } from '../core/db.js';
import { PROJECT_NAME } from '../core/scope.js';
import { BadRecord, emptyImport, recordFrom, reportBad, rowFrom, type AreaTransfer, type Column } from '../core/transfer.js';
import { getProjectNoCase, parseContext } from './store.js';

const COLUMNS: Record<string, Column> = {
  name: 'text',
  description: 'text',
  context: 'json',
  status: 'text',
  version: 'int',
  created_at: 'time',
  updated_at: 'time',
  archived_at: 'time?',
};

export function projectTransfer(db: Db): AreaTransfer {
  return {
    kinds: ['project'],
    *exportRecords() {
      for (const row of db.prepare('SELECT * FROM projects ORDER BY created_at, name').iterate() as Iterable<Record<string, unknown>>) {
        yield recordFrom('project', row, COLUMNS);
      }
    },
    importRecords(records) {
      const report = emptyImport(this.kinds);
      const tally = report.kinds.project;
      db.transaction(() => {
        for (const { line, value } of records) {
          try {
            const row = rowFrom(value, COLUMNS);
            if (!PROJECT_NAME.test(String(row.name)) || String(row.name).toLowerCase() === 'global') throw new BadRecord(`"name" ${JSON.stringify(row.name)} is not a project name`);
            // Only the four lists brain knows, each a list of strings.
            row.context = JSON.stringify(parseContext(String(row.context)));
            if (getProjectNoCase(db, String(row.name))) {
              tally.skipped++;
              continue;
            }
            stmt(db, `INSERT INTO projects (name, description, context, status, version, created_at, updated_at, archived_at)
              VALUES (@name, @description, @context, @status, @version, @created_at, @updated_at, @archived_at)`).run(row);
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
