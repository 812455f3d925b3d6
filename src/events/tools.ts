// The one events tool: list (one by id, a filtered page, a word search, counts), record (create
// or edit) and delete are verbs of one noun, so they share one entry in tools/list and its field
// descriptions. Its annotations are the most cautious of the three (it may delete).
import { z } from 'zod';
import { NotFoundError, UserError } from '../core/errors.js';
import { allowSecretsArg, refuseSecrets } from '../core/secrets.js';
import { dateArg, isoTime } from '../core/time.js';
import type { ActionFields, ToolActions } from '../core/tool-actions.js';
import { defineTool, type AnyTool } from '../core/tool.js';
import { parseQuery } from '../text/query.js';
import type { EventsService } from './service.js';
import { SEVERITIES, type EventFilter, type EventRow, type Severity } from './store.js';

const severity = z.enum(SEVERITIES);
const eventType = z
  .string()
  .regex(/^[a-z][a-z0-9_.]{0,63}$/, 'an event type is lower_snake_case (dots allowed), e.g. "deploy", "backup.failed"');
const details = z.looseObject({}).refine((d) => JSON.stringify(d).length <= 16_384, 'details is at most 16 KB of JSON');

const eventOut = z.object({
  id: z.number(),
  type: z.string(),
  severity: z.string(),
  message: z.string(),
  source: z.string().nullable(),
  details: z.looseObject({}).optional(),
  created_at: z.string(),
  updated_at: z.string(),
});

function toOut(row: EventRow): z.infer<typeof eventOut> {
  return {
    id: row.id,
    type: row.event_type,
    severity: row.severity,
    message: row.message,
    source: row.source,
    ...(row.details === null ? {} : { details: JSON.parse(row.details) as Record<string, unknown> }),
    created_at: isoTime(row.created_at),
    updated_at: isoTime(row.updated_at),
  };
}

const BAD_CURSOR = '"cursor" is not valid: pass the next_cursor of a previous events call unchanged, or leave it out.';

function decodeCursor(text: string): number {
  const m = /^e(\d{1,15})$/.exec(Buffer.from(text, 'base64url').toString('utf8'));
  if (!m) throw new UserError(BAD_CURSOR);
  return Number(m[1]);
}

const encodeCursor = (id: number) => Buffer.from(`e${id}`).toString('base64url');

const ACTIONS = ['list', 'record', 'delete'] as const;
/** Fields each action uses besides `action`; any other field is named in the error. */
const ACTION_FIELDS: ToolActions = {
  table: {
    list: { takes: ['id', 'query', 'type', 'severity', 'source', 'since', 'until', 'stats', 'limit', 'cursor'] },
    record: { takes: ['id', 'type', 'severity', 'message', 'source', 'details', 'allow_secrets'] },
    delete: { takes: ['id'] },
  } satisfies Record<(typeof ACTIONS)[number], ActionFields>,
};
const oneOrMany = <T extends z.ZodType>(t: T) => z.union([t, z.array(t).max(20)]);
const asList = <T>(v: T | T[] | undefined): T[] | undefined => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);

