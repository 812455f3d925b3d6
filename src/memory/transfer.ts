// Export and import of memories as JSON lines: brain's own format (lossless round trip) and the
// memory.jsonl of @modelcontextprotocol/server-memory, so its users can move over.
import { stmt, toDbTime, type Db } from '../core/db.js';
import { parseIsoDate } from '../core/time.js';
import { PROJECT_NAME } from '../core/scope.js';
import { addRelations, canonical, hasAll, relationsOf, sameRelations, setRelations, type Relation } from './relations.js';
import { indexTerms } from './terms.js';
import type { MemoryRow } from './types.js';
import type { HistoryRow } from './store.js';

export interface ExportLine {
  kind: 'memory' | 'memory_history';
  [field: string]: unknown;
}

/** Every memory with its relations, and every archived version with the relations it had. */
export function* exportRecords(db: Db): Generator<ExportLine> {
  for (const row of db.prepare('SELECT * FROM memories ORDER BY id').iterate() as Iterable<MemoryRow>) {
    yield { kind: 'memory', ...row, tags: JSON.parse(row.tags) as unknown, relations: relationsOf(db, row.id) };
  }
  for (const row of db.prepare('SELECT * FROM memory_history ORDER BY id').iterate() as Iterable<HistoryRow>) {
    yield { kind: 'memory_history', ...row, tags: JSON.parse(row.tags) as unknown, relations: JSON.parse(row.relations) as unknown };
  }
}

/** The same, one JSON object per line. */
export function* exportLines(db: Db): Generator<string> {
  for (const record of exportRecords(db)) yield JSON.stringify(record);
}

export interface ImportReport {
  format: 'brain' | 'server-memory';
  created: number;
  updated: number;
  skipped: number;
  history: number;
  errors: string[];
}

const MAX_ERRORS = 20;

function str(v: unknown, fallback: string): string {
  return typeof v === 'string' ? v : fallback;
}

/** Detects the format from the first record: brain lines have "kind", server-memory lines "type". */
export function detectFormat(lines: string[]): 'brain' | 'server-memory' {
  for (const line of lines) {
    if (!line.trim()) continue;
    let first: unknown;
    try {
      first = JSON.parse(line);
    } catch {
      continue; // reported as a bad line by importLines
    }
    if (typeof first !== 'object' || first === null || Array.isArray(first)) continue;
    return 'kind' in first ? 'brain' : 'server-memory';
  }
  return 'brain';
}

class BadRecord extends Error {}

/** A time from a file, in the database's form; ISO 8601 is converted, anything else is refused. */
function timeField(v: unknown, name: string, fallback: string | null): string | null {
  if (v === undefined || v === null) return fallback;
  // The database's own form ('YYYY-MM-DD HH:MM:SS.SSS', UTC) is ISO 8601 with a space and no zone.
  const ms = typeof v === 'string' ? parseIsoDate(v) : undefined;
  if (ms !== undefined) return toDbTime(ms);
  throw new BadRecord(`"${name}" is not a time: use "YYYY-MM-DD HH:MM:SS.SSS" (UTC) or ISO 8601`);
}

const KEY = /^[^\u0000-\u001f\u007f]{1,200}$/;
const TYPE = /^[a-z][a-z0-9_]{0,39}$/;

function cleanTags(v: unknown): string {
  const tags = Array.isArray(v) ? v.filter((t): t is string => typeof t === 'string').map((t) => t.trim().toLowerCase()).filter((t) => t && t.length <= 50) : [];
  return JSON.stringify([...new Set(tags)].slice(0, 20));
}

const count = (v: unknown, fallback: number) => (Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : fallback);

/** Called while an import writes: `done` of `total` records (memories and earlier versions). */
export type ImportProgress = (done: number, total: number) => void;

/** Records between two progress calls: often enough for a display, rarely enough to cost nothing. */
const PROGRESS_EVERY = 250;

