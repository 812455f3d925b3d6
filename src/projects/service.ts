// The projects area's API: what its tools, init and other areas call.
import type { Db } from '../core/db.js';
import { isoTime } from '../core/time.js';
import { ConflictError, NotFoundError, UserError } from '../core/errors.js';
import { assertProjectName, GLOBAL } from '../core/scope.js';
import { editDistance } from '../text/fuzzy.js';
import * as store from './store.js';
import { projectTransfer } from './transfer.js';
import { CONTEXT_KEYS, type ContextKey, type ProjectContext, type ProjectRow } from './store.js';

export const MAX_ITEMS = 50;
export const MAX_ITEM_CHARS = 1000;
export const MAX_DESCRIPTION_CHARS = 4000;

export interface Project {
  name: string;
  description: string;
  context: ProjectContext;
  status: 'active' | 'archived';
  version: number;
  created_at: string;
  updated_at: string;
}

export interface ProjectUpdate {
  description?: string;
  /** Lists given here replace the stored ones. */
  set?: Partial<ProjectContext>;
  /** Items appended (repeats are skipped). */
  add?: Partial<ProjectContext>;
  /** Items removed (exact text). */
  remove?: Partial<ProjectContext>;
  /** Refuse the update when the project has changed since this version. */
  expectedVersion?: number;
}

export function rowToProject(row: ProjectRow): Project {
  return {
    name: row.name,
    description: row.description,
    context: store.parseContext(row.context),
    status: row.status,
    version: row.version,
    created_at: isoTime(row.created_at),
    updated_at: isoTime(row.updated_at),
  };
}

/**
 * How many edits away a new name may be from an existing project before it reads as a typo of it:
 * two from 4 letters on ("brian" for "brain"), one for names of 2-3 letters ("dem" for "demo",
 * "ap" for "api"), none for a single letter (every other one-letter name is one edit away).
 */
function typoDistance(name: string): number {
  if (name.length >= 4) return 2;
  return name.length >= 2 ? 1 : 0;
}

/** The existing project a new name is most likely a typo of (the closest; the first listed wins a tie). */
function nearName(name: string, projects: ProjectRow[]): ProjectRow | undefined {
  const max = typoDistance(name);
  if (max === 0) return undefined;
  let best: { row: ProjectRow; d: number } | undefined;
  for (const p of projects) {
    const d = editDistance(name.toLowerCase(), p.name.toLowerCase(), max);
    if (d <= max && (!best || d < best.d)) best = { row: p, d };
  }
  return best?.row;
}

export type ProjectService = ReturnType<typeof createProjectService>;

