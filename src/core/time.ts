// Times at the edges: what tools answer (ISO 8601, UTC) and what they accept as a date argument.
// The database keeps its own sortable text (toDbTime in db.ts); these two convert to and from it.
import { z } from 'zod';
import { fromDbTime, toDbTime } from './db.js';

/** Database time text -> ISO 8601 in UTC, which is what clients and people read. */
export function isoTime(text: string): string;
export function isoTime(text: string | null): string | null;
export function isoTime(text: string | null): string | null {
  if (text === null) return null;
  // What toDbTime writes ('YYYY-MM-DD HH:MM:SS.SSS', UTC) is ISO 8601 but for two characters:
  // recall answers up to 50 rows with two times each, so the common case skips Date entirely.
  if (text.length === 23 && text[10] === ' ') return `${text.slice(0, 10)}T${text.slice(11)}Z`;
  return new Date(fromDbTime(text)).toISOString();
}

// A date, or a date and time with optional seconds, fraction and zone. Date.parse alone reads "12"
// as 2001-12-01 and "March 5" as a day in 2001, and rolls 2026-02-31 over to March 3: a filter
// or a bulk forget would then mean something nobody asked for.
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?([Zz]|[+-]\d{2}:?\d{2})?)?$/;

export const DATE_FORMAT_HINT = 'use an ISO 8601 date or time, e.g. 2026-12-01 or 2026-12-01T09:00:00Z';

/** Milliseconds since the epoch for a strict ISO 8601 date or time (UTC unless it names a zone), or undefined. */
export function parseIsoDate(text: string): number | undefined {
  const m = ISO_DATE.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, zone] = m;
  const day = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  if (day.getUTCFullYear() !== Number(y) || day.getUTCMonth() !== Number(mo) - 1 || day.getUTCDate() !== Number(d)) return undefined;
  if (h !== undefined && (Number(h) > 23 || Number(mi) > 59 || Number(s ?? 0) > 59)) return undefined;
  if (h === undefined) return day.getTime();
  // Database times are UTC, and so is every time brain answers with: a time without a zone is too.
  const ms = Date.parse(text.replace(/^(.{10})[ t]/, '$1T') + (zone ? '' : 'Z'));
  return Number.isNaN(ms) ? undefined : ms;
}

/** The date argument of every tool: strict ISO 8601 in, database time text out. */
export const dateArg = z
  .string()
  .refine((s) => parseIsoDate(s) !== undefined, DATE_FORMAT_HINT)
  .transform((s) => toDbTime(parseIsoDate(s)!));
