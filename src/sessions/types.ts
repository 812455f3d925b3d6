// What other areas give the sessions area: the sections they add to init's result.
import type { z } from 'zod';
import type { SessionState } from '../core/tool.js';

export interface InitSection {
  /** Key in the init result. */
  name: string;
  /** What it shows, for init's description (e.g. "recent notes"). */
  shows: string;
  schema: z.ZodType;
  /** Builds the section within `budgetChars` (JSON length), or undefined to leave it out. */
  build(session: SessionState, budgetChars: number): unknown | undefined;
  /**
   * A sentence saying how many more items there are than `shown` (what build returned) and how
   * to get them, or undefined when init showed them all.
   */
  more?(session: SessionState, shown: unknown): string | undefined;
}
