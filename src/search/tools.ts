// One search over memories and notes: each area ranks its own hits on a 0..1 scale (mostly text
// match, then recency and, for memories, importance and use); the lists are merged by that score.
import { z } from 'zod';
import { displayProject, readProjectArg, visibleProjects } from '../core/scope.js';
import { defineTool, type AnyTool } from '../core/tool.js';
import type { MemoryService } from '../memory/service.js';
import { snippetOf } from '../memory/search.js';
import { isoTime } from '../core/time.js';
import { queryTerms } from '../memory/fts-query.js';
import { UserError } from '../core/errors.js';
import type { NotesService } from '../notes/service.js';

const SNIPPET_CHARS = 300;

const clip = (s: string) => (s.length > SNIPPET_CHARS ? s.slice(0, SNIPPET_CHARS) + '…' : s);

export function searchTools(memories: MemoryService, notes: NotesService): AnyTool[] {
  const search = defineTool({
    name: 'search',
    title: 'Search memories and notes',
    description: 'Search memories and notes together by words; one ranked list. Use note_read or recall for the full text.',
    kind: 'read',
    input: {
      query: z.string().min(1, 'query cannot be empty').max(500).describe('A few words.'),
      in: z.enum(['all', 'memories', 'notes']).default('all').describe('What to search.'),
      project: readProjectArg,
      tag: z.string().trim().toLowerCase().min(1).max(50).optional().describe('Only items with this tag.'),
      limit: z.number().int().min(1).max(50).default(10).describe('How many results.'),
    },
    output: {
      results: z.array(
        z.object({
          kind: z.enum(['memory', 'note']),
          project: z.string(),
          title: z.string().describe('Memory key or note title.'),
          path: z.string().optional(),
          snippet: z.string(),
          updated: z.string(),
          score: z.number(),
        }),
      ),
    },
    async handle(args, ctx) {
      if (queryTerms(args.query).length === 0) throw new UserError('"query" has no words to search for; give a few words (letters or digits).');
      await notes.settle();
      const projects = visibleProjects(args.project, ctx.session);
      type Result = { kind: 'memory' | 'note'; project: string; title: string; path?: string; snippet: string; updated: string; score: number };
      const results: Result[] = [];
      if (args.in !== 'notes') {
        const found = memories.search(args.query, { projects, tags: args.tag ? [args.tag] : undefined }, args.limit);
        for (const h of found.hits) {
          results.push({
            kind: 'memory',
            project: displayProject(h.row.project),
            title: h.row.key,
            snippet: snippetOf(h.row.content, found.terms, SNIPPET_CHARS),
            updated: isoTime(h.row.updated_at),
            score: h.score,
          });
        }
      }
      if (args.in !== 'memories') {
        for (const h of notes.search(args.query, { projects, tag: args.tag }, args.limit)) {
          results.push({
            kind: 'note',
            project: displayProject(h.project),
            title: h.title,
            path: h.path,
            snippet: clip(h.snippet),
            updated: h.updated,
            score: h.score,
          });
        }
      }
      results.sort((a, b) => b.score - a.score);
      return { results: results.slice(0, args.limit) };
    },
  });
  return [search];
}