/**
 * Whether a stored memory already holds what an imported record says, so that importing a file
 * again makes no new version: the same text, and either the stored one is at least as new or
 * nothing else differs (a server-memory file carries no importance or expiry: those stay as stored).
 */
function alreadyStored(db: Db, stored: MemoryRow, m: ImportRow, format: ImportReport['format']): boolean {
  if (stored.content !== m.content) return false;
  // A server-memory file adds relations (brain may hold more); a brain record says all of them.
  if (format === 'server-memory' ? !hasAll(db, stored.id, m.relations) : !sameRelations(relationsOf(db, stored.id), m.relations)) return false;
  if (stored.updated_at >= m.updated_at) return true;
  if (stored.type !== m.type || stored.tags !== m.tags) return false;
  return format === 'server-memory' || (stored.importance === m.importance && stored.expires_at === m.expires_at);
}

/**
 * Imports in one transaction: a file with a bad line imports nothing but that line is reported
 * (with its number), unless the rest is valid, in which case the valid lines go in.
 * An existing (project, key) is replaced only by a newer version; its old text goes to history.
 * A record that matches what is stored is skipped, so importing a file again changes nothing.
 */
export function importLines(db: Db, lines: string[], onProgress?: ImportProgress): ImportReport {
  const errors: string[] = [];
  const records: { line: number; value: Record<string, unknown> }[] = [];
  lines.forEach((text, i) => {
    if (!text.trim()) return;
    try {
      const value = JSON.parse(text) as unknown;
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object');
      records.push({ line: i + 1, value: value as Record<string, unknown> });
    } catch (err) {
      if (errors.length < MAX_ERRORS) errors.push(`line ${i + 1}: ${(err as Error).message}`);
    }
  });
  const report = importRecords(db, detectFormat(lines), records, onProgress);
  report.errors.unshift(...errors);
  report.errors.splice(MAX_ERRORS);
  return report;
}

/** Imports records already read from a file (brain's own kinds memory and memory_history, or server-memory's). */
export function importRecords(db: Db, format: ImportReport['format'], records: { line: number; value: Record<string, unknown> }[], onProgress?: ImportProgress): ImportReport {
  const report: ImportReport = { format, created: 0, updated: 0, skipped: 0, history: 0, errors: [] };
  const memories = format === 'brain' ? fromBrain(records, report) : fromServerMemory(records, report);
  const now = toDbTime();
  const total = memories.rows.length + memories.history.length;
  let done = 0;
  const step = () => {
    if (onProgress && ++done % PROGRESS_EVERY === 0) onProgress(done, total);
  };
  db.transaction(() => {
    for (const m of memories.rows) {
      step();
      const existing = stmt(db, 'SELECT * FROM memories WHERE project = ? AND key = ?').get(m.project, m.key) as MemoryRow | undefined;
      if (existing) {
        if (alreadyStored(db, existing, m, format)) {
          report.skipped++;
          continue;
        }
        if (existing.updated_at > m.updated_at) {
          // The stored text is newer: keep it, and keep the imported one as an earlier version.
          stmt(db, `INSERT INTO memory_history (memory_id, project, key, content, type, tags, importance, version, created_at, expires_at, reason, archived_at, relations)
            VALUES (@memory_id, @project, @key, @content, @type, @tags, @importance, @version, @created_at, @expires_at, 'updated', @archived_at, @relations)`)
            .run({ ...m, memory_id: existing.id, archived_at: m.updated_at, relations: JSON.stringify(m.relations) });
          report.skipped++;
          report.history++;
          continue;
        }
        stmt(db, `INSERT INTO memory_history (memory_id, project, key, content, type, tags, importance, version, created_at, expires_at, reason, archived_at, relations)
          VALUES (@id, @project, @key, @content, @type, @tags, @importance, @version, @created_at, @expires_at, 'updated', @archived_at, @relations)`)
          .run({ ...existing, archived_at: now, relations: JSON.stringify(relationsOf(db, existing.id)) });
        stmt(db, `UPDATE memories SET content = @content, type = @type, tags = @tags, importance = @importance, size_bytes = @size_bytes,
            version = max(version + 1, @version), updated_at = @updated_at, expires_at = @expires_at WHERE id = @id`).run({ ...m, id: existing.id });
        replaceTags(db, existing.id, m.tags);
        if (format === 'server-memory') addRelations(db, existing.id, m.relations);
        else setRelations(db, existing.id, m.relations);
        indexTerms(db, m.key + ' ' + m.content);
        report.updated++;
        continue;
      }
      const idFree = m.id !== undefined && !stmt(db, 'SELECT 1 FROM memories WHERE id = ?').get(m.id);
      const info = stmt(db, `INSERT INTO memories (id, project, key, content, type, tags, importance, storage_tier, access_count, memory_score,
          size_bytes, version, created_at, updated_at, accessed_at, expires_at)
        VALUES (@id, @project, @key, @content, @type, @tags, @importance, @storage_tier, @access_count, @memory_score,
          @size_bytes, @version, @created_at, @updated_at, @accessed_at, @expires_at)`).run({ ...m, id: idFree ? m.id : null, relations: undefined });
      replaceTags(db, Number(info.lastInsertRowid), m.tags);
      addRelations(db, Number(info.lastInsertRowid), m.relations);
      indexTerms(db, m.key + ' ' + m.content);
      report.created++;
    }
    for (const h of memories.history) {
      step();
      const dup = stmt(db, 'SELECT 1 FROM memory_history WHERE project = ? AND key = ? AND version = ? AND archived_at = ?').get(h.project, h.key, h.version, h.archived_at);
      if (dup) continue;
      stmt(db, `INSERT INTO memory_history (memory_id, project, key, content, type, tags, importance, version, created_at, expires_at, reason, archived_at, relations)
        VALUES (@memory_id, @project, @key, @content, @type, @tags, @importance, @version, @created_at, @expires_at, @reason, @archived_at, @relations)`).run(h);
      report.history++;
    }
  }).immediate();
  onProgress?.(total, total);
  return report;
}

