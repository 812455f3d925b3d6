// What init shows of notes: the most recently touched ones in the active project and global.
import { z } from 'zod';
import { displayProject, visibleProjects } from '../core/scope.js';
import type { InitSection } from '../sessions/types.js';
import type { NotesService } from './service.js';
import { summary } from './service.js';

const MAX_NOTES = 15;

const schema = z.array(z.object({ project: z.string(), path: z.string(), title: z.string(), updated: z.string() }));

export function notesInitSection(notes: NotesService): InitSection {
  return {
    name: 'recent_notes',
    shows: 'recent notes',
    schema,
    build(session, budgetChars) {
      let rows;
      try {
        rows = notes.recent(visibleProjects(undefined, session)!, MAX_NOTES);
      } catch {
        // An unusable notes folder must not stop init; the note tools report it when used.
        return undefined;
      }
      const out: z.infer<typeof schema> = [];
      let used = 2;
      for (const row of rows) {
        const s = summary(row);
        const item = { project: displayProject(s.project), path: s.path, title: s.title, updated: s.updated };
        const size = JSON.stringify(item).length + 1;
        if (used + size > budgetChars) break;
        out.push(item);
        used += size;
      }
      return out;
    },
    more(session, shown) {
      const total = notes.list({ projects: visibleProjects(undefined, session) }, 0, 1).total;
      const rest = total - (shown as unknown[]).length;
      return rest > 0 ? `${rest} more notes: note {"action": "list"}, or search.` : undefined;
    },
  };
}
