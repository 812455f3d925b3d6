// The events tools: `events` reads (one, a filtered page, a search, statistics), `record_event`
// creates or edits, `delete_event` removes. Three tools so each carries honest annotations.
import { z } from 'zod';
import { NotFoundError, UserError } from '../core/errors.js';
import { allowSecretsArg, refuseSecrets } from '../core/secrets.js';
import { dateArg, isoTime } from '../core/time.js';
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

export function eventTools(events: EventsService): AnyTool[] {
  const read = defineTool({
    name: 'events',
    title: 'Events',
    description:
      "Read the event log (brain's backups, maintenance and failures, and events from record_event): one by id, a filtered page newest first, a word search, or counts.",
    kind: 'read',
    input: {
      id: z.number().int().positive().optional().describe('One event by id.'),
      query: z.string().max(500).optional().describe('Words the message must contain.'),
      type: z.array(z.string().max(64)).max(20).optional().describe('Only these types.'),
      severity: z.array(severity).max(4).optional().describe('Only these severities.'),
      source: z.string().max(200).optional().describe('Only this source ("brain" = its own).'),
      since: dateArg.optional().describe('From this time (ISO 8601).'),
      until: dateArg.optional().describe('Up to this time (ISO 8601).'),
      stats: z.boolean().default(false).describe('Add counts by severity, type, source.'),
      limit: z.number().int().min(0).max(100).default(20).describe('Page size (0-100).'),
      cursor: z.string().max(100).optional().describe('next_cursor of the previous page.'),
    },
    output: {
      events: z.array(eventOut),
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
    },
    handle(args) {
      if (args.id !== undefined) {
        const row = events.get(args.id);
        if (!row) throw new NotFoundError(`No event with id ${args.id}; list events to see which exist.`);
        return { events: [toOut(row)] };
      }
      const filter: EventFilter = {
        types: args.type,
        severities: args.severity as Severity[] | undefined,
        source: args.source,
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
    },
  });

  const record = defineTool({
    name: 'record_event',
    title: 'Record event',
    description:
      'Log something that happened (a deploy, an incident) as an event to find later; with id, edit an existing event.',
    kind: 'write',
    input: {
      id: z.number().int().positive().optional().describe('Edit this event.'),
      type: eventType.optional().describe('e.g. "deploy", "incident" (to create).'),
      severity: severity.optional().describe('Default info.'),
      message: z.string().trim().min(1, 'message cannot be empty').max(4000).optional().describe('What happened (to create).'),
      source: z.string().max(200).nullable().optional().describe('Who reports it. Default: this client.'),
      details: details.nullable().optional().describe('Extra data (JSON object).'),
      allow_secrets: allowSecretsArg,
    },
    output: { id: z.number(), created: z.boolean(), updated_at: z.string() },
    handle(args, ctx) {
      if (!args.allow_secrets) refuseSecrets({ message: args.message, details: args.details, source: args.source });
      if (args.id === undefined) {
        if (!args.type || !args.message) throw new UserError('To create an event, give "type" and "message" (or "id" to update one).');
        const row = events.create({
          type: args.type,
          severity: args.severity ?? 'info',
          message: args.message,
          source: args.source === undefined ? ctx.session.clientName ?? 'assistant' : args.source,
          details: args.details ?? null,
        });
        return { id: row.id, created: true, updated_at: isoTime(row.updated_at) };
      }
      const patch = { type: args.type, severity: args.severity, message: args.message, source: args.source, details: args.details };
      if (Object.values(patch).every((v) => v === undefined)) throw new UserError('Nothing to change: pass at least one of type, severity, message, source, details.');
      const row = events.update(args.id, patch);
      if (!row) throw new NotFoundError(`No event with id ${args.id} to update.`);
      return { id: row.id, created: false, updated_at: isoTime(row.updated_at) };
    },
  });

  const remove = defineTool({
    name: 'delete_event',
    title: 'Delete event',
    description: 'Delete an event recorded by mistake (events otherwise expire on their own).',
    kind: 'destructive',
    input: { id: z.number().int().positive().describe('Event id.') },
    output: { deleted: z.number() },
    handle(args) {
      if (!events.delete(args.id)) throw new NotFoundError(`No event with id ${args.id} to delete.`);
      return { deleted: 1 };
    },
  });

  return [read, record, remove];
}
