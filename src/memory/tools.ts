// The memory tools: remember (which also restores), recall, forget. Statistics and rebalancing are
// operator actions: `brain stats`, `brain rebalance` and the ops port have them, and no
// conversation pays for them in tools/list.
import { z } from 'zod';
import { dateArg, isoTime } from '../core/time.js';
import { NotFoundError, UserError } from '../core/errors.js';
import { displayProject, readProjectArg, visibleProjects, writeProject, writeProjectArg } from '../core/scope.js';
import { allowSecretsArg } from '../core/secrets.js';
import { defineTool, type AnyTool } from '../core/tool.js';
import { parseQuery } from '../text/query.js';
import { snippetOf } from '../text/snippet.js';
import type { MemoryService } from './service.js';
import type { Hit, RankParts } from './search.js';
import type { Linked, Relation } from './relations.js';
import type { HitRow, MemoryRow } from './types.js';

/** Search results carry at most this much of each memory; the whole text is one recall by key away. */
const SNIPPET_CHARS = 400;
const MAX_TAGS = 20;
/** How to undo a forget, said in the answer that needs it rather than in every tools/list. */
const UNDO = 'remember {"key", "restore": 0} brings a forgotten memory back until restorable_until.';

const key = z
  .string()
  .trim()
  .min(1, 'a key cannot be empty')
  .max(200, 'a key is at most 200 characters')
  .regex(/^[^\u0000-\u001f\u007f]+$/, 'a key cannot contain control characters');
const tag = z.string().trim().toLowerCase().min(1, 'a tag cannot be empty').max(50, 'a tag is at most 50 characters');
const type = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,39}$/, 'a type is lower_snake_case, e.g. "user_preferences", "decision", "fact"');

const relationType = z
  .string()
  .trim()
  .min(1, 'a relation type cannot be empty')
  .max(100, 'a relation type is at most 100 characters')
  .regex(/^[^\u0000-\u001f\u007f]+$/, 'a relation type cannot contain control characters');
/**
 * The other end of a relation: a key (which may not exist yet) or the id of an existing memory.
 * The input schemas say only "string or number" (every byte of tools/list is paid in each
 * conversation); relationOf checks the rest and says what to change.
 */
const memoryId = z.number().int('an id is a whole number').positive('an id is positive');
const looseRelation = z.object({ type: z.string(), to: z.union([z.string(), z.number()]) });

function relationOf(r: { type?: string; to: string | number }): { type?: string; to: string | number } {
  const type = r.type === undefined ? undefined : relationType.safeParse(r.type);
  if (type && !type.success) throw new UserError(`relation "type": ${type.error.issues[0].message}.`);
  const to = typeof r.to === 'number' ? memoryId.safeParse(r.to) : key.safeParse(r.to);
  if (!to.success) throw new UserError(`relation "to": ${to.error.issues[0].message} (a key, or the id of a memory).`);
  return { ...(type ? { type: type.data } : {}), to: to.data };
}
const MAX_RELATIONS = 20;
/** Relations shown per direction for one memory; a hub's hundreds would crowd out the rest. */
const LINKS_SHOWN = 50;
/** Memories a "related" recall adds at most. */
const NEIGHBOURS = 20;

const memoryOut = z.object({
  id: z.number(),
  key: z.string(),
  project: z.string(),
  content: z.string(),
  truncated: z.boolean().optional(),
  content_chars: z.number().optional(),
  type: z.string(),
  tags: z.array(z.string()),
  importance: z.number().optional().describe('0..1 (search results show it in "why").'),
  tier: z.enum(['hot', 'warm']).optional().describe('Storage tier (search results show it in "why").'),
  version: z.number().optional().describe('Edits so far, from 1 (with key or id).'),
  updated_at: z.string(),
  expires_at: z.string().nullable().optional(),
  score: z.number().optional(),
  why: z.string().optional().describe('What the score is made of: word match, tier, importance, uses, recency.'),
  // Each {type, to} or {type, from}, with the other end's id once it exists (LinkOut). Left open
  // in the schema: spelled out it cost 140 bytes of every tools/list.
  relations: z.array(z.unknown()).optional(),
  via: z.string().optional(),
});
type MemoryOut = z.infer<typeof memoryOut>;

