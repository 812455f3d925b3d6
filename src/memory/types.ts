// Row shapes of the memory tables, and the types other areas may rely on.

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
