// One search over memories and notes, in one ranked list.
//
// Each area finds its candidates its own way (every word, then some, then corrected words), but
// their own scores cannot be merged: each scales BM25 against its own best result, with its own
// collection's word counts, so the best memory and the best note both score 1 however well either
// matched. The union of both areas' candidates is therefore scored once more, by one scorer
// (src/text/score.ts): the same BM25 over key or title, tags and text, with word counts of both
// collections together, scaled against the best item of the union. That text score is blended by
// the same rankScore recall uses; a note has no importance, tier or use count, and counts as a
// memory just written would (NEW_ITEM), with the recency of its last edit or read.
import { z } from 'zod';
import { UserError } from '../core/errors.js';
import { displayProject, readProjectArg, visibleProjects } from '../core/scope.js';
import { defineTool, type AnyTool } from '../core/tool.js';
import type { MemoryService } from '../memory/service.js';
import { isoTime } from '../core/time.js';
import type { NotesService } from '../notes/service.js';
import { hasWords, parseQuery } from '../text/query.js';
import { NEW_ITEM, rankScore, recencyOf, type RankSignals } from '../text/rank.js';
import { addStats, NO_STATS, queryStems, scoreTexts, type ScoredText } from '../text/score.js';
import { snippetOf } from '../text/snippet.js';
import { COMMON_SYNONYMS } from '../text/synonyms.js';

const SNIPPET_CHARS = 300;

interface Result {
  kind: 'memory' | 'note';
  project: string;
  title: string;
  path?: string;
  snippet: string;
  updated: string;
  score: number;
}

interface Candidate {
  result: Omit<Result, 'score' | 'snippet'>;
  text: ScoredText;
  signals: Omit<RankSignals, 'text'>;
}

/** `memories` undefined: the memory capability is off, and search covers notes only. */
export function searchTools(memories: MemoryService | undefined, notes: NotesService): AnyTool[] {
  const search = defineTool({
    name: 'search',
    title: 'Search memories and notes',
    description: 'Search notes and memories together by a few words, in one ranked list of excerpts.',
    kind: 'read',
    input: {
      query: z.string().min(1, 'query cannot be empty').max(500),
      in: z.enum(['all', 'memories', 'notes']).default('all'),
      project: readProjectArg,
      tag: z.string().trim().toLowerCase().min(1).max(50).optional(),
      limit: z.number().int().min(1).max(50).default(10),
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
      const query = parseQuery(args.query);
      if (!hasWords(query)) throw new UserError('"query" has no words to search for; give a few words (letters or digits).');
      await notes.settle();
      const nowMs = Date.now();
      const projects = visibleProjects(args.project, ctx.session);
      const stems = queryStems(query, COMMON_SYNONYMS);
      let stats = NO_STATS;
      const candidates: Candidate[] = [];
      if (args.in === 'memories' && !memories) throw new UserError('Memories are off in this brain (BRAIN_TOOLS leaves out memory): search notes, or add memory to BRAIN_TOOLS.');
      if (args.in !== 'notes' && memories) {
        const found = memories.search(query, { projects, tags: args.tag ? [args.tag] : undefined }, args.limit);
        stats = addStats(stats, found.wordStats(stems));
        for (const h of found.hits) {
          candidates.push({
            result: { kind: 'memory', project: displayProject(h.row.project), title: h.row.key, updated: isoTime(h.row.updated_at) },
            text: { title: h.row.key, tags: h.row.tags, body: h.row.content },
            signals: { importance: h.row.importance, hot: h.row.storage_tier === 'hot', accesses: h.why.accesses, recency: h.why.recency },
          });
        }
      }
      if (args.in !== 'memories') {
        const found = notes.search(query, { projects, tag: args.tag }, args.limit, nowMs);
        stats = addStats(stats, found.wordStats(stems));
        for (const h of found.hits) {
          candidates.push({
            result: { kind: 'note', project: displayProject(h.project), title: h.title, path: h.path, updated: h.updated },
            text: { title: h.title, tags: h.tags.join(' '), body: h.body },
            signals: { ...NEW_ITEM, recency: recencyOf(h.lastUsedMs, nowMs) },
          });
        }
      }
      const texts = scoreTexts(query, stems, candidates.map((c) => c.text), stats);
      const ranked = candidates
        .map((c, i) => ({ c, score: rankScore({ text: texts[i].text, ...c.signals }) }))
        .sort((a, b) => b.score - a.score)
        .slice(0, args.limit);
      const results: Result[] = ranked.map(({ c, score }) => ({ ...c.result, snippet: snippetOf(c.text.body, query.terms, SNIPPET_CHARS), score }));
      return { results };
    },
  });
  return [search];
}
