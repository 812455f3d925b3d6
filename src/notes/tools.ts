// The note tools: note_write, note_read, note_list, note_delete. Searching is the `search` tool
// (search-tool.ts), which covers notes and memories in one ranked list.
import { z } from 'zod';
import { UserError } from '../core/errors.js';
import { displayProject, readProjectArg, visibleProjects, writeProject, writeProjectArg, ALL } from '../core/scope.js';
import { allowSecretsArg, refuseSecrets } from '../core/secrets.js';
import { defineTool, type AnyTool, type SessionState } from '../core/tool.js';
import { summary, type NotesService } from './service.js';

/** note_read returns at most this much text per call; `offset` reads on. */
const READ_CHARS = 20_000;

const notePath = z.string().min(1).max(400).describe('Path in the project\'s notes folder, e.g. "design/api".');
const tag = z.string().trim().toLowerCase().min(1).max(50);
const hash = z.string().regex(/^[0-9a-f]{16}$/, 'base_hash is the 16-character hash note_read or note_write returned');

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

/** Exactly one project for a lookup by path: the named one, or the active one then global. */
function lookupProjects(arg: string | undefined, session: SessionState): string[] {
  if (arg === ALL) throw new UserError('"*" is for searching; name one project (or "global") to read, write or delete a note.');
  return visibleProjects(arg, session)!;
}

export function noteTools(notes: NotesService): AnyTool[] {
  const write = defineTool({
    name: 'note_write',
    title: 'Write note',
    description:
      'Save long-form text (designs, plans, meeting notes) as a Markdown note file the user can edit. Link notes with [[Title]].',
    kind: 'write',
    input: {
      title: z.string().max(200).optional().describe('Note title; also names the file when "path" is not given.'),
      path: notePath.optional(),
      content: z.string().describe('Markdown text (without front matter).'),
      mode: z.enum(['create', 'append', 'replace']).default('create').describe('create a new note, append to the end (creates if missing), or replace the text (needs base_hash).'),
      tags: z.array(tag).max(20).optional().describe('Tags (append adds to existing ones).'),
      base_hash: hash.optional().describe('The hash you last read; replace fails if the file changed since.'),
      project: writeProjectArg,
      allow_secrets: allowSecretsArg,
    },
    output: { project: z.string(), path: z.string(), title: z.string(), hash: z.string(), created_file: z.boolean() },
    async handle(args, ctx) {
      await notes.settle();
      if (args.title === undefined && args.path === undefined) throw new UserError('Give a "title" (or a "path") for the note.');
      if (!args.allow_secrets) refuseSecrets({ title: args.title, path: args.path, content: args.content, tags: args.tags });
      const { row, created } = notes.write({
        project: writeProject(args.project, ctx.session),
        path: args.path,
        title: args.title,
        content: args.content,
        tags: args.tags,
        mode: args.mode,
        baseHash: args.base_hash,
      });
      return { project: displayProject(row.project), path: row.path, title: row.title, hash: row.hash, created_file: created };
    },
  });

  const read = defineTool({
    name: 'note_read',
    title: 'Read note',
    description: 'Read a note by path or title, with its [[links]] and the notes linking to it (backlinks).',
    kind: 'read',
    input: {
      path: notePath.optional(),
      title: z.string().max(200).optional().describe('Note title (instead of path).'),
      project: readProjectArg,
      offset: z.number().int().min(0).max(1e8).default(0).describe('Character offset (next_offset of a long note).'),
    },
    output: {
      ...noteOut.shape,
      created: z.string(),
      content: z.string(),
      next_offset: z.number().optional(),
      links: z.array(z.string()),
      backlinks: z.array(z.object({ project: z.string(), path: z.string(), title: z.string() })),
    },
    async handle(args, ctx) {
      await notes.settle();
      const { row, links, backlinks } = notes.read(lookupProjects(args.project, ctx.session), { path: args.path, title: args.title });
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
    },
  });

  const list = defineTool({
    name: 'note_list',
    title: 'List notes',
    description: 'List notes, most recently touched first; filter by tag or folder.',
    kind: 'read',
    input: {
      project: readProjectArg,
      tag: tag.optional().describe('Only notes with this tag.'),
      folder: z.string().max(300).optional().describe('Only notes whose path starts with this, e.g. "design/".'),
      limit: z.number().int().min(1).max(200).default(30).describe('How many.'),
      offset: z.number().int().min(0).max(1_000_000).default(0).describe('Skip this many.'),
    },
    output: { total: z.number(), notes: z.array(noteOut) },
    async handle(args, ctx) {
      await notes.settle();
      const { rows, total } = notes.list({ projects: visibleProjects(args.project, ctx.session), tag: args.tag, prefix: args.folder }, args.offset, args.limit);
      return { total, notes: rows.map(out) };
    },
  });

  const del = defineTool({
    name: 'note_delete',
    title: 'Delete note',
    description: 'Delete a note (the file moves to the notes folder\'s .trash).',
    kind: 'destructive',
    input: {
      path: notePath.optional(),
      title: z.string().max(200).optional().describe('Note title (instead of path).'),
      base_hash: hash.optional().describe('Fail if the note changed since you read this hash.'),
      project: writeProjectArg,
    },
    output: { project: z.string(), path: z.string(), trash: z.string().optional() },
    async handle(args, ctx) {
      await notes.settle();
      const project = writeProject(args.project, ctx.session);
      const projects = args.project === undefined ? visibleProjects(undefined, ctx.session)! : [project];
      const { row, trashed } = notes.remove(projects, { path: args.path, title: args.title, baseHash: args.base_hash });
      return { project: displayProject(row.project), path: row.path, ...(trashed ? { trash: trashed } : {}) };
    },
  });

  return [write, read, list, del];
}