function replaceTags(db: Db, id: number, tagsJson: string) {
  stmt(db, 'DELETE FROM memory_tags WHERE memory_id = ?').run(id);
  for (const tag of JSON.parse(tagsJson) as string[]) stmt(db, 'INSERT OR IGNORE INTO memory_tags (tag, memory_id) VALUES (?, ?)').run(tag, id);
}

type ImportRow = Omit<MemoryRow, 'id'> & { id?: number; relations: Relation[] };

/** A relation's type as stored: words of up to 100 characters, no control characters. */
export const RELATION_TYPE = /^[^\u0000-\u001f\u007f]{1,100}$/;

/** The "relations" of a brain record: a list of {type, to}; anything else is a bad record. */
function relationsField(v: unknown): Relation[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new BadRecord('"relations" must be a list of {"type", "to"}');
  return canonical(
    v.map((r: unknown) => {
      const { type, to } = (r ?? {}) as { type?: unknown; to?: unknown };
      if (typeof type !== 'string' || !RELATION_TYPE.test(type) || typeof to !== 'string' || !KEY.test(to)) {
        throw new BadRecord('each of "relations" needs a "type" (1-100 characters) and a "to" key (1-200 characters)');
      }
      return { type, to };
    }),
  );
}

function fromBrain(records: { line: number; value: Record<string, unknown> }[], report: ImportReport) {
  const rows: ImportRow[] = [];
  const history: Omit<HistoryRow, 'id'>[] = [];
  const now = toDbTime();
  for (const { line, value: v } of records) {
    try {
      const content = v.content;
      const key = typeof v.key === 'string' ? v.key.trim() : v.key;
      if (typeof content !== 'string' || typeof key !== 'string' || !KEY.test(key)) throw new BadRecord('needs a string "content" and a "key" of 1-200 characters');
      const project = v.project === undefined ? '' : v.project;
      if (typeof project !== 'string' || (project !== '' && !PROJECT_NAME.test(project))) throw new BadRecord('"project" is not a valid project name');
      const type = v.type === undefined ? 'general' : v.type;
      if (typeof type !== 'string' || !TYPE.test(type)) throw new BadRecord('"type" must be lower_snake_case');
      const importance = typeof v.importance === 'number' && v.importance >= 0 && v.importance <= 1 ? v.importance : 0.5;
      const created = timeField(v.created_at, 'created_at', now)!;
      const common = {
        project,
        key,
        content,
        type,
        tags: cleanTags(v.tags),
        importance,
        version: count(v.version, 1) || 1,
        created_at: created,
        expires_at: timeField(v.expires_at, 'expires_at', null),
        relations: relationsField(v.relations),
      };
      if (v.kind === 'memory_history') {
        history.push({
          ...common,
          relations: JSON.stringify(common.relations),
          memory_id: count(v.memory_id, 0),
          reason: v.reason === 'forgotten' ? 'forgotten' : 'updated',
          archived_at: timeField(v.archived_at, 'archived_at', now)!,
        });
        continue;
      }
      rows.push({
        ...common,
        id: Number.isSafeInteger(v.id) && (v.id as number) > 0 ? (v.id as number) : undefined,
        storage_tier: v.storage_tier === 'hot' ? 'hot' : 'warm',
        access_count: count(v.access_count, 0),
        memory_score: typeof v.memory_score === 'number' && Number.isFinite(v.memory_score) ? v.memory_score : importance * 0.5,
        size_bytes: Buffer.byteLength(content),
        updated_at: timeField(v.updated_at, 'updated_at', created)!,
        accessed_at: timeField(v.accessed_at, 'accessed_at', null),
      });
    } catch (err) {
      if (!(err instanceof BadRecord)) throw err;
      if (report.errors.length < MAX_ERRORS) report.errors.push(`line ${line}: ${err.message}`);
    }
  }
  return { rows, history };
}