function fullMemory(row: HitRow): MemoryOut {
  return {
    id: row.id,
    key: row.key,
    project: displayProject(row.project),
    content: row.content,
    type: row.type,
    tags: JSON.parse(row.tags),
    importance: row.importance,
    tier: row.storage_tier,
    version: row.version,
    updated_at: isoTime(row.updated_at),
    expires_at: isoTime(row.expires_at),
  };
}

function hitOut(hit: Hit, terms: string[]): MemoryOut {
  const row = hit.row;
  const long = row.content.length > SNIPPET_CHARS;
  return {
    id: row.id,
    key: row.key,
    project: displayProject(row.project),
    content: long ? snippetOf(row.content, terms, SNIPPET_CHARS) : row.content,
    ...(long ? { truncated: true, content_chars: row.content.length } : {}),
    type: row.type,
    tags: JSON.parse(row.tags),
    updated_at: isoTime(row.updated_at),
    score: hit.score,
    why: explain(hit.why),
  };
}

/**
 * recall's text block: each memory as a header line and its text. structuredContent carries the
 * same results with every field.
 */
function recallText(out: { results: MemoryOut[]; next_cursor?: string; truncated?: boolean; history?: { version: number; reason: string; archived_at: string; content: string }[] }): string {
  const lines: string[] = [];
  if (out.results.length === 0 && !out.history?.length) lines.push('No memories found.');
  out.results.forEach((m, i) => {
    const facts = [m.type, ...(m.tags.length ? [m.tags.join(' ')] : []), m.project, m.updated_at.slice(0, 10), `id ${m.id}`];
    if (m.score !== undefined) facts.push(`score ${m.score}`);
    lines.push(`${i + 1}. ${m.key} (${facts.join('; ')})${m.via ? ` via ${m.via}` : ''}`, m.content);
    if (m.truncated) lines.push(`[excerpt of ${m.content_chars} characters: recall with "key": ${JSON.stringify(m.key)} for all of it]`);
    for (const r of (m.relations ?? []) as unknown as LinkOut[]) lines.push(`  ${linkText(m.key, r)}${r.id === undefined ? ' (no such memory yet)' : ` (id ${r.id})`}`);
  });
  for (const h of out.history ?? []) lines.push(`version ${h.version} (${h.reason} ${h.archived_at.slice(0, 10)}): ${h.content}`);
  if (out.history?.length) lines.push('Bring a version back with remember {"key", "restore": <version>}.');
  if (out.next_cursor) lines.push(`More results: call recall again with the same query and "cursor": "${out.next_cursor}".`);
  if (out.truncated) lines.push('Paging stops here: narrow the query to see further.');
  return lines.join('\n');
}

/** Why forget found no relation to remove, with the ones there are (relations start from one memory). */
function noRelation(key: string, to: string, type: string | undefined, current: Relation[]): string {
  const have = current.slice(0, 10).map((r) => `${r.type} -> ${r.to}`);
  return (
    `"${key}" has no relation${type ? ` "${type}"` : ''} to "${to}". ` +
    (have.length ? `Its relations: ${have.join(', ')}${current.length > 10 ? ', ...' : ''}.` : 'It has none; a relation belongs to the memory it starts from: forget it there.')
  );
}

interface LinkOut {
  type: string;
  to?: string;
  from?: string;
  id?: number;
}

/** A memory with no relations says nothing about them (most have none). */
const withLinks = (m: MemoryOut, links: LinkOut[]): MemoryOut => (links.length ? { ...m, relations: links } : m);

/** A relation as the sentence server-memory users know: "Alice works_at Anthropic". */
const linkText = (key: string, r: LinkOut) => (r.to !== undefined ? `${key} ${r.type} ${r.to}` : `${r.from} ${r.type} ${key}`);

function linkOut(l: Linked): LinkOut {
  return { type: l.type, ...(l.direction === 'out' ? { to: l.key } : { from: l.key }), ...(l.id !== undefined ? { id: l.id } : {}) };
}