export function createProjectService(db: Db) {
  function mustGet(name: string): ProjectRow {
    const row = store.getProject(db, name);
    if (!row) {
      const known = store.listProjects(db, false).slice(0, 20).map((p) => p.name);
      throw new NotFoundError(`No project "${name}".${known.length ? ` Known projects: ${known.join(', ')}.` : ''} Create it with project {"action": "save", "create": true}.`);
    }
    return row;
  }

  function checkName(name: string) {
    assertProjectName(name);
    if (name.toLowerCase() === GLOBAL) throw new UserError('"global" means "no project" and cannot be a project name; choose another name.');
  }

  function checkContext(ctx: ProjectContext, description: string) {
    if (description.length > MAX_DESCRIPTION_CHARS) throw new UserError(`the description is ${description.length} characters; the limit is ${MAX_DESCRIPTION_CHARS}. Put long text in a note.`);
    for (const key of CONTEXT_KEYS) {
      if (ctx[key].length > MAX_ITEMS) throw new UserError(`${key} would have ${ctx[key].length} items; the limit is ${MAX_ITEMS}. Remove settled ones, or keep long lists in a note.`);
      for (const item of ctx[key]) {
        if (item.length > MAX_ITEM_CHARS) throw new UserError(`an item of ${key} is ${item.length} characters; the limit is ${MAX_ITEM_CHARS}. Put the detail in a note and link it.`);
      }
    }
  }

  /** Refuses a change made against an older version than the stored one. */
  function checkVersion(row: ProjectRow, expected: number | undefined) {
    if (expected !== undefined && expected !== row.version) {
      throw new ConflictError(`Project "${row.name}" changed since version ${expected} (it is now version ${row.version}); read it again with project {"action": "list", "name"} and reapply your change.`);
    }
  }

  const service = {
    /** Projects in the full export (brain export / import). */
    transfer: projectTransfer(db),

    get(name: string): Project {
      return rowToProject(mustGet(name));
    },

    find(name: string): Project | undefined {
      const row = store.getProject(db, name);
      return row ? rowToProject(row) : undefined;
    },

    list(includeArchived = false): Project[] {
      return store.listProjects(db, includeArchived).map(rowToProject);
    },

    create(name: string, description = '', context: Partial<ProjectContext> = {}): Project {
      checkName(name);
      const full = { ...store.emptyContext(), ...context };
      checkContext(full, description);
      return db.transaction(() => {
        const taken = store.getProjectNoCase(db, name);
        if (taken) {
          const how = taken.status === 'archived' ? ` (archived; bring it back with project {"action": "save", "archived": false})` : '';
          throw new ConflictError(`The project name "${name}" is taken by project "${taken.name}"${how}. Choose another name, or use that project.`);
        }
        return rowToProject(store.insertProject(db, name, description, full));
      }).immediate();
    },

    update(name: string, change: ProjectUpdate): Project {
      return db.transaction(() => {
        const row = mustGet(name);
        checkVersion(row, change.expectedVersion);
        const ctx = store.parseContext(row.context);
        for (const key of CONTEXT_KEYS as readonly ContextKey[]) {
          if (change.set?.[key]) ctx[key] = [...new Set(change.set[key])];
          for (const item of change.add?.[key] ?? []) if (!ctx[key].includes(item)) ctx[key].push(item);
          const gone = change.remove?.[key];
          if (gone?.length) {
            const missing = gone.filter((g) => !ctx[key].includes(g));
            if (missing.length) throw new UserError(`${key} has no item ${JSON.stringify(missing[0])}; remove items by their exact text (project {"action": "list", "name"} shows them).`);
            ctx[key] = ctx[key].filter((item) => !gone.includes(item));
          }
        }
        const description = change.description ?? row.description;
        checkContext(ctx, description);
        return rowToProject(store.saveProject(db, name, description, ctx));
      }).immediate();
    },

    /**
     * A save that archives (or restores) a project, with or without an edit: both happen, or
     * neither does (archiving the active project is refused after the edit was checked; the edit
     * must not stay), and `expectedVersion` holds for the archiving too.
     */
    updateAndArchive(name: string, change: ProjectUpdate, archived: boolean, activeProject: string): Project {
      return db.transaction(() => {
        const edits = change.description !== undefined || change.set || change.add || change.remove;
        if (edits) service.update(name, change);
        else checkVersion(mustGet(name), change.expectedVersion);
        return service.archive(name, activeProject, !archived);
      }).immediate();
    },

    /** Archiving hides a project from lists and from use; nothing in it is deleted. */
    archive(name: string, activeProject: string, restore = false): Project {
      return db.transaction(() => {
        const row = mustGet(name);
        if (!restore && name === activeProject) {
          throw new UserError(`"${name}" is this session's active project and cannot be archived while in use; switch first with project {"action": "use"} (e.g. to "global"), then archive it.`);
        }
        if ((row.status === 'archived') === !restore) return rowToProject(row);
        return rowToProject(store.setArchived(db, name, !restore));
      }).immediate();
    },

    /**
     * The project a session is about to work in: created on first use (so `init {project}` just
     * works for a new repository), refused when archived, and not created when the name is one
     * or two letters away from an existing project (a typo would start an empty project and
     * scatter memories; see typoDistance for how near is near) unless `create` says a new one is meant.
     * `flag` is the argument that says so in the tool being called, for the refusal to name.
     */
    ensureUsable(name: string, create = false, flag = 'create_project'): Project {
      checkName(name);
      const row = store.getProject(db, name);
      if (row?.status === 'archived') {
        throw new UserError(`Project "${name}" is archived; restore it with project {"action": "save", "archived": false} before working in it.`);
      }
      if (row) return rowToProject(row);
      const other = store.getProjectNoCase(db, name);
      if (other) throw new ConflictError(`There is a project "${other.name}" already; names differing only in case would share a notes folder. Use "${other.name}".`);
      if (!create) {
        const near = nearName(name, store.listProjects(db, false));
        if (near) {
          throw new UserError(`There is no project "${name}", but there is "${near.name}". Use "${near.name}", or call again with "${flag}": true to start a new project named "${name}".`);
        }
      }
      try {
        return rowToProject(store.insertProject(db, name, '', store.emptyContext()));
      } catch (err) {
        // Another process created it at the same moment: that is the project we want.
        const again = store.getProject(db, name);
        if (again) return rowToProject(again);
        throw err;
      }
    },
  };
  return service;
}
