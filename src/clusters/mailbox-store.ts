// SQL for messages between agents (one row per delivery). Free functions taking the db first;
// mailbox.ts holds the rules and wraps a send in one transaction.
import { stmt, type Db } from '../core/db.js';
import type { AgentRow } from './types.js';

export interface MessageRow {
  id: number;
  cluster_id: string;
  send_id: number;
  from_agent: string;
  to_agent: string;
  audience: string;
  priority: number;
  subject: string;
  body: string;
  context: string | null;
  created_at: string;
  acknowledged_at: string | null;
}

export type NewDelivery = Omit<MessageRow, 'id' | 'send_id' | 'acknowledged_at'>;

/**
 * Writes the deliveries of one send (the caller's transaction): the first row's id becomes the
 * send id of every row, so a broadcast can be told apart from separate sends.
 */
export function insertDeliveries(db: Db, rows: NewDelivery[]): number[] {
  const insert = stmt(
    db,
    `INSERT INTO messages (cluster_id, send_id, from_agent, to_agent, audience, priority, subject, body, context, created_at)
     VALUES (@cluster_id, @send_id, @from_agent, @to_agent, @audience, @priority, @subject, @body, @context, @created_at)`,
  );
  const ids: number[] = [];
  let sendId = 0;
  for (const row of rows) {
    const id = Number(insert.run({ ...row, send_id: sendId }).lastInsertRowid);
    if (!sendId) {
      sendId = id;
      stmt(db, 'UPDATE messages SET send_id = id WHERE id = ?').run(id);
    }
    ids.push(id);
  }
  return ids;
}

/** Live agents of a cluster whose role or blueprint agent is `target`, the sender left out. */
export function liveAgentsMatching(db: Db, clusterId: string, target: string | null, exclude: string): AgentRow[] {
  return stmt(
    db,
    `SELECT * FROM cluster_agents
     WHERE cluster_id = @cluster AND state != 'retired' AND id != @exclude AND (@target IS NULL OR role = @target OR template = @target)
     ORDER BY id`,
  ).all({ cluster: clusterId, target, exclude }) as AgentRow[];
}

/** Pending deliveries after (priority, id) in inbox order: priority high to low, then oldest first. */
export function pendingPage(db: Db, agent: string, after: { priority: number; id: number } | null, limit: number): MessageRow[] {
  return stmt(
    db,
    `SELECT * FROM messages
     WHERE to_agent = @agent AND acknowledged_at IS NULL
       AND (@p IS NULL OR priority < @p OR (priority = @p AND id > @id))
     ORDER BY priority DESC, id LIMIT @limit`,
  ).all({ agent, p: after?.priority ?? null, id: after?.id ?? 0, limit }) as MessageRow[];
}

/**
 * Like pendingPage, for a listing that goes on to the acknowledged messages: what was pending when
 * the listing started (`since`), including those acknowledged since then, so a message acknowledged
 * while paging is not listed a second time among the acknowledged ones.
 */
export function pendingSincePage(db: Db, agent: string, since: string, after: { priority: number; id: number } | null, limit: number): MessageRow[] {
  const keyset = '(@p IS NULL OR priority < @p OR (priority = @p AND id > @id))';
  return stmt(
    db,
    `SELECT * FROM messages WHERE to_agent = @agent AND acknowledged_at IS NULL AND ${keyset}
     UNION ALL
     SELECT * FROM messages WHERE to_agent = @agent AND acknowledged_at >= @since AND ${keyset}
     ORDER BY priority DESC, id LIMIT @limit`,
  ).all({ agent, since, p: after?.priority ?? null, id: after?.id ?? 0, limit }) as MessageRow[];
}

/** Deliveries acknowledged before `before`, newest first, below id `belowId`. */
export function acknowledgedPage(db: Db, agent: string, before: string, belowId: number | null, limit: number): MessageRow[] {
  return stmt(
    db,
    `SELECT * FROM messages
     WHERE to_agent = @agent AND acknowledged_at < @before AND (@below IS NULL OR id < @below)
     ORDER BY id DESC LIMIT @limit`,
  ).all({ agent, before, below: belowId, limit }) as MessageRow[];
}

export function countPending(db: Db, agent: string): number {
  // Left to itself the planner counts through messages_inbox, i.e. every delivery the agent kept
  // (a day of them); the partial index holds only the pending ones.
  return (stmt(db, 'SELECT count(*) AS n FROM messages INDEXED BY messages_pending WHERE to_agent = ? AND acknowledged_at IS NULL').get(agent) as { n: number }).n;
}

/** Deliveries between two agents in both directions, oldest first, after id `afterId`. */
export function historyPage(db: Db, a: string, b: string, afterId: number, limit: number): MessageRow[] {
  return stmt(
    db,
    `SELECT * FROM messages WHERE from_agent = @a AND to_agent = @b AND id > @after
     UNION ALL
     SELECT * FROM messages WHERE from_agent = @b AND to_agent = @a AND id > @after
     ORDER BY id LIMIT @limit`,
  ).all({ a, b, after: afterId, limit }) as MessageRow[];
}

export function messagesByIds(db: Db, ids: number[]): MessageRow[] {
  return stmt(db, 'SELECT * FROM messages WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id').all(JSON.stringify(ids)) as MessageRow[];
}

/** Marks deliveries acknowledged; those acknowledged before keep their time. */
export function acknowledge(db: Db, ids: number[], now: string): number {
  return stmt(db, 'UPDATE messages SET acknowledged_at = ? WHERE id IN (SELECT value FROM json_each(?)) AND acknowledged_at IS NULL').run(now, JSON.stringify(ids)).changes;
}

/** Acknowledged deliveries older than `before` go; pending ones are never removed here. */
export function purgeAcknowledged(db: Db, before: string): number {
  return stmt(db, 'DELETE FROM messages WHERE acknowledged_at IS NOT NULL AND acknowledged_at < ?').run(before).changes;
}
