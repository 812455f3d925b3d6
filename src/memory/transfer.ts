// Export and import of memories as JSON lines: brain's own format (lossless round trip) and the
// memory.jsonl of @modelcontextprotocol/server-memory, so its users can move over.
import { stmt, toDbTime, type Db } from '../core/db.js';
import { parseIsoDate } from '../core/time.js';
import { PROJECT_NAME } from '../core/scope.js';
import { indexTerms } from './terms.js';
import type { MemoryRow } from './types.js';
import type { HistoryRow } from './store.js';

export interface ExportLine {
  kind: 'memory' | 'memory_history';
  [field: string]: unknown;
}

/** Every memory and every archived version. */
export function* exportRecords(db: Db): Generator<ExportLine> {
  for (const row of db.prepare('SELECT * FROM memories ORDER BY id').iterate() as Iterable<MemoryRow>) {
    yield { kind: 'memory', ...row, tags: JSON.parse(row.tags) as unknown };
  }
  for (const row of db.prepare('SELECT * FROM memory_history ORDER BY id').iterate() as Iterable<HistoryRow>) {
    yield { kind: 'memory_history', ...row, tags: JSON.parse(row.tags) as unknown };
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
function alreadyStored(stored: MemoryRow, m: ImportRow, format: ImportReport['format']): boolean {
  if (stored.content !== m.content) return false;
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
        if (alreadyStored(existing, m, format)) {
          report.skipped++;
          continue;
        }
        if (existing.updated_at > m.updated_at) {
          // The stored text is newer: keep it, and keep the imported one as an earlier version.
          stmt(db, `INSERT INTO memory_history (memory_id, project, key, content, type, tags, importance, version, created_at, expires_at, reason, archived_at)
            VALUES (@memory_id, @project, @key, @content, @type, @tags, @importance, @version, @created_at, @expires_at, 'updated', @archived_at)`)
            .run({ ...m, memory_id: existing.id, archived_at: m.updated_at });
          report.skipped++;
          report.history++;
          continue;
        }
        stmt(db, `INSERT INTO memory_history (memory_id, project, key, content, type, tags, importance, version, created_at, expires_at, reason, archived_at)
          VALUES (@id, @project, @key, @content, @type, @tags, @importance, @version, @created_at, @expires_at, 'updated', @archived_at)`).run({ ...existing, archived_at: now });
        stmt(db, `UPDATE memories SET content = @content, type = @type, tags = @tags, importance = @importance, size_bytes = @size_bytes,
            version = max(version + 1, @version), updated_at = @updated_at, expires_at = @expires_at WHERE id = @id`).run({ ...m, id: existing.id });
        replaceTags(db, existing.id, m.tags);
        indexTerms(db, m.key + ' ' + m.content);
        report.updated++;
        continue;
      }
      const idFree = m.id !== undefined && !stmt(db, 'SELECT 1 FROM memories WHERE id = ?').get(m.id);
      const info = stmt(db, `INSERT INTO memories (id, project, key, content, type, tags, importance, storage_tier, access_count, memory_score,
          size_bytes, version, created_at, updated_at, accessed_at, expires_at)
        VALUES (@id, @project, @key, @content, @type, @tags, @importance, @storage_tier, @access_count, @memory_score,
          @size_bytes, @version, @created_at, @updated_at, @accessed_at, @expires_at)`).run({ ...m, id: idFree ? m.id : null });
      replaceTags(db, Number(info.lastInsertRowid), m.tags);
      indexTerms(db, m.key + ' ' + m.content);
      report.created++;
    }
    for (const h of memories.history) {
      step();
      const dup = stmt(db, 'SELECT 1 FROM memory_history WHERE project = ? AND key = ? AND version = ? AND archived_at = ?').get(h.project, h.key, h.version, h.archived_at);
      if (dup) continue;
      stmt(db, `INSERT INTO memory_history (memory_id, project, key, content, type, tags, importance, version, created_at, expires_at, reason, archived_at)
        VALUES (@memory_id, @project, @key, @content, @type, @tags, @importance, @version, @created_at, @expires_at, @reason, @archived_at)`).run(h);
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

type ImportRow = Omit<MemoryRow, 'id'> & { id?: number };

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
      };
      if (v.kind === 'memory_history') {
        history.push({
          ...common,
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
 * Each entity becomes one memory (key = entity name, tags = its entity type) whose content lists
 * its observations and every relation it takes part in, from either end.
 */
function fromServerMemory(records: { line: number; value: Record<string, unknown> }[], report: ImportReport) {
  const now = toDbTime();
  const entities = new Map<string, { entityType: string; observations: string[]; relations: string[] }>();
  const relations: { from: string; to: string; relationType: string }[] = [];
  for (const { line, value: v } of records) {
    if (v.type === 'entity' && typeof v.name === 'string' && v.name.trim()) {
      const e = entities.get(v.name) ?? { entityType: str(v.entityType, 'entity'), observations: [], relations: [] };
      if (Array.isArray(v.observations)) e.observations.push(...v.observations.filter((o): o is string => typeof o === 'string'));
      entities.set(v.name, e);
    } else if (v.type === 'relation' && typeof v.from === 'string' && typeof v.to === 'string') {
      relations.push({ from: v.from, to: v.to, relationType: str(v.relationType, 'related_to') });
    } else if (report.errors.length < MAX_ERRORS) {
      report.errors.push(`line ${line}: neither an entity (type, name, observations) nor a relation (type, from, to)`);
    }
  }
  // Both ends mention the relation, as one sentence, so a recall of either entity shows it
  // (recall {key: "Anthropic"} lists who works there, not only each person where they work).
  for (const r of relations) {
    const sentence = `${r.from} ${r.relationType} ${r.to}`;
    for (const end of r.from === r.to ? [r.from] : [r.from, r.to]) {
      const e = entities.get(end) ?? { entityType: 'entity', observations: [], relations: [] };
      if (!e.relations.includes(sentence)) e.relations.push(sentence);
      entities.set(end, e);
    }
  }
  const rows: ImportRow[] = [];
  for (const [name, e] of entities) {
    const lines = [`${name} (${e.entityType})`, ...e.observations.map((o) => `- ${o}`)];
    if (e.relations.length) lines.push('Relations:', ...e.relations.map((r) => `- ${r}`));
    const content = lines.join('\n');
    const tag = e.entityType.trim().toLowerCase().slice(0, 50);
    rows.push({
      project: '',
      key: name.trim().slice(0, 200),
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
    });
  }
  return { rows, history: [] as Omit<HistoryRow, 'id'>[] };
}
