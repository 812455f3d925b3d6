// The events tools: `events` reads (one, a filtered page, a search, statistics), `record_event`
// creates or edits, `delete_event` removes. Three tools so each carries honest annotations.
import { z } from 'zod';
import { fromDbTime, toDbTime } from '../core/db.js';
import { NotFoundError, UserError } from '../core/errors.js';
import { defineTool, type AnyTool } from '../core/tool.js';
import type { EventsService } from './service.js';
import { SEVERITIES, type EventFilter, type EventRow, type Severity } from './store.js';

const severity = z.enum(SEVERITIES);
const eventType = z
  .string()
  .regex(/^[a-z][a-z0-9_.]{0,63}$/, 'an event type is lower_snake_case (dots allowed), e.g. "deploy", "backup.failed"');
const isoDate = z
  .string()
  .refine((s) => !Number.isNaN(Date.parse(s)), 'use an ISO 8601 date or time, e.g. "2026-01-31" or "2026-01-31T12:00:00Z"')
  .transform((s) => toDbTime(Date.parse(s)));
const details = z.record(z.string(), z.unknown()).refine((d) => JSON.stringify(d).length <= 16_384, 'details is at most 16 KB of JSON');

const eventOut = z.object({
  id: z.number(),
  type: z.string(),
  severity: z.string(),
  message: z.string(),
  source: z.string().nullable(),
  details: z.record(z.string(), z.unknown()).nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});

const iso = (t: string) => new Date(fromDbTime(t)).toISOString();

function toOut(row: EventRow): z.infer<typeof eventOut> {
  return {
    id: row.id,
    type: row.event_type,
    severity: row.severity,
    message: row.message,
    source: row.source,
    details: row.details === null ? null : (JSON.parse(row.details) as Record<string, unknown>),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
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
      'Look at what happened in brain and what was logged as an event (backups, maintenance, failures, your own records): one event by id, a filtered page newest first, a word search, or statistics.',
    kind: 'read',
    input: {
      id: z.number().int().positive().optional().describe('Return this one event.'),
      query: z.string().max(500).optional().describe('Words that must all appear in the message.'),
      type: z.array(eventType).max(20).optional().describe('Only these event types.'),
      severity: z.array(severity).max(4).optional().describe('Only these severities.'),
      source: z.string().max(200).optional().describe('Only events from this source ("brain" for its own).'),
      since: isoDate.optional().describe('Only events at or after this time (ISO 8601).'),
      until: isoDate.optional().describe('Only events at or before this time (ISO 8601).'),
      stats: z.boolean().default(false).describe('Also return counts by severity, type and source for the same filters.'),
      limit: z.number().int().min(0).max(100).default(20).describe('Events per page (0-100; 0 with stats for counts only).'),
      cursor: z.string().max(100).optional().describe('next_cursor from the previous page.'),
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
        query: args.query,
      };
      const page = args.limit > 0 ? events.list(filter, args.limit, args.cursor ? decodeCursor(args.cursor) : undefined) : { rows: [], more: false };
      const last = page.rows[page.rows.length - 1];
      const s = args.stats ? events.stats(filter) : undefined;
      return {
        events: page.rows.map(toOut),
        next_cursor: page.more && last ? encodeCursor(last.id) : undefined,
        stats: s && { ...s, first_at: s.first_at && iso(s.first_at), last_at: s.last_at && iso(s.last_at) },
      };
    },
  });

  const record = defineTool({
    name: 'record_event',
    title: 'Record event',
    description:
      'Log something that happened (a deploy, an incident, a decision point) as an event operators can search later; with id, change an existing event instead.',
    kind: 'write',
    input: {
      id: z.number().int().positive().optional().describe('Update this event instead of creating one.'),
      type: eventType.optional().describe('Event type, e.g. "deploy", "incident". Required when creating.'),
      severity: severity.optional().describe('info (default), warning, error or critical.'),
      message: z.string().trim().min(1, 'message cannot be empty').max(4000).optional().describe('What happened, in one or two sentences. Required when creating.'),
      source: z.string().max(200).nullable().optional().describe('Who or what reports it, e.g. "claude-code".'),
      details: details.nullable().optional().describe('Structured extra data (JSON object).'),
    },
    output: { event: eventOut, created: z.boolean() },
    handle(args, ctx) {
      if (args.id === undefined) {
        if (!args.type || !args.message) throw new UserError('To create an event, give "type" and "message" (or "id" to update one).');
        const row = events.create({
          type: args.type,
          severity: args.severity ?? 'info',
          message: args.message,
          source: args.source === undefined ? ctx.session.clientName ?? 'assistant' : args.source,
          details: args.details ?? null,
        });
        return { event: toOut(row), created: true };
      }
      const patch = { type: args.type, severity: args.severity, message: args.message, source: args.source, details: args.details };
      if (Object.values(patch).every((v) => v === undefined)) throw new UserError('Nothing to change: pass at least one of type, severity, message, source, details.');
      const row = events.update(args.id, patch);
      if (!row) throw new NotFoundError(`No event with id ${args.id} to update.`);
      return { event: toOut(row), created: false };
    },
  });

  const remove = defineTool({
    name: 'delete_event',
    title: 'Delete event',
    description: 'Delete one event by id when it was recorded by mistake (events otherwise expire on their own).',
    kind: 'destructive',
    input: { id: z.number().int().positive().describe('Id of the event to delete.') },
    output: { deleted: z.number() },
    handle(args) {
      if (!events.delete(args.id)) throw new NotFoundError(`No event with id ${args.id} to delete.`);
      return { deleted: 1 };
    },
  });

  return [read, record, remove];
}