const MATCH_WORDS = {
  all_words: 'all words',
  corrected: 'all words, spelling corrected',
  any_word: 'some words',
  prefix: 'word beginnings',
  fuzzy: 'close words',
  none: 'no query',
} as const;

/** The ranking parts as one short line: cheaper for clients to read than a nested object. */
function explain(why: RankParts): string {
  const text = why.match === 'none' ? 'no query' : `text ${why.text} (${MATCH_WORDS[why.match]})`;
  return `${text}, ${why.tier ? 'hot' : 'warm'}, importance ${why.importance}, ${why.accesses} uses, recency ${why.recency}`;
}

/**
 * A short fingerprint of a search (query, filters, page size), so a cursor is only accepted by the
 * search it came from. Not a security boundary: a cursor only lists ids already shown.
 * (FNV-1a in two lanes; a crypto hash costs more than the rest of a cached recall.)
 */
function fingerprint(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  return (a >>> 0).toString(36) + (b >>> 0).toString(36);
}

/**
 * A recall cursor carries the query's fingerprint and the ids already shown, so the next page is
 * "the best of the rest" (see searchMemories).
 */
interface Cursor {
  h: string;
  s: number[];
}

/** How deep paging goes (100 pages of 10); past that the result says to narrow the query. */
const MAX_SHOWN = 1000;

// Ids are written in base 36 to keep a deep cursor short.
function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify({ h: c.h, s: c.s.map((id) => id.toString(36)).join('.') })).toString('base64url');
}

const BAD_CURSOR = '"cursor" is not valid: pass the next_cursor of a previous recall unchanged, or leave it out to start from the first page.';

function decodeCursor(text: string, hash: string): Set<number> {
  let c: Cursor;
  try {
    const raw = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as { h: unknown; s: unknown };
    if (typeof raw.s !== 'string' || !/^[0-9a-z]+(\.[0-9a-z]+)*$/.test(raw.s)) throw new Error('ids');
    c = { h: raw.h as string, s: raw.s.split('.').map((x) => parseInt(x, 36)) };
  } catch {
    throw new UserError(BAD_CURSOR);
  }
  if (typeof c?.h !== 'string' || !Array.isArray(c.s) || !c.s.every((id) => Number.isInteger(id) && id > 0)) throw new UserError(BAD_CURSOR);
  if (c.h !== hash) throw new UserError('"cursor" belongs to a different search: repeat the same query and filters, or leave "cursor" out.');
  return new Set(c.s);
}

