// Notes as brain:// resources: brain://notes/<project or "global">/<path>, the file as it is on disk.
import fs from 'node:fs';
import { UserError } from '../core/errors.js';
import { displayProject, GLOBAL, PROJECT_NAME, visibleProjects } from '../core/scope.js';
import { completeFrom, type ResourceProvider } from '../core/server.js';
import { checkNotePath, noteFile } from './paths.js';
import type { NotesService } from './service.js';

const PREFIX = 'brain://notes/';
const LISTED = 50;
/** Notes a path completion looks through (the most recently changed first). */
const COMPLETION_POOL = 1000;

export function noteUri(project: string, rel: string): string {
  return PREFIX + [displayProject(project), ...rel.split('/')].map(encodeURIComponent).join('/');
}

function parse(uri: string): { project: string; rel: string } {
  let parts: string[];
  try {
    parts = uri.slice(PREFIX.length).split('/').map(decodeURIComponent);
  } catch {
    throw new UserError(`${uri} is not a valid note URI: use brain://notes/<project or global>/<path>.`);
  }
  const [first, ...rest] = parts;
  if (!first || !rest.length || (first !== GLOBAL && !PROJECT_NAME.test(first))) {
    throw new UserError(`${uri} is not a valid note URI: use brain://notes/<project or global>/<path>.`);
  }
  return { project: first === GLOBAL ? '' : first, rel: checkNotePath(rest.join('/')) };
}

/** `projectNames`: every project's name, for completing the {project} part of a note's URI. */
export function noteResources(notes: NotesService, root: string, projectNames: () => string[]): ResourceProvider {
  return {
    templates: [
      {
        uriTemplate: 'brain://notes/{project}/{+path}',
        name: 'note',
        title: 'Note',
        description: 'A Markdown note with its front matter; project "global" for global notes.',
        mimeType: 'text/markdown',
        complete: {
          project: (typed) => completeFrom([GLOBAL, ...projectNames()], typed),
          // What was typed may be part of the path or of the title; the URI takes the path.
          path: (typed, chosen, session) => {
            const project = chosen.project === undefined ? session.project : chosen.project === GLOBAL ? '' : chosen.project;
            if (!PROJECT_NAME.test(project) && project !== '') return [];
            const rows = notes.recent([project], COMPLETION_POOL);
            const byPath = new Set(completeFrom(rows.map((r) => r.path), typed));
            const byTitle = rows.filter((r) => !byPath.has(r.path) && completeFrom([r.title], typed).length).map((r) => r.path);
            return [...byPath, ...byTitle];
          },
        },
      },
    ],
    list(session) {
      return notes.recent(visibleProjects(undefined, session)!, LISTED).map((row) => ({
        uri: noteUri(row.project, row.path),
        name: row.path,
        title: row.title,
        mimeType: 'text/markdown',
      }));
    },
    read(uri) {
      if (!uri.startsWith(PREFIX)) return undefined;
      const { project, rel } = parse(uri);
      const row = notes.locate([project], { path: rel });
      return { uri, mimeType: 'text/markdown', text: fs.readFileSync(noteFile(root, row.project, row.path), 'utf8') };
    },
  };
}