/**
 * server-memory keeps a knowledge graph: entities with observations, and relations between them.
 * Each entity becomes one global memory (key = entity name, type "entity", tags server-memory and
 * its entity type) whose content is its name and type on the first line, then one observation a
 * line; each relation becomes a relation of the memory it starts from. An entity named only as
 * the end of a relation gets no memory: the relation to it waits for one, as any relation does.
 */
function fromServerMemory(records: { line: number; value: Record<string, unknown> }[], report: ImportReport) {
  const now = toDbTime();
  const entities = new Map<string, { entityType: string; observations: string[]; relations: Relation[] }>();
  const relations: { from: string; to: string; type: string; line: number }[] = [];
  for (const { line, value: v } of records) {
    if (v.type === 'entity' && typeof v.name === 'string' && v.name.trim()) {
      const name = v.name.trim().slice(0, 200);
      const e = entities.get(name) ?? { entityType: str(v.entityType, 'entity'), observations: [], relations: [] };
      if (Array.isArray(v.observations)) e.observations.push(...v.observations.filter((o): o is string => typeof o === 'string'));
      entities.set(name, e);
    } else if (v.type === 'relation' && typeof v.from === 'string' && typeof v.to === 'string' && v.from.trim() && v.to.trim()) {
      relations.push({ from: v.from.trim().slice(0, 200), to: v.to.trim().slice(0, 200), type: str(v.relationType, 'related_to').slice(0, 100) || 'related_to', line });
    } else if (report.errors.length < MAX_ERRORS) {
      report.errors.push(`line ${line}: neither an entity (type, name, observations) nor a relation (type, from, to)`);
    }
  }
  for (const r of relations) {
    // A relation from a name with no entity (server-memory allows it) still needs a memory to start from.
    const e = entities.get(r.from) ?? { entityType: 'entity', observations: [], relations: [] };
    e.relations.push({ type: r.type, to: r.to });
    entities.set(r.from, e);
  }
  const rows: ImportRow[] = [];
  for (const [name, e] of entities) {
    const content = entityContent(name, e.entityType, e.observations);
    const tag = e.entityType.trim().toLowerCase().slice(0, 50);
    rows.push({
      project: '',
      key: name,
      content,
      type: 'entity',
      tags: JSON.stringify(tag ? ['server-memory', tag] : ['server-memory']),
      importance: 0.5,
      storage_tier: 'warm',
      access_count: 0,
      memory_score: 0.25,
      size_bytes: Buffer.byteLength(content),
      version: 1,
      created_at: now,
      updated_at: now,
      accessed_at: null,
      expires_at: null,
      relations: canonical(e.relations),
    });
  }
  return { rows, history: [] as Omit<HistoryRow, 'id'>[] };
}