export function eventTools(events: EventsService): AnyTool[] {
  const tool = defineTool({
    name: 'events',
    title: 'Events',
    description:
      "Log of what happened (a deploy, an incident) beside brain's backups, maintenance and failures: list (newest first), record (with id: edit) or delete.",
    kind: 'destructive',
    input: {
      action: z.enum(ACTIONS).default('list'),
      id: z.number().int().positive().optional(),
      type: oneOrMany(z.string().max(64)).optional().describe('e.g. "deploy"; list: one or several.'),
      severity: oneOrMany(severity).optional().describe('record: default info; list: one or several.'),
      message: z.string().trim().min(1, 'message cannot be empty').max(4000).optional().describe('record: what happened.'),
      source: z.string().max(200).nullable().optional().describe('Who reports it ("brain": brain itself).'),
      details: details.nullable().optional().describe('record: extra JSON.'),
      query: z.string().max(500).optional().describe('list: words the message contains.'),
      since: dateArg.optional().describe('list: from (ISO 8601).'),
      until: dateArg.optional(),
      stats: z.boolean().default(false).describe('list: add counts.'),
      limit: z.number().int().min(0).max(100).default(20),
      cursor: z.string().max(100).optional().describe('list: next_cursor.'),
      allow_secrets: allowSecretsArg,
    },
    output: {
      events: z.array(eventOut).optional(),
      next_cursor: z.string().optional(),
      stats: z
        .object({
          total: z.number(),
          by_severity: z.record(z.string(), z.number()),
          by_type: z.record(z.string(), z.number()),
          by_source: z.record(z.string(), z.number()),
          first_at: z.string().nullable(),
          last_at: z.string().nullable(),
        })
        .optional(),
      id: z.number().optional(),
      created: z.boolean().optional(),
      updated_at: z.string().optional(),
      deleted: z.number().optional(),
    },
    actions: ACTION_FIELDS,
    handle(args, ctx) {
      if (args.action === 'delete') {
        if (args.id === undefined) throw new UserError('events delete needs the "id" of the event.');
        if (!events.delete(args.id)) throw new NotFoundError(`No event with id ${args.id} to delete.`);
        return { deleted: 1 };
      }
      if (args.action === 'record') return record(args, ctx.session.clientName);
      return list(args);
    },
  });

  type Args = {
    id?: number;
    type?: string | string[];
    severity?: Severity | Severity[];
    message?: string;
    source?: string | null;
    details?: Record<string, unknown> | null;
    query?: string;
    since?: string;
    until?: string;
    stats: boolean;
    limit: number;
    cursor?: string;
    allow_secrets: boolean;
  };

  function list(args: Args) {
    if (args.id !== undefined) {
      const row = events.get(args.id);
      if (!row) throw new NotFoundError(`No event with id ${args.id}; list events to see which exist.`);
      return { events: [toOut(row)] };
    }
    const filter: EventFilter = {
      types: asList(args.type),
      severities: asList(args.severity),
      source: args.source ?? undefined,
      since: args.since,
      until: args.until,
      query: args.query === undefined ? undefined : parseQuery(args.query),
    };
    const page = args.limit > 0 ? events.list(filter, args.limit, args.cursor ? decodeCursor(args.cursor) : undefined) : { rows: [], more: false };
    const last = page.rows[page.rows.length - 1];
    const s = args.stats ? events.stats(filter) : undefined;
    return {
      events: page.rows.map(toOut),
      next_cursor: page.more && last ? encodeCursor(last.id) : undefined,
      stats: s && { ...s, first_at: isoTime(s.first_at), last_at: isoTime(s.last_at) },
    };
  }

  function record(args: Args, client: string | undefined) {
    if (Array.isArray(args.type) || Array.isArray(args.severity)) throw new UserError('events record takes one "type" and one "severity", not lists.');
    if (args.type !== undefined && !eventType.safeParse(args.type).success) {
      throw new UserError(`"type" ${JSON.stringify(args.type)} is not an event type: use lower_snake_case (dots allowed), e.g. "deploy", "backup.failed".`);
    }
    const type = args.type;
    if (!args.allow_secrets) refuseSecrets({ message: args.message, details: args.details, source: args.source });
    if (args.id === undefined) {
      if (!type || !args.message) throw new UserError('To record an event, give "type" and "message" (or "id" to edit one).');
      const row = events.create({
        type,
        severity: args.severity ?? 'info',
        message: args.message,
        source: args.source === undefined ? client ?? 'assistant' : args.source,
        details: args.details ?? null,
      });
      return { id: row.id, created: true, updated_at: isoTime(row.updated_at) };
    }
    const patch = { type, severity: args.severity, message: args.message, source: args.source, details: args.details };
    if (Object.values(patch).every((v) => v === undefined)) throw new UserError('Nothing to change: pass at least one of type, severity, message, source, details.');
    const row = events.update(args.id, patch);
    if (!row) throw new NotFoundError(`No event with id ${args.id} to update.`);
    return { id: row.id, created: false, updated_at: isoTime(row.updated_at) };
  }

  return [tool];
}
