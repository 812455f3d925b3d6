// Messages between the agents of a cluster (ContextSyncV2 on the one SQLite file): send to an
// agent, to a role target or to everyone, read the inbox, acknowledge, read the history of a pair.
// One row per delivery, so each recipient acknowledges on its own and a message pending for one
// agent is never hidden by another's acknowledgement. A send is one IMMEDIATE transaction: every
// delivery is written, or none.
import { toDbTime } from '../core/db.js';
import { NotFoundError, UserError } from '../core/errors.js';
import { ROLES } from './blueprint.js';
import { iso, type ClusterContext } from './context.js';
import * as sql from './mailbox-store.js';
import type { AgentRow, ClusterRow } from './types.js';

export const PRIORITIES = ['low', 'normal', 'high', 'critical'] as const;
export type Priority = (typeof PRIORITIES)[number];
export const priorityOf = (p: Priority | undefined): number => PRIORITIES.indexOf(p ?? 'normal');

export const MAX_SUBJECT_CHARS = 200;
export const MAX_BODY_BYTES = 16 * 1024;
export const MAX_CONTEXT_BYTES = 16 * 1024;
export const MAX_PAGE = 50;
export const DEFAULT_PAGE = 10;
export const MAX_ACK_IDS = 100;

/**
 * An "all" inbox listing keeps, for its whole length, the split between messages pending when it
 * started and messages acknowledged before. The split is drawn this far before the first page:
 * an acknowledgement stamps its time inside its own (sub-millisecond) transaction, so one that
 * commits just after the first page was read still falls on the pending side of the line.
 */
const SPLIT_MARGIN_MS = 1_000;

export interface SendInput {
  from: string;
  to?: string;
  toRole?: string;
  broadcast?: boolean;
  subject: string;
  body?: string;
  /** Any JSON value; at most MAX_CONTEXT_BYTES serialized. */
  context?: unknown;
  priority?: Priority;
}

export type MessageView = {
  id: number;
  from: string;
  to?: string;
  /** Left out for direct messages: 'role:<target>' or 'broadcast'. */
  audience?: string;
  priority: Priority;
  subject: string;
  body?: string;
  context?: unknown;
  created_at: string;
  acknowledged_at?: string;
};

export interface Page {
  messages: MessageView[];
  next_cursor?: string;
}

export type Audience = 'direct' | 'role' | 'broadcast';

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

function view(row: sql.MessageRow, withTo: boolean): MessageView {
  return {
    id: row.id,
    from: row.from_agent,
    ...(withTo ? { to: row.to_agent } : {}),
    ...(row.audience !== 'direct' ? { audience: row.audience } : {}),
    priority: PRIORITIES[row.priority],
    subject: row.subject,
    ...(row.body ? { body: row.body } : {}),
    ...(row.context !== null ? { context: JSON.parse(row.context) as unknown } : {}),
    created_at: iso(row.created_at),
    ...(row.acknowledged_at ? { acknowledged_at: iso(row.acknowledged_at) } : {}),
  };
}

// Cursors are opaque to the caller: base64url of "p:<priority>:<id>" (pending), "s:<split>:<priority>:<id>"
// and "a:<split>:<id>" (an "all" listing before and after its split), "h:<id>" (history).
const encode = (parts: (string | number)[]) => Buffer.from(parts.join(':')).toString('base64url');
function decode(cursor: string, what: string): string[] {
  const parts = Buffer.from(cursor, 'base64url').toString('utf8').split(':');
  if (!parts.every((p) => /^\d{0,16}$/.test(p) || /^[psah]$/.test(p))) throw badCursor(what);
  return parts;
}
const badCursor = (what: string) => new UserError(`"cursor" is not valid for this ${what}: pass the next_cursor of the previous ${what} call (same agent and "include") unchanged, or leave it out.`);
const num = (s: string | undefined, what: string): number => {
  if (s === undefined || s === '') throw badCursor(what);
  return Number(s);
};

