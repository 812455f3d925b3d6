// init: opens or resumes a session and returns what the assistant should start from, inside a
// size budget so it never floods the context window. Other areas add sections (project context,
// notes, ...) through InitSection; the memory sections are built here from what the memory area
// picks for a start (its initContext).
import { z } from 'zod';
import { UserError } from '../core/errors.js';
import { displayProject, GLOBAL, projectName, visibleProjects } from '../core/scope.js';
import type { Logger } from '../core/logger.js';
import { completeFrom, describeInputError, type PromptDef } from '../core/server.js';
import { defineTool, type AnyTool, type ToolContext } from '../core/tool.js';
import type { MemoryService } from '../memory/service.js';
import type { HitRow } from '../memory/types.js';
import { isoTime } from '../core/time.js';
import type { SessionService } from './service.js';
import type { InitSection } from './types.js';

export interface SessionOptions {
  sessions: SessionService;
  /** Undefined when the memory capability is off: init then shows no memories. */
  memories?: MemoryService;
  /** Most bytes init's answer may take (as UTF-8 JSON). */
  budgetChars: number;
  sections?: InitSection[];
  /** Called when init switches project, so areas can check the project exists. */
  checkProject?: (name: string, create: boolean) => void;
}

/** Per-memory cap inside init: init is an overview, recall has the rest. */
const INIT_MEMORY_CHARS = 300;
const INIT_MAX_MEMORIES = 40;

const initMemory = z.object({
  key: z.string(),
  type: z.string(),
  content: z.string(),
  importance: z.number(),
  tier: z.enum(['hot', 'warm']),
  project: z.string(),
  updated_at: z.string(),
  truncated: z.boolean().optional(),
});

function brief(row: HitRow) {
  const long = row.content.length > INIT_MEMORY_CHARS;
  return {
    key: row.key,
    type: row.type,
    content: long ? row.content.slice(0, INIT_MEMORY_CHARS) + '…' : row.content,
    importance: row.importance,
    tier: row.storage_tier,
    project: displayProject(row.project),
    updated_at: isoTime(row.updated_at),
    ...(long ? { truncated: true } : {}),
  };
}

/**
 * A preference as init shows it: what it says and the key that updates it. Its type is the list
 * it is in, and it always applies, so importance and tier would only take room from the next one.
 */
function preference(row: HitRow) {
  const long = row.content.length > INIT_MEMORY_CHARS;
  return {
    key: row.key,
    content: long ? row.content.slice(0, INIT_MEMORY_CHARS) + '…' : row.content,
    ...(row.project ? { project: row.project } : {}),
    ...(long ? { truncated: true } : {}),
  };
}

const listOf = (items: string[]) => (items.length > 1 ? `${items.slice(0, -1).join(', ')} and ${items.at(-1)}` : items[0]);

const bytesOf = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

/** Adds items while they fit; returns the items and how many did not. */
function fit<T>(items: T[], budget: number): { kept: T[]; omitted: number; used: number } {
  const kept: T[] = [];
  let used = 2;
  for (const item of items) {
    const size = bytesOf(item) + 1;
    if (used + size > budget) break;
    kept.push(item);
    used += size;
  }
  return { kept, omitted: items.length - kept.length, used };
}

const PREFERENCES_APPLY = 'The preferences above always apply.';

