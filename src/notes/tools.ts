// The one note tool: write, read, list and delete are verbs of one noun, so they share one entry in
// tools/list and its field descriptions. Searching is the `search` tool (src/search/tools.ts),
// which covers notes and memories in one ranked list.
import { z } from 'zod';
import { UserError } from '../core/errors.js';
import { displayProject, readProjectArg, visibleProjects, writeProject, ALL } from '../core/scope.js';
import { allowSecretsArg, refuseSecrets } from '../core/secrets.js';
import type { ActionFields, ToolActions } from '../core/tool-actions.js';
import { defineTool, type AnyTool, type SessionState } from '../core/tool.js';
import { summary, type NotesService } from './service.js';

/** A note read returns at most this much text per call; `offset` reads on. */
const READ_CHARS = 20_000;

const notePath = z.string().min(1).max(400).describe('Path in the notes folder, e.g. "design/api".');
const tag = z.string().trim().toLowerCase().min(1).max(50);
const hash = z.string().regex(/^[0-9a-f]{16}$/, 'base_hash is the 16-character hash a note read or write returned');

export const noteOut = z.object({
  project: z.string(),
  path: z.string(),
  title: z.string(),
  tags: z.array(z.string()),
  updated: z.string(),
  hash: z.string(),
  problems: z.array(z.string()).optional(),
});

const out = (row: Parameters<typeof summary>[0]) => {
  const s = summary(row);
  return { project: displayProject(s.project), path: s.path, title: s.title, tags: s.tags, updated: s.updated, hash: s.hash, ...(s.problems ? { problems: s.problems } : {}) };
};

const ONE_PROJECT = '"*" is for listing; name one project (or "global") to read, write or delete a note.';

/** Exactly one project for a lookup by path: the named one, or the active one then global. */
function lookupProjects(arg: string | undefined, session: SessionState): string[] {
  if (arg === ALL) throw new UserError(ONE_PROJECT);
  return visibleProjects(arg, session)!;
}

/** The project argument of a write or delete, which names one project. */
function oneProject(arg: string | undefined): string | undefined {
  if (arg === ALL) throw new UserError(ONE_PROJECT);
  return arg;
}

const ACTIONS = ['write', 'read', 'list', 'delete'] as const;
type Action = (typeof ACTIONS)[number];
/** Fields each action uses besides `action` and `project`; any other field is named in the error. */
const ACTION_FIELDS: ToolActions = {
  table: {
    write: { takes: ['title', 'path', 'content', 'mode', 'tags', 'base_hash', 'allow_secrets'] },
    read: { takes: ['title', 'path', 'offset'] },
    list: { takes: ['tags', 'folder', 'limit', 'offset'] },
    delete: { takes: ['title', 'path', 'base_hash'] },
  } satisfies Record<Action, ActionFields>,
  always: ['project'],
};

export function noteTools(notes: NotesService): AnyTool[] {
  const note = defineTool({
    name: 'note',
    title: 'Notes',
    description:
      'Markdown notes the user can edit too, for long text (designs, plans, meeting notes): write, read (with links and backlinks), list (newest first) or delete. Link with [[Title]].',
    kind: 'destructive',
    input: {
      action: z.enum(ACTIONS),
      title: z.string().max(200).optional().describe('Or path; write: also names the file.'),
      path: notePath.optional(),
      content: z.string().optional().describe('write: Markdown, without front matter.'),
      mode: z.enum(['create', 'append', 'replace']).default('create').describe('write: append creates if missing; replace needs base_hash.'),
      tags: z.array(tag).max(20).optional().describe('write: tags (append adds); list: only notes with all.'),
      base_hash: hash.optional().describe('The hash you last saw: fails if the note changed since.'),
      project: readProjectArg,
      folder: z.string().max(300).optional().describe('list: paths starting with this.'),
      limit: z.number().int().min(1).max(200).default(30),
      offset: z.number().int().min(0).max(1e8).default(0).describe('read: next_offset of a long note; list: skip this many.'),
      allow_secrets: allowSecretsArg,
    },
    output: {
      project: z.string().optional(),
      path: z.string().optional(),
      title: z.string().optional(),
      tags: z.array(z.string()).optional(),
      updated: z.string().optional(),
      hash: z.string().optional(),
      problems: z.array(z.string()).optional(),
      created: z.string().optional(),
      content: z.string().optional(),
      next_offset: z.number().optional(),
      links: z.array(z.string()).optional(),
      backlinks: z.array(z.object({ project: z.string(), path: z.string(), title: z.string() })).optional(),
      created_file: z.boolean().optional(),
      trash: z.string().optional(),
      total: z.number().optional(),
      notes: z.array(noteOut).optional(),
    },
    actions: ACTION_FIELDS,
    async handle(args, ctx) {
      await notes.settle();
      switch (args.action) {
        case 'write':
          return write(args, ctx.session);
        case 'read':
          return read(args, ctx.session);
        case 'list': {
          const { rows, total } = notes.list({ projects: visibleProjects(args.project, ctx.session), tags: args.tags, prefix: args.folder }, args.offset, args.limit);
          return { total, notes: rows.map(out) };
        }
        case 'delete': {
          const project = writeProject(oneProject(args.project), ctx.session);
          const projects = args.project === undefined ? visibleProjects(undefined, ctx.session)! : [project];
          const { row, trashed } = notes.remove(projects, { path: args.path, title: args.title, baseHash: args.base_hash });
          return { project: displayProject(row.project), path: row.path, ...(trashed ? { trash: trashed } : {}) };
        }
      }
    },
  });

  type Args = { title?: string; path?: string; content?: string; mode: 'create' | 'append' | 'replace'; tags?: string[]; base_hash?: string; project?: string; offset: number; allow_secrets: boolean };

  function write(args: Args, session: SessionState) {
    if (args.title === undefined && args.path === undefined) throw new UserError('Give a "title" (or a "path") for the note.');
    if (args.content === undefined) throw new UserError('note write needs "content": the Markdown text.');
    if (!args.allow_secrets) refuseSecrets({ title: args.title, path: args.path, content: args.content, tags: args.tags });
    const { row, created } = notes.write({
      project: writeProject(oneProject(args.project), session),
      path: args.path,
      title: args.title,
      content: args.content,
      tags: args.tags,
      mode: args.mode,
      baseHash: args.base_hash,
    });
    return { project: displayProject(row.project), path: row.path, title: row.title, hash: row.hash, created_file: created };
  }

  function read(args: Args, session: SessionState) {
    const { row, links, backlinks } = notes.read(lookupProjects(args.project, session), { path: args.path, title: args.title });
    const end = args.offset + READ_CHARS;
    const more = row.body.length > end;
    return {
      ...out(row),
      created: summary(row).created,
      content: row.body.slice(args.offset, end),
      ...(more ? { next_offset: end } : {}),
      links,
      backlinks: backlinks.map((b) => ({ ...b, project: displayProject(b.project) })),
    };
  }

  return [note];
}
