// Row shapes of the memory tables and their mapping to what tools return.
import { fromDbTime } from '../core/db.js';

export type Tier = 'hot' | 'warm';

/** Types that stay in the hot tier whatever their score (the operations guide's protected set). */
export const PROTECTED_TYPES = new Set(['user_preferences', 'system_critical']);

export interface MemoryRow {
  id: number;
  project: string;
  key: string;
  content: string;
  type: string;
  tags: string;
  importance: number;
  storage_tier: Tier;
  access_count: number;
  memory_score: number;
  size_bytes: number;
  version: number;
  created_at: string;
  updated_at: string;
  accessed_at: string | null;
  expires_at: string | null;
}

/** The columns of a memory that search results carry. */
export type HitRow = Pick<
  MemoryRow,
  'id' | 'project' | 'key' | 'content' | 'type' | 'tags' | 'importance' | 'storage_tier' | 'access_count' | 'version' | 'updated_at' | 'expires_at'
>;

export interface Memory {
  id: number;
  key: string;
  project: string;
  content: string;
  type: string;
  tags: string[];
  importance: number;
  tier: Tier;
  access_count: number;
  version: number;
  created_at: string;
  updated_at: string;
  accessed_at: string | null;
  expires_at: string | null;
}

/** DB time text -> ISO 8601, which is what clients and people read. */
export function isoTime(text: string): string;
export function isoTime(text: string | null): string | null;
export function isoTime(text: string | null): string | null {
  if (text === null) return null;
  // What toDbTime writes ('YYYY-MM-DD HH:MM:SS.SSS', UTC) is ISO 8601 but for two characters.
  if (text.length === 23 && text[10] === ' ') return `${text.slice(0, 10)}T${text.slice(11)}Z`;
  return new Date(fromDbTime(text)).toISOString();
}

export function rowToMemory(row: MemoryRow): Memory {
  return {
    id: row.id,
    key: row.key,
    project: row.project,
    content: row.content,
    type: row.type,
    tags: JSON.parse(row.tags) as string[],
    importance: row.importance,
    tier: row.storage_tier,
    access_count: row.access_count,
    version: row.version,
    created_at: isoTime(row.created_at),
    updated_at: isoTime(row.updated_at),
    accessed_at: isoTime(row.accessed_at),
    expires_at: isoTime(row.expires_at),
  };
}
