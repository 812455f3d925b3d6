// The full logical export (`brain export`, read back by `brain import`): JSON lines, each an object
// whose `kind` says what it is. Each area exports and imports its own kinds through its service,
// and the command line puts the areas' records in one file, in the order imports need (projects
// before what lives in them, a cluster before its agents). Core knows the shape, no area.
import { toDbTime } from './db.js';
import { parseIsoDate } from './time.js';

export interface ExportRecord {
  kind: string;
  [field: string]: unknown;
}

/** A record read from a file, with its line number for messages. */
export interface NumberedRecord {
  line: number;
  value: ExportRecord;
}

/** What an import did with one kind of record. */
export interface KindTally {
  created: number;
  /** Stored already with other content, replaced by the newer record (memories). */
  updated?: number;
  /** Already stored (same key), or older than what is stored: left as it is. */
  skipped: number;
}

/** What an area's import did: counts per kind, and one sentence per record it could not take. */
export interface AreaImport {
  kinds: Record<string, KindTally>;
  errors: string[];
}

/** An area's half of the export: its kinds, its records (in the order its import reads them), the import. */
export interface AreaTransfer {
  kinds: readonly string[];
  exportRecords(): Iterable<ExportRecord>;
  /** Imports the records of its kinds (the caller has sorted them out), in one transaction of its own. */
  importRecords(records: NumberedRecord[], onProgress?: (done: number, total: number) => void): AreaImport;
}

/** A record that cannot be imported: its message says which field and what it must be. */
export class BadRecord extends Error {}

export const MAX_IMPORT_ERRORS = 20;

/** Starts an area's import report with every kind at zero. */
export function emptyImport(kinds: readonly string[]): AreaImport {
  return { kinds: Object.fromEntries(kinds.map((k) => [k, { created: 0, skipped: 0 }])), errors: [] };
}

/** Notes a record that could not be imported (the first MAX_IMPORT_ERRORS are kept). */
export function reportBad(report: AreaImport, line: number, err: unknown): void {
  if (!(err instanceof BadRecord) && !(err instanceof Error && 'code' in err && String((err as { code: unknown }).code).startsWith('SQLITE_CONSTRAINT'))) throw err;
  if (report.errors.length < MAX_IMPORT_ERRORS) report.errors.push(`line ${line}: ${err.message}`);
}

/**
 * How a column is written in an export and checked on import: `json` columns are stored as JSON
 * text and exported parsed (readable, and checked to be JSON on the way back); times are the
 * database's form ('YYYY-MM-DD HH:MM:SS.SSS', UTC) and ISO 8601 is accepted on import.
 * A trailing `?` allows null.
 */
export type Column = 'text' | 'int' | 'real' | 'time' | 'json' | 'text?' | 'int?' | 'real?' | 'time?' | 'json?';

/** A database row as an export record: JSON columns parsed. */
export function recordFrom(kind: string, row: Record<string, unknown>, columns: Record<string, Column>): ExportRecord {
  const out: ExportRecord = { kind };
  for (const [name, type] of Object.entries(columns)) {
    const v = row[name];
    out[name] = type.startsWith('json') && typeof v === 'string' ? (JSON.parse(v) as unknown) : v;
  }
  return out;
}

/** An export record as a row to insert: every column checked, JSON columns turned back into text. */
export function rowFrom(v: Record<string, unknown>, columns: Record<string, Column>): Record<string, string | number | null> {
  const row: Record<string, string | number | null> = {};
  for (const [name, spec] of Object.entries(columns)) {
    const nullable = spec.endsWith('?');
    const type = spec.replace('?', '');
    const value = v[name];
    // JSON's own null is a value of a JSON column that cannot be NULL.
    if (value === null && type === 'json' && !nullable) {
      row[name] = 'null';
      continue;
    }
    if (value === undefined || value === null) {
      if (!nullable) throw new BadRecord(`"${name}" is missing`);
      row[name] = null;
      continue;
    }
    switch (type) {
      case 'text':
        if (typeof value !== 'string') throw new BadRecord(`"${name}" must be a string`);
        row[name] = value;
        break;
      case 'int':
        if (!Number.isSafeInteger(value)) throw new BadRecord(`"${name}" must be a whole number`);
        row[name] = value as number;
        break;
      case 'real':
        if (typeof value !== 'number' || !Number.isFinite(value)) throw new BadRecord(`"${name}" must be a number`);
        row[name] = value;
        break;
      case 'time': {
        const ms = typeof value === 'string' ? parseIsoDate(value) : undefined;
        if (ms === undefined) throw new BadRecord(`"${name}" is not a time: use "YYYY-MM-DD HH:MM:SS.SSS" (UTC) or ISO 8601`);
        row[name] = toDbTime(ms);
        break;
      }
      default:
        row[name] = JSON.stringify(value);
    }
  }
  return row;
}