export function createMailbox(ctx: ClusterContext) {
  const { db } = ctx;

  /** A live agent of the same cluster, as a recipient. */
  function recipient(cluster: ClusterRow, from: AgentRow, id: string): AgentRow {
    const to = ctx.findAgent(id);
    if (to.cluster_id !== cluster.id) throw new UserError(`"to" ${id} is in cluster "${to.cluster_id}", not "${cluster.id}": agents message their own team only.`);
    if (to.id === from.id) throw new UserError(`"to" is you (${id}); send to another agent, or keep the thought with remember.`);
    if (to.state === 'retired') {
      const live = sql.liveAgentsMatching(db, cluster.id, null, from.id).map((a) => a.id);
      throw new UserError(`Agent ${id} is retired and reads no messages; live agents: ${live.join(', ') || 'none'}.`);
    }
    return to;
  }

  /** Live agents a role target names: a role, or a blueprint agent id (all its replicas). */
  function roleRecipients(cluster: ClusterRow, from: AgentRow, target: string): AgentRow[] {
    const templates = ctx.spec(cluster).agents.map((a) => a.id);
    if (!(ROLES as readonly string[]).includes(target) && !templates.includes(target)) {
      throw new UserError(`"to_role" "${target}" is neither a role (${ROLES.join(', ')}) nor a blueprint agent of cluster "${cluster.id}" (${templates.join(', ')}).`);
    }
    const found = sql.liveAgentsMatching(db, cluster.id, target, from.id);
    if (!found.length) throw new UserError(`No live agent of cluster "${cluster.id}" besides you matches "to_role" "${target}" (cluster ${cluster.status}); send to another role or agent.`);
    return found;
  }

  function checkContent(input: SendInput): string | null {
    if (!input.subject.trim()) throw new UserError('"subject" is empty; give a short subject line.');
    if (input.subject.length > MAX_SUBJECT_CHARS) throw new UserError(`"subject" has ${input.subject.length} characters; keep it to ${MAX_SUBJECT_CHARS} and put the rest in "body".`);
    if (input.body !== undefined && bytes(input.body) > MAX_BODY_BYTES) {
      throw new UserError(`"body" is ${bytes(input.body)} bytes; the limit is ${MAX_BODY_BYTES}. Put long text in a note (note write) and send its path.`);
    }
    if (input.context === undefined) return null;
    const json = JSON.stringify(input.context);
    if (json === undefined) throw new UserError('"context" is not JSON; pass an object, array, string, number or boolean.');
    if (bytes(json) > MAX_CONTEXT_BYTES) throw new UserError(`"context" is ${bytes(json)} bytes of JSON; the limit is ${MAX_CONTEXT_BYTES}. Keep large data in a note or memory and send its key.`);
    return json;
  }

  return {
    /** One send: to an agent, a role target, or everyone but the sender. Returns the send id and who got it. */
    send(input: SendInput): { id: number; to: string[]; audience: string } {
      const ways = [input.to !== undefined, input.toRole !== undefined, input.broadcast === true].filter(Boolean).length;
      if (ways !== 1) throw new UserError('Give exactly one of "to" (an agent id), "to_role" (a role or blueprint agent) or "broadcast": true.');
      const context = checkContent(input);
      const { result, kind } = db
        .transaction(() => {
          const sender = ctx.findAgent(input.from);
          const cluster = ctx.cluster(sender.cluster_id);
          if (cluster.status === 'destroyed') throw new UserError(`Cluster "${cluster.id}" is destroyed; restore it (cluster {action: "restore"}) before its agents message each other.`);
          ctx.actingAgent(input.from);
          let recipients: AgentRow[];
          let audience: string;
          let kind: Audience;
          if (input.to !== undefined) {
            recipients = [recipient(cluster, sender, input.to)];
            audience = kind = 'direct';
          } else if (input.toRole !== undefined) {
            recipients = roleRecipients(cluster, sender, input.toRole);
            audience = `role:${input.toRole}`;
            kind = 'role';
          } else {
            recipients = sql.liveAgentsMatching(db, cluster.id, null, sender.id);
            if (!recipients.length) throw new UserError(`You are the only live agent of cluster "${cluster.id}"; there is nobody to broadcast to.`);
            audience = kind = 'broadcast';
          }
          const createdAt = toDbTime(ctx.now());
          const ids = sql.insertDeliveries(
            db,
            recipients.map((r) => ({
              cluster_id: cluster.id,
              from_agent: sender.id,
              to_agent: r.id,
              audience,
              priority: priorityOf(input.priority),
              subject: input.subject,
              body: input.body ?? '',
              context,
              created_at: createdAt,
            })),
          );
          return { result: { id: ids[0], to: recipients.map((r) => r.id), audience }, kind };
        })
        .immediate();
      ctx.metrics.clusterMessages.inc({ audience: kind }, result.to.length);
      return result;
    },

    /**
     * The agent's deliveries: pending ones first (priority high to low, then oldest first); with
     * include "all", then the acknowledged ones, newest first. Keyset-paged: a page never repeats
     * or skips what an earlier page of the same listing covered.
     */
    inbox(agentId: string, opts: { include?: 'pending' | 'all'; cursor?: string; limit?: number } = {}): Page & { pending: number } {
      const limit = Math.min(Math.max(opts.limit ?? DEFAULT_PAGE, 1), MAX_PAGE);
      const { agent } = ctx.actingAgent(agentId, { retiredOk: true });
      return db.transaction(() => {
        const pending = sql.countPending(db, agent.id);
        const out = (rows: sql.MessageRow[], next?: string) => ({ messages: rows.map((r) => view(r, false)), pending, ...(next ? { next_cursor: next } : {}) });
        const c = opts.cursor === undefined ? undefined : decode(opts.cursor, 'inbox');
        if ((opts.include ?? 'pending') === 'pending') {
          let after: { priority: number; id: number } | null = null;
          if (c) {
            if (c[0] !== 'p' || c.length !== 3) throw badCursor('inbox');
            after = { priority: num(c[1], 'inbox'), id: num(c[2], 'inbox') };
          }
          const rows = sql.pendingPage(db, agent.id, after, limit + 1);
          const last = rows[limit - 1];
          return out(rows.slice(0, limit), rows.length > limit ? encode(['p', last.priority, last.id]) : undefined);
        }
        let split = ctx.now() - SPLIT_MARGIN_MS;
        let phase: 's' | 'a' = 's';
        let after: { priority: number; id: number } | null = null;
        let below: number | null = null;
        if (c) {
          if (c[0] === 's' && c.length === 4) after = { priority: num(c[2], 'inbox'), id: num(c[3], 'inbox') };
          else if (c[0] === 'a' && c.length === 3) {
            phase = 'a';
            below = c[2] === '' ? null : Number(c[2]);
          } else throw badCursor('inbox');
          split = num(c[1], 'inbox');
        }
        const splitAt = toDbTime(split);
        const rows: sql.MessageRow[] = [];
        if (phase === 's') {
          const first = sql.pendingSincePage(db, agent.id, splitAt, after, limit + 1);
          if (first.length > limit) {
            const last = first[limit - 1];
            return out(first.slice(0, limit), encode(['s', split, last.priority, last.id]));
          }
          rows.push(...first);
        }
        const room = limit - rows.length;
        const acked = sql.acknowledgedPage(db, agent.id, splitAt, below, room + 1);
        rows.push(...acked.slice(0, room));
        const more = acked.length > room;
        const lastAcked = room > 0 ? acked[room - 1] : undefined;
        return out(rows, more ? encode(['a', split, lastAcked ? lastAcked.id : (below ?? '')]) : undefined);
      })();
    },

    /** Acknowledges deliveries to the agent: all or nothing; already acknowledged ones keep their time. */
    ack(agentId: string, ids: number[]): { acknowledged: number[]; already: number[] } {
      const unique = [...new Set(ids)];
      if (!unique.length) throw new UserError('"ids" is empty; pass the ids of the inbox messages you have handled.');
      if (unique.length > MAX_ACK_IDS) throw new UserError(`"ids" has ${unique.length} ids; acknowledge at most ${MAX_ACK_IDS} per call.`);
      return db
        .transaction(() => {
          const { agent } = ctx.actingAgent(agentId, { retiredOk: true });
          const rows = sql.messagesByIds(db, unique);
          const found = new Set(rows.map((r) => r.id));
          const missing = unique.filter((id) => !found.has(id));
          if (missing.length) {
            throw new NotFoundError(
              `No message ${missing.join(', ')} (acknowledged messages are removed after ${ctx.messageRetentionHours} h); pass ids from ${agent.id}'s inbox.`,
            );
          }
          const foreign = rows.find((r) => r.to_agent !== agent.id);
          if (foreign) throw new UserError(`Message ${foreign.id} was sent to ${foreign.to_agent}, not to ${agent.id}: only its recipient can acknowledge it.`);
          const already = rows.filter((r) => r.acknowledged_at !== null).map((r) => r.id);
          const fresh = rows.filter((r) => r.acknowledged_at === null).map((r) => r.id);
          if (fresh.length) sql.acknowledge(db, fresh, toDbTime(ctx.now()));
          return { acknowledged: fresh, already };
        })
        .immediate();
    },

    /** Deliveries between the agent and `withId`, both directions, oldest first. */
    history(agentId: string, withId: string, opts: { cursor?: string; limit?: number } = {}): Page {
      const limit = Math.min(Math.max(opts.limit ?? DEFAULT_PAGE, 1), MAX_PAGE);
      const { agent } = ctx.actingAgent(agentId, { retiredOk: true });
      const other = ctx.findAgent(withId);
      if (other.cluster_id !== agent.cluster_id) throw new UserError(`"with" ${withId} is in cluster "${other.cluster_id}", not "${agent.cluster_id}": history is between agents of one cluster.`);
      if (other.id === agent.id) throw new UserError('"with" is you; give the other agent of the conversation.');
      let after = 0;
      if (opts.cursor !== undefined) {
        const c = decode(opts.cursor, 'history');
        if (c[0] !== 'h' || c.length !== 2) throw badCursor('history');
        after = num(c[1], 'history');
      }
      const rows = sql.historyPage(db, agent.id, other.id, after, limit + 1);
      const shown = rows.slice(0, limit);
      return { messages: shown.map((r) => view(r, true)), ...(rows.length > limit ? { next_cursor: encode(['h', shown[limit - 1].id]) } : {}) };
    },

    /** Acknowledged messages past the retention period go; pending ones stay while their cluster exists. */
    purge(): number {
      return sql.purgeAcknowledged(db, toDbTime(ctx.now() - ctx.messageRetentionHours * 3_600_000));
    },
  };
}

export type Mailbox = ReturnType<typeof createMailbox>;
