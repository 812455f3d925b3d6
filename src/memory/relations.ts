// SQL for relations between memories (memory_relations): typed and directed, from a memory to a
// key. The target is the memory with that key in the source's project, else in global (the
// scope the source is seen in); a key with no memory yet is kept, and resolves once one appears.
import { stmt, toDbTime, type Db } from '../core/db.js';
import type { MemoryRow } from './types.js';

/** A stored relation: its type and the key it points to. */
export interface Relation {
  type: string;
  to: string;
}

/** One end of a relation as recall shows it: the memory at the other end (no id while it does not exist). */
export interface Linked {
  type: string;
  direction: 'out' | 'in';
  key: string;
  project: string;
  id?: number;
}

const id = (r: Relation) => `${r.type}\u0000${r.to}`;

/** Each relation once, sorted by type and key. */
export function canonical(relations: readonly Relation[]): Relation[] {
  const seen = new Map<string, Relation>();
  for (const r of relations) seen.set(id(r), { type: r.type, to: r.to });
  return [...seen.values()].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : a.to < b.to ? -1 : a.to > b.to ? 1 : 0));
}

/** Whether two lists hold the same relations, in whatever order. */
export function sameRelations(a: readonly Relation[], b: readonly Relation[]): boolean {
  const left = new Set(a.map(id));
  const right = new Set(b.map(id));
  return left.size === right.size && [...left].every((k) => right.has(k));
}

/** `relations` without those in `remove`. */
export function without(relations: readonly Relation[], remove: readonly Relation[]): Relation[] {
  const gone = new Set(remove.map(id));
  return relations.filter((r) => !gone.has(id(r)));
}

export function relationsOf(db: Db, memoryId: number): Relation[] {
  return stmt(db, 'SELECT type, to_key AS "to" FROM memory_relations WHERE memory_id = ? ORDER BY type, to_key').all(memoryId) as Relation[];
}

/** A memory's relations as the JSON its versions keep (memory_history.relations). */
export function relationsJson(db: Db, memoryId: number): string {
  return JSON.stringify(relationsOf(db, memoryId));
}

/** Replaces a memory's relations (a restored version, an imported record). */
export function setRelations(db: Db, memoryId: number, relations: readonly Relation[]): void {
  stmt(db, 'DELETE FROM memory_relations WHERE memory_id = ?').run(memoryId);
  addRelations(db, memoryId, relations);
}

/** Adds relations a memory does not have yet; returns how many were new. */
export function addRelations(db: Db, memoryId: number, relations: readonly Relation[]): number {
  const insert = stmt(db, 'INSERT OR IGNORE INTO memory_relations (memory_id, type, to_key) VALUES (?, ?, ?)');
  let added = 0;
  for (const r of relations) added += insert.run(memoryId, r.type, r.to).changes;
  return added;
}

/** Whether adding `relations` would change anything. */
export function hasAll(db: Db, memoryId: number, relations: readonly Relation[]): boolean {
  const has = stmt(db, 'SELECT 1 FROM memory_relations WHERE memory_id = ? AND type = ? AND to_key = ?');
  return relations.every((r) => has.get(memoryId, r.type, r.to) !== undefined);
}

/**
 * Both directions of a memory's relations, at most `limit` each. Outgoing: the target resolved in
 * the source's project, then global. Incoming: relations to this key from memories of its
 * project; for a global memory also from other projects where no memory of that key shadows it.
 * Expired memories count as absent.
 */
export function linksOf(db: Db, row: Pick<MemoryRow, 'id' | 'project' | 'key'>, limit: number, now = toDbTime()): Linked[] {
  const out = stmt(
    db,
    `SELECT r.type, r.to_key AS key, t.id, t.project FROM memory_relations r
       LEFT JOIN memories t ON t.id = coalesce(
         (SELECT id FROM memories WHERE project = @project AND key = r.to_key AND (expires_at IS NULL OR expires_at > @now)),
         (SELECT id FROM memories WHERE project = '' AND key = r.to_key AND (expires_at IS NULL OR expires_at > @now)))
     WHERE r.memory_id = @id ORDER BY r.type, r.to_key LIMIT @limit`,
  ).all({ id: row.id, project: row.project, now, limit }) as { type: string; key: string; id: number | null; project: string | null }[];
  const incoming = stmt(
    db,
    `SELECT r.type, f.key, f.id, f.project FROM memory_relations r JOIN memories f ON f.id = r.memory_id
     WHERE r.to_key = @key AND (f.expires_at IS NULL OR f.expires_at > @now)
       AND (f.project = @project OR (@project = '' AND NOT EXISTS (
         SELECT 1 FROM memories s WHERE s.project = f.project AND s.key = r.to_key AND (s.expires_at IS NULL OR s.expires_at > @now))))
     ORDER BY r.type, f.key LIMIT @limit`,
  ).all({ key: row.key, project: row.project, now, limit }) as { type: string; key: string; id: number; project: string }[];
  return [
    ...out.map((r): Linked => ({ type: r.type, direction: 'out', key: r.key, project: r.project ?? row.project, ...(r.id !== null ? { id: r.id } : {}) })),
    ...incoming.map((r): Linked => ({ type: r.type, direction: 'in', key: r.key, project: r.project, id: r.id })),
  ];
}

/** How many relations there are in all (stats). */
export function countRelations(db: Db): number {
  return stmt(db, 'SELECT count(*) FROM memory_relations').pluck().get() as number;
}
