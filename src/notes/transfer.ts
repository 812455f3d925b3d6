// Notes in the full export: each note's file as it is on disk (front matter and body), with the
// project and path it lives at; title, tags and times beside it for a reader of the file. Import
// writes the file (its modification time set to the note's updated time) and indexes it. A path
// that holds a file already is left as it is.
import fs from 'node:fs';
import type { Db } from '../core/db.js';
import { fromDbTime } from '../core/db.js';
import { PROJECT_NAME } from '../core/scope.js';
import { UserError } from '../core/errors.js';
import { BadRecord, emptyImport, reportBad, rowFrom, type AreaTransfer, type ExportRecord } from '../core/transfer.js';
import { installStaged, stageFile, symlinkOnPath, type Installed } from './files.js';
import { checkNotePath, noteFile } from './paths.js';
import * as store from './store.js';
import { entryFor } from './sync.js';

export function noteTransfer(db: Db, root: string, ensureFresh: () => void): AreaTransfer {
  return {
    kinds: ['note'],
    *exportRecords() {
      ensureFresh();
      const rows = db.prepare('SELECT project, path, title, tags, created_at, updated_at FROM notes ORDER BY project, path').all() as Pick<store.NoteRow, 'project' | 'path' | 'title' | 'tags' | 'created_at' | 'updated_at'>[];
      for (const row of rows) {
        let text: string;
        try {
          text = fs.readFileSync(noteFile(root, row.project, row.path), 'utf8');
        } catch {
          continue; // deleted since the index saw it: not a note any more
        }
        const record: ExportRecord = { kind: 'note', project: row.project, path: row.path, title: row.title, tags: JSON.parse(row.tags) as unknown, created_at: row.created_at, updated_at: row.updated_at, text };
        yield record;
      }
    },
    importRecords(records) {
      const report = emptyImport(this.kinds);
      const tally = report.kinds.note;
      ensureFresh();
      for (const { line, value } of records) {
        try {
          const v = rowFrom(value, { project: 'text', path: 'text', text: 'text', updated_at: 'time?' });
          const project = String(v.project);
          if (project !== '' && !PROJECT_NAME.test(project)) throw new BadRecord(`"project" ${JSON.stringify(project)} is not a project name`);
          let rel: string;
          try {
            rel = checkNotePath(String(v.path));
          } catch (err) {
            if (err instanceof UserError) throw new BadRecord(err.message);
            throw err;
          }
          const file = noteFile(root, project, rel);
          if (symlinkOnPath(root, file)) throw new BadRecord(`"${rel}" goes through a symbolic link in the notes folder`);
          // File first, then the index, both while holding the write lock other brains take too.
          // The file is taken back if the index write fails, so a failed import leaves nothing.
          let installed: Installed | undefined;
          let created: boolean;
          try {
            created = db.transaction(() => {
              if (fs.existsSync(file) || store.getNote(db, project, rel)) return false;
              const { tmp } = stageFile(file, String(v.text));
              installed = installStaged(tmp, file, true);
              if (v.updated_at !== null) {
                const when = new Date(fromDbTime(String(v.updated_at)));
                fs.utimesSync(file, when, when);
              }
              store.putNote(db, entryFor(project, rel, fs.readFileSync(file), fs.statSync(file)));
              return true;
            }).immediate();
          } catch (err) {
            installed?.undo();
            throw err;
          }
          installed?.keep();
          if (created) tally.created++;
          else tally.skipped++;
        } catch (err) {
          reportBad(report, line, err);
        }
      }
      return report;
    },
  };
}