export function memoryTools(memories: MemoryService, opts: { retentionDays: number }): AnyTool[] {
  /**
   * The key a relation of a memory in `project` points to: a key as given, an id as the key of
   * that memory, which must be one the source sees (its project or global).
   */
  function targetKey(to: string | number, project: string): string {
    if (typeof to === 'string') return to;
    const target = memories.getById(to, false);
    if (!target) throw new NotFoundError(`No memory with id ${to} to relate to; name it by key instead if it is not stored yet.`);
    if (target.project !== project && target.project !== '') {
      throw new UserError(`Memory ${to} is in ${displayProject(target.project)}, which a memory of ${displayProject(project)} does not see: relations stay within one project and global.`);
    }
    return target.key;
  }

  /** The visible memories one relation away from `rows` (not among them), with the relation that led there. */
  function neighbours(rows: HitRow[], projects: string[] | undefined, terms: string[]): MemoryOut[] {
    const seen = new Set(rows.map((r) => r.id));
    const out: MemoryOut[] = [];
    for (const row of rows) {
      for (const l of memories.links(row, LINKS_SHOWN)) {
        if (l.id === undefined || seen.has(l.id) || out.length >= NEIGHBOURS) continue;
        const other = memories.getById(l.id, false);
        if (!other || (projects && !projects.includes(other.project))) continue;
        seen.add(other.id);
        const long = other.content.length > SNIPPET_CHARS;
        out.push({
          ...fullMemory(other),
          content: long ? snippetOf(other.content, terms, SNIPPET_CHARS) : other.content,
          ...(long ? { truncated: true, content_chars: other.content.length } : {}),
          via: l.direction === 'out' ? `${row.key} ${l.type} ${other.key}` : `${other.key} ${l.type} ${row.key}`,
        });
      }
    }
    return out;
  }

  /** A memory's relations, both directions, as far as the reader sees them. */
  function linksShown(row: HitRow | MemoryRow, projects: string[] | undefined): LinkOut[] {
    return memories.links(row, LINKS_SHOWN).filter((l) => !projects || l.id === undefined || projects.includes(l.project)).map(linkOut);
  }

  const remember = defineTool({
    name: 'remember',
    title: 'Remember',
    description:
      'Save what a later conversation should know: a preference, decision, fact or lesson. Reusing a key updates it and keeps the old text.',
    kind: 'write',
    input: {
      content: z.string().min(1, 'content cannot be empty').optional().describe('What to remember, in plain words.'),
      key: key.optional().describe('Stable name, e.g. "editor-preference"; reuse it to update.'),
      type: type.optional().describe('"user_preferences" (init always loads these), "decision", "fact", "lesson"... Default "general".'),
      tags: z.array(tag).max(MAX_TAGS, `at most ${MAX_TAGS} tags`).optional(),
      importance: z.number().min(0, 'importance is between 0 and 1').max(1, 'importance is between 0 and 1').optional().describe('0..1, default 0.5.'),
      project: writeProjectArg,
      ttl_seconds: z.number().int('ttl_seconds is a whole number').positive('ttl_seconds must be positive').max(10 * 365 * 86400).optional().describe('Forget after this long.'),
      restore: z.number().int().min(0).optional().describe('Instead of content: 0 undoes a forget; N brings back version N.'),
      allow_secrets: allowSecretsArg,
      relations: z
        .array(looseRelation)
        .optional()
        .describe('[{"type":"works_at","to":"Anthropic"}]; to: a key (stored or not) or id. With key, no content: adds only these.'),
    },
    output: {
      id: z.number(),
      key: z.string(),
      project: z.string(),
      tier: z.enum(['hot', 'warm']),
      created: z.boolean(),
      version: z.number(),
    },
    handle(args, ctx) {
      const project = writeProject(args.project, ctx.session);
      if (args.restore !== undefined) {
        if (args.key === undefined) throw new UserError('"restore" needs the "key" of the memory to bring back.');
        const extra = (['content', 'type', 'tags', 'importance', 'ttl_seconds', 'relations'] as const).filter((f) => args[f] !== undefined);
        if (extra.length) throw new UserError(`"restore" brings back stored text; leave out ${extra.map((f) => `"${f}"`).join(', ')} (remember again afterwards to change it).`);
        const row = memories.restore(project, args.key, args.restore === 0 ? undefined : args.restore);
        return { id: row.id, key: row.key, project: displayProject(row.project), tier: row.storage_tier, created: false, version: row.version };
      }
      if ((args.relations?.length ?? 0) > MAX_RELATIONS) throw new UserError(`"relations" takes at most ${MAX_RELATIONS} per call; remember the rest in another call.`);
      const relations = args.relations?.map((r) => {
        const { type, to } = relationOf(r);
        return { type: type!, to: targetKey(to, project) };
      });
      if (args.content === undefined) {
        if (args.key === undefined || !relations?.length) throw new UserError('"content" is required: what to remember (or "key" with "restore" to bring a memory back, or with "relations" to add only those).');
        const existing = memories.getByKey([project], args.key, false);
        if (!existing) throw new NotFoundError(`No memory with key "${args.key}" in ${displayProject(project)} to add relations to; pass "content" to create it.`);
        const { row } = memories.relate(existing.id, () => ({ add: relations }));
        return { id: row.id, key: row.key, project: displayProject(row.project), tier: row.storage_tier, created: false, version: row.version };
      }
      const { row, created } = memories.remember({
        project,
        key: args.key,
        content: args.content,
        relations,
        type: args.type ?? 'general',
        tags: [...new Set(args.tags ?? [])],
        importance: args.importance ?? 0.5,
        ttlSeconds: args.ttl_seconds,
        allowSecrets: args.allow_secrets,
      });
      return { id: row.id, key: row.key, project: displayProject(row.project), tier: row.storage_tier, created, version: row.version };
    },
  });

  const recall = defineTool({
    name: 'recall',
    title: 'Recall',
    description:
      'Search memories before answering anything that may depend on earlier work, or fetch one whole by key or id. Long texts come back as excerpts.',
    kind: 'read',
    input: {
      query: z.string().max(1000, 'a query is at most 1000 characters').optional().describe('A few words; typos and word parts still match.'),
      key: key.optional().describe('Exact key: that memory whole.'),
      id: z.number().int().positive().optional().describe('Exact id: that memory whole.'),
      type: type.optional(),
      tags: z.array(tag).max(MAX_TAGS).optional().describe('Only with all of these.'),
      project: readProjectArg,
      min_importance: z.number().min(0).max(1).optional(),
      since: dateArg.optional().describe('Changed since (ISO 8601).'),
      until: dateArg.optional(),
      limit: z.number().int().min(1).max(50, 'limit is at most 50').default(5),
      cursor: z.string().max(8000).optional().describe('next_cursor of the last page.'),
      history: z.boolean().default(false).describe('With key: list earlier versions too.'),
      related: z.boolean().optional().describe('Add memories one relation away.'),
    },
    output: {
      results: z.array(memoryOut),
      next_cursor: z.string().optional(),
      strategy: z.string().optional().describe('How far the search had to widen: all_words, corrected, any_word, fuzzy.'),
      truncated: z.boolean().optional().describe('Paging stopped at its depth limit: narrow the query to see further.'),
      history: z
        .array(z.object({ version: z.number(), reason: z.string(), archived_at: z.string(), content: z.string() }))
        .optional(),
    },
    text: recallText,
    handle(args, ctx) {
      const projects = visibleProjects(args.project, ctx.session);
      if (args.key !== undefined || args.id !== undefined) {
        if (args.key !== undefined && args.id !== undefined) throw new UserError('Pass either "key" or "id", not both.');
        const row = args.id !== undefined ? memories.getById(args.id) : memories.getByKey(projects, args.key!, true, ctx.session.project);
        if (row && args.id !== undefined && projects && !projects.includes(row.project)) {
          throw new NotFoundError(`No memory with id ${args.id} in ${displayProject(projects[0])}; pass "project": "*" to look everywhere.`);
        }
        if (!row) {
          if (args.history && args.key) {
            const old = memories.history(projects?.[0] ?? '', args.key);
            if (old.length) return { results: [], history: old.map((h) => ({ version: h.version, reason: h.reason, archived_at: isoTime(h.archived_at), content: h.content.slice(0, SNIPPET_CHARS) })) };
          }
          throw new NotFoundError(
            args.id !== undefined ? `No memory with id ${args.id}.` : `No memory with key "${args.key}" in ${projects ? projects.map(displayProject).join(' or ') : 'any project'}. Use "query" to search instead.`,
          );
        }
        const result: { results: MemoryOut[]; history?: { version: number; reason: string; archived_at: string; content: string }[] } = {
          results: [withLinks(fullMemory(row), linksShown(row, projects)), ...(args.related ? neighbours([row], projects, []) : [])],
        };
        if (args.history) {
          result.history = memories.history(row.project, row.key).map((h) => ({
            version: h.version, reason: h.reason, archived_at: isoTime(h.archived_at), content: h.content.slice(0, SNIPPET_CHARS),
          }));
        }
        return result;
      }
      const filter = {
        projects,
        type: args.type,
        tags: args.tags,
        minImportance: args.min_importance,
        since: args.since,
        until: args.until,
      };
      const hash = fingerprint(JSON.stringify([args.query ?? '', filter, args.limit]));
      const shown = args.cursor ? decodeCursor(args.cursor, hash) : new Set<number>();
      const query = args.query === undefined ? undefined : parseQuery(args.query);
      const found = memories.search(query, filter, args.limit, shown);
      const nextShown = [...shown, ...found.hits.map((h) => h.row.id)];
      const results = found.hits.map((h) => hitOut(h, query?.terms ?? []));
      if (args.related) {
        found.hits.forEach((h, i) => (results[i] = withLinks(results[i], linksShown(h.row, projects))));
        results.push(...neighbours(found.hits.map((h) => h.row), projects, query?.terms ?? []));
      }
      return {
        results,
        next_cursor: found.more && nextShown.length < MAX_SHOWN ? encodeCursor({ h: hash, s: nextShown }) : undefined,
        ...(found.more && nextShown.length >= MAX_SHOWN ? { truncated: true } : {}),
        strategy: found.strategy,
      };
    },
  });

  const forget = defineTool({
    name: 'forget',
    title: 'Forget',
    description:
      'Forget a memory by key or id when it is wrong or unwanted, or several by filters with "confirm": true. It stays restorable for a while.',
    kind: 'destructive',
    input: {
      key: key.optional(),
      id: z.number().int().positive().optional(),
      project: readProjectArg,
      type: type.optional().describe('Bulk: all of this type.'),
      tags: z.array(tag).max(MAX_TAGS).optional().describe('Bulk: all with these tags.'),
      before: dateArg.optional().describe('Bulk: all changed before this time.'),
      confirm: z.boolean().default(false).describe('Required for bulk.'),
      relation: z
        .object({ to: z.union([z.string(), z.number()]), type: z.string().optional() })
        .optional()
        .describe('With key or id: only this relation.'),
    },
    output: {
      forgotten: z.number(),
      keys: z.array(z.string()),
      restorable_until: z.string(),
      undo: z.string(),
    },
    handle(args, ctx) {
      const restorable_until = new Date(Date.now() + opts.retentionDays * 86_400_000).toISOString();
      const projects = visibleProjects(args.project, ctx.session);
      if (args.key !== undefined || args.id !== undefined) {
        if (args.key !== undefined && args.id !== undefined) throw new UserError('Pass either "key" or "id", not both.');
        if (args.type || args.tags || args.before) throw new UserError('Filters ("type", "tags", "before") are for bulk forgetting; leave them out when forgetting one memory by key or id.');
        const row = args.id !== undefined ? memories.getById(args.id, false) : memories.getByKey(projects, args.key!, false, ctx.session.project);
        if (!row || (projects && !projects.includes(row.project))) {
          throw new NotFoundError(`No memory ${args.id !== undefined ? `with id ${args.id}` : `with key "${args.key}"`} to forget here; check recall, or pass "project".`);
        }
        if (args.relation) {
          const { to, type } = relationOf(args.relation);
          const toKey = targetKey(to, row.project);
          let removed: Relation[] = [];
          const { row: changed } = memories.relate(row.id, (_, current) => {
            removed = current.filter((r) => r.to === toKey && (type === undefined || r.type === type));
            if (!removed.length) throw new NotFoundError(noRelation(row.key, toKey, type, current));
            return { remove: removed };
          });
          // What went is relations, named as sentences; the version before this one still has them.
          return {
            forgotten: removed.length,
            keys: removed.map((r) => `${row.key} ${r.type} ${r.to}`),
            restorable_until,
            undo: `remember {"key": ${JSON.stringify(row.key)}, "restore": ${changed.version - 1}} brings them back.`,
          };
        }
        memories.forgetOne(row);
        return { forgotten: 1, keys: [row.key], restorable_until, undo: UNDO };
      }
      if (args.relation) throw new UserError('"relation" removes a relation of one memory: say which with "key" or "id" (the memory it starts from).');
      if (!args.type && !args.tags?.length && !args.before) {
        throw new UserError('Say what to forget: "key" or "id" for one memory, or "type", "tags" or "before" (with "confirm": true) for several.');
      }
      const result = memories.forgetMatching(
        { projects: projects ?? memories.projects(), type: args.type, tags: args.tags, before: args.before },
        args.confirm,
      );
      return { forgotten: result.forgotten, keys: result.keys.slice(0, 50), restorable_until, undo: UNDO };
    },
  });

  return [remember, recall, forget];
}