export function sessionTools(opts: SessionOptions): AnyTool[] {
  const sections = opts.sections ?? [];
  const extraShape: Record<string, z.ZodType> = {};
  for (const s of sections) extraShape[s.name] = s.schema.optional();

  // Only what this brain offers: a capability that is off is never mentioned.
  const shows = [
    ...(opts.memories ? ["the user's preferences"] : []),
    ...sections.map((s) => s.shows),
    ...(opts.memories ? ['the most useful memories'] : []),
  ];
  if (!shows.length) shows.push('a session for this conversation');
  const init = defineTool({
    name: 'init',
    title: 'Start with brain',
    description: `Call once at the start of every conversation: returns ${listOf(shows)}.`,
    kind: 'write',
    input: {
      project: projectName.optional().describe('Project to work in ("global": none). Default: the last one.'),
      create_project: z.boolean().default(false).describe('Start it even if close to an existing name.'),
      client: z.string().max(100).optional().describe('Which assistant this is, e.g. "claude-code".'),
      session_id: z.string().uuid('session_id is the id a previous init returned').optional().describe('Resume this earlier session.'),
    },
    output: {
      preferences: z.array(z.object({ key: z.string(), content: z.string(), project: z.string().optional(), truncated: z.boolean().optional() })),
      ...extraShape,
      memories: z.array(initMemory),
      more: z.string().optional(),
      hints: z.string(),
      session_id: z.string(),
      resumed: z.boolean(),
      project: z.string(),
      counts: z.object({ memories: z.number(), hot: z.number(), in_project: z.number() }),
      budget: z.object({ limit_chars: z.number(), used_chars: z.number(), omitted_memories: z.number() }),
    },
    handle(args, ctx) {
      const session = ctx.session;
      let resumed = false;
      let row = args.session_id ? opts.sessions.live(args.session_id) : session.id ? opts.sessions.live(session.id) : undefined;
      if (args.session_id && !row) throw new UserError(`Session ${args.session_id} has expired or does not exist; call init without session_id to start a new one.`);
      const project = args.project === undefined ? row?.project ?? session.project : args.project === 'global' ? '' : args.project;
      if (project) opts.checkProject?.(project, args.create_project);
      if (row) {
        resumed = true;
        opts.sessions.touch(row.id, project);
      } else {
        row = opts.sessions.start(args.client ?? session.clientName ?? null, project);
      }
      session.id = row.id;
      session.project = project;

      const memories = opts.memories;
      const visible = visibleProjects(undefined, session)!;
      const { preferences, memories: top } = memories ? memories.initContext(visible, INIT_MAX_MEMORIES) : { preferences: [], memories: [] };
      const stats = memories?.counts(project) ?? { total: 0, hot: 0, in_project: 0 };
      // Everything init could show: the project's memories and the global ones.
      const reachable = project ? (stats.in_project ?? 0) + (memories?.counts('').in_project ?? 0) : stats.in_project ?? 0;

      // Budget order: preferences first (they always apply), then the other areas' sections, then
      // memories fill what is left; the bookkeeping fields and the "more" sentences are set aside.
      let remaining = opts.budgetChars - 700;
      const prefs = fit(preferences.map(preference), Math.max(0, remaining * 0.6));
      remaining -= prefs.used;
      const extra: Record<string, unknown> = {};
      const more: string[] = [];
      for (const section of sections) {
        const value = section.build(session, Math.max(0, remaining * 0.5));
        if (value === undefined) continue;
        extra[section.name] = value;
        remaining -= bytesOf(value);
        const rest = section.more?.(session, value);
        if (rest) more.push(rest);
      }
      const mems = fit(top.slice(0, INIT_MAX_MEMORIES).map(brief), Math.max(0, remaining));
      const result = {
        preferences: prefs.kept,
        ...extra,
        memories: mems.kept,
        more: undefined as string | undefined,
        hints: memories ? PREFERENCES_APPLY : 'brain keeps no memories in this session (the memory capability is off).',
        session_id: row.id,
        resumed,
        project: displayProject(project),
        counts: { memories: stats.total, hot: stats.hot ?? 0, in_project: stats.in_project ?? 0 },
        budget: { limit_chars: opts.budgetChars, used_chars: 0, omitted_memories: Math.max(0, reachable - prefs.kept.length - mems.kept.length) },
      };
      const sayMore = () => {
        const notShownPrefs = preferences.length - result.preferences.length;
        const lines = [
          ...(notShownPrefs > 0 ? [`${notShownPrefs} more preferences: recall {"type": "user_preferences"}.`] : []),
          ...(result.budget.omitted_memories > 0 ? [`${result.budget.omitted_memories} more memories: recall with a few words, a type or tags.`] : []),
          ...more,
        ];
        result.more = lines.length ? lines.join(' ') : undefined;
      };
      sayMore();
      // Text outside ASCII takes more bytes than the estimates above: drop memories until it fits.
      while (bytesOf(result) > opts.budgetChars && result.memories.length) {
        result.memories.pop();
        result.budget.omitted_memories++;
        sayMore();
      }
      // The count is part of what it counts: settle it (a second pass covers a change of digits).
      for (let i = 0; i < 3; i++) result.budget.used_chars = JSON.stringify(result).length;
      return result;
    },
  });
  return [init];
}

interface InitResult {
  session_id: string;
  project: string;
  preferences: { key: string; content: string }[];
  memories: { key: string; type: string; content: string }[];
  counts: { memories: number };
  more?: string;
  hints: string;
  [section: string]: unknown;
}

/** init's result as text a person can read in the prompt picker's output. */
function formatInit(r: InitResult): string {
  const lines = [`brain context (project: ${r.project}, ${r.counts.memories} memories stored, session ${r.session_id})`];
  if (r.preferences.length) lines.push('', 'Preferences (always apply):', ...r.preferences.map((p) => `- ${p.content}`));
  if (r.memories.length) lines.push('', 'Memories:', ...r.memories.map((m) => `- [${m.key}] ${m.content}`));
  for (const [name, value] of Object.entries(r)) {
    if (['session_id', 'resumed', 'project', 'preferences', 'memories', 'counts', 'budget', 'hints', 'more'].includes(name) || value === undefined) continue;
    lines.push('', `${name}:`, JSON.stringify(value, null, 1));
  }
  if (r.more) lines.push('', r.more);
  lines.push('', r.hints);
  return lines.join('\n');
}

/** The `init` prompt: the same context as the init tool, for clients where the user starts it. */
/** `projectNames`: every project's name, offered when the client completes the project argument. */
export function initPrompt(initTool: AnyTool, logger: Logger, projectNames: () => string[]): PromptDef {
  return {
    name: 'init',
    title: 'Start with brain',
    description: 'Load what brain knows (preferences, the active project, the most useful memories) into this conversation.',
    arguments: [
      {
        name: 'project',
        description: 'Project to work in; "global" for none.',
        required: false,
        complete: (typed) => completeFrom([GLOBAL, ...projectNames()], typed),
      },
    ],
    async get(args, session) {
      const parsed = z.strictObject(initTool.input).safeParse(args.project ? { project: args.project } : {});
      if (!parsed.success) throw new UserError(describeInputError('init', parsed.error));
      const ctx: ToolContext = { session, signal: new AbortController().signal, logger, progress: async () => {} };
      return formatInit((await initTool.handle(parsed.data, ctx)) as InitResult);
    },
  };
}