/** An entity as a memory's text: "name (type)", then one observation a line. */
function entityContent(name: string, entityType: string, observations: string[]): string {
  return [`${name} (${entityType})`, ...observations.map((o) => `- ${o}`)].join('\n');
}

/** The entity type and observations of a memory's text, when it has the shape entityContent gives. */
function entityOf(row: Pick<MemoryRow, 'key' | 'content' | 'type'>): { entityType: string; observations: string[] } | undefined {
  if (row.type !== 'entity') return undefined;
  const newline = row.content.indexOf('\n');
  const first = newline < 0 ? row.content : row.content.slice(0, newline);
  const head = `${row.key} (`;
  if (!first.startsWith(head) || !first.endsWith(')')) return undefined;
  const body = newline < 0 ? '' : row.content.slice(newline + 1);
  if (body && !body.startsWith('- ')) return undefined;
  return { entityType: first.slice(head.length, -1), observations: body ? body.slice(2).split('\n- ') : [] };
}

/**
 * The memories as a memory.jsonl that @modelcontextprotocol/server-memory loads: one entity per
 * memory, then one relation per relation. A memory imported from server-memory gets its entity
 * type and observations back; any other is an entity of its memory type with its text as the one
 * observation. Keys used in more than one project are named "project/key" outside global, so no
 * two entities share a name; a relation names the entity its key resolves to (the source's
 * project, then global), or the bare key while no memory has it.
 */
export function* exportServerMemory(db: Db): Generator<string> {
  const now = toDbTime();
  const live = 'expires_at IS NULL OR expires_at > ?';
  const shared = new Set(db.prepare(`SELECT key FROM memories WHERE ${live} GROUP BY key HAVING count(*) > 1`).pluck().all(now) as string[]);
  const nameOf = (project: string, key: string) => (project !== '' && shared.has(key) ? `${project}/${key}` : key);
  for (const row of db.prepare(`SELECT id, project, key, content, type FROM memories WHERE ${live} ORDER BY project, id`).iterate(now) as Iterable<MemoryRow>) {
    const entity = entityOf(row) ?? { entityType: row.type, observations: [row.content] };
    yield JSON.stringify({ type: 'entity', name: nameOf(row.project, row.key), entityType: entity.entityType, observations: entity.observations });
  }
  const relations = db.prepare(
    `SELECT f.project, f.key AS "from", r.type, r.to_key AS "to",
       coalesce((SELECT project FROM memories WHERE project = f.project AND key = r.to_key AND (${live})),
                (SELECT project FROM memories WHERE project = '' AND key = r.to_key AND (${live}))) AS to_project
     FROM memory_relations r JOIN memories f ON f.id = r.memory_id WHERE f.expires_at IS NULL OR f.expires_at > ? ORDER BY f.project, f.id, r.type, r.to_key`,
  );
  for (const r of relations.iterate(now, now, now) as Iterable<{ project: string; from: string; type: string; to: string; to_project: string | null }>) {
    yield JSON.stringify({ type: 'relation', from: nameOf(r.project, r.from), to: r.to_project === null ? r.to : nameOf(r.to_project, r.to), relationType: r.type });
  }
}
